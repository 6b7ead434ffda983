"""SMILES: a 2-D depiction with RDKit (default) or Indigo (options.smiles_backend)."""

from __future__ import annotations

from typing import Any

from renderers.result import RenderFailure, RenderOptions

POOL = "sandbox"


def prepare(code: str, options: RenderOptions) -> dict[str, Any]:
    smiles = code.strip().split()[0] if code.strip() else ""
    if not smiles:
        raise RenderFailure("syntax", "empty SMILES")
    return {"code": smiles}


def warm() -> None:
    from rdkit import Chem
    from rdkit.Chem.Draw import rdMolDraw2D

    drawer = rdMolDraw2D.MolDraw2DCairo(50, 50)
    drawer.DrawMolecule(Chem.MolFromSmiles("CCO"))
    drawer.FinishDrawing()


def _rdkit(smiles: str, size: int) -> bytes:
    from rdkit import Chem, RDLogger
    from rdkit.Chem.Draw import rdMolDraw2D

    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise RenderFailure("syntax", f"RDKit cannot parse the SMILES {smiles[:200]!r}")
    drawer = rdMolDraw2D.MolDraw2DCairo(size, size)
    drawer.DrawMolecule(mol)
    drawer.FinishDrawing()
    return drawer.GetDrawingText()


def _indigo(smiles: str, size: int, workdir: str) -> bytes:
    import os

    from indigo import Indigo, IndigoException
    from indigo.renderer import IndigoRenderer

    indigo = Indigo()
    renderer = IndigoRenderer(indigo)
    try:
        mol = indigo.loadMolecule(smiles)
    except IndigoException as exc:
        raise RenderFailure("syntax", f"Indigo cannot parse the SMILES: {exc}") from None
    indigo.setOption("render-output-format", "png")
    indigo.setOption("render-image-size", size, size)
    indigo.setOption("render-background-color", 1.0, 1.0, 1.0)
    path = os.path.join(workdir, "molecule.png")
    renderer.renderToFile(mol, path)
    with open(path, "rb") as fh:
        return fh.read()


def run(payload: dict[str, Any], options: RenderOptions, workdir: str) -> bytes:
    size = options.width or options.smiles_size
    if options.smiles_backend == "indigo":
        return _indigo(payload["code"], size, workdir)
    return _rdkit(payload["code"], size)
