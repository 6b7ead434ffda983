"""ChemDraw: a molecule image is turned into a SMILES string or into RDKit code; scored against the reference SMILES.

Two numbers, both averaged over every sample and reported as percentages (0-100):

* exec rate: the share of answers that yield a valid molecule;
* Tanimoto: the Tanimoto similarity between the fingerprints of the generated and the reference molecule, where an
  answer without a valid molecule counts as 0.

The paper does not say which fingerprint it used, so the fingerprint is a parameter and every aggregate names it:
``"rdkit"`` (default) is RDKit's path-based ``RDKFingerprint`` with its default settings; ``"morgan2"`` is a Morgan
(circular) fingerprint of radius 2 folded to 2048 bits.

What counts as the answer. A block tagged ``smiles`` (or an alias) is a SMILES string. Otherwise the last block
tagged ``python`` (``py``, ``rdkit``, ...) is RDKit code. Otherwise what `training.answers.extract_code` finds (the
last fence of any tag, else the whole answer) is a SMILES string, unless it reads like Python (an ``import`` line or
an ``rdkit``/``Chem.`` reference), in which case it is code. A SMILES string is its first whitespace-separated token,
the same rule the sandboxed SMILES renderer uses, so ``CCO  (ethanol)`` is ``CCO`` but ``SMILES: CCO`` is invalid.

Valid molecule. A SMILES string is valid when RDKit parses it (sanitisation included) into a molecule with at least
one atom; parsing a string is data handling and happens in this process. Code is never run here: it runs in the
render sandbox (`renderers.engine`, language ``"python"``) wrapped by a small harness that

1. before the answer runs, records every molecule handed to RDKit's drawing entry points (``Draw.MolToImage``,
   ``Draw.MolToFile``, ``Draw.MolsToGridImage``, ``MolDraw2D.DrawMolecule``, ``rdMolDraw2D.PrepareAndDrawMolecule``);
2. runs the answer unchanged (its own file name, so error messages keep its line numbers; ``exit(0)`` is allowed);
3. picks the molecule the code built: the last one it drew, else the last ``Chem.Mol`` left in a global variable;
   writes ``Chem.MolToSmiles`` of it (explicit hydrogens removed when RDKit can) into the pixels of a small image and
   saves that image last, so it is what the sandbox returns.

The SMILES read back from those pixels is then judged exactly like a SMILES answer. The pixel channel exists only
because the python renderer returns nothing but a PNG. TODO: once the renderer can return data from a job (the
ChartMimic instrumentation being added as ``RenderOptions.python_instrument`` reports through ``diagnostics``), a
"molecule" mode there should return the SMILES directly and replace the pixel channel of step 3.

Code that fails, times out, builds no molecule, or builds one whose SMILES RDKit rejects is invalid. Code can of
course write any SMILES into that image on purpose; the metric trusts the answer to be the model's own attempt, as
any executable-answer metric does.
"""

from __future__ import annotations

import io
import re
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from training.answers import extract_code, fenced_blocks

FINGERPRINTS: tuple[str, ...] = ("rdkit", "morgan2")
DEFAULT_FINGERPRINT = "rdkit"
MORGAN_RADIUS = 2
MORGAN_BITS = 2048

# The image the harness writes: MAGIC, a status byte, a 4-byte big-endian length and the UTF-8 SMILES, one byte per
# BLOCK x BLOCK square of grey, ROW_BYTES squares per row (white after the end).
MAGIC = b"VINCI-MOL\x01"
BLOCK = 4
ROW_BYTES = 32
STATUS_OK = 0
STATUS_NO_MOLECULE = 1
STATUS_SMILES_FAILED = 2

_PYTHONISH = re.compile(r"^\s*(?:import\s+\w|from\s+[\w.]+\s+import\s)|\brdkit\b|\bChem\.", re.MULTILINE)


@dataclass
class ChemDrawScore:
    """One answer's score: whether it yields a valid molecule, its Tanimoto similarity to the reference (0 when
    invalid), the canonical SMILES of the generated molecule (None when there is none) and why it is invalid."""

    valid: bool
    tanimoto: float
    smiles: str | None
    error: str | None
    fingerprint: str = DEFAULT_FINGERPRINT


# ---------------------------------------------------------------------------------------------------- the answer


def answer_kind(answer_text: str | None) -> tuple[str, str | None]:
    """("smiles" | "python", the SMILES string or the code) for an answer; the code is None for an empty answer."""
    found = extract_code(answer_text, "smiles")
    if found.rule == "tagged":
        return "smiles", found.code
    python_blocks = [b for b in fenced_blocks(answer_text or "") if b.language == "python" and b.code.strip()]
    if python_blocks:
        return "python", python_blocks[-1].code.strip("\n")
    if found.code is not None and _PYTHONISH.search(found.code):
        return "python", found.code
    return "smiles", found.code


def smiles_token(text: str | None) -> str:
    """The SMILES in an extracted string: its first whitespace-separated token ('' when there is none)."""
    parts = (text or "").split()
    return parts[0] if parts else ""


# ---------------------------------------------------------------------------------------------------- molecules


def parse_smiles(smiles: str) -> Any | None:
    """An RDKit molecule for a SMILES string, or None when it does not parse or has no atom (RDKit logs muted)."""
    from rdkit import Chem, rdBase

    if not smiles:
        return None
    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(smiles)
    if mol is None or mol.GetNumAtoms() == 0:
        return None
    return mol


def canonical(mol: Any) -> tuple[str, Any]:
    """(canonical SMILES, the molecule re-read from it): two spellings of one molecule give the same object."""
    from rdkit import Chem

    smiles = Chem.MolToSmiles(mol)
    again = parse_smiles(smiles)
    return smiles, (again if again is not None else mol)


_morgan_generator = None


def fingerprint_of(mol: Any, fingerprint: str = DEFAULT_FINGERPRINT) -> Any:
    """The named fingerprint of a molecule (see the module docstring)."""
    global _morgan_generator
    from rdkit import Chem

    if fingerprint == "rdkit":
        return Chem.RDKFingerprint(mol)
    if fingerprint == "morgan2":
        if _morgan_generator is None:
            from rdkit.Chem import rdFingerprintGenerator

            _morgan_generator = rdFingerprintGenerator.GetMorganGenerator(radius=MORGAN_RADIUS, fpSize=MORGAN_BITS)
        return _morgan_generator.GetFingerprint(mol)
    raise ValueError(f"unknown fingerprint {fingerprint!r}; choose one of {FINGERPRINTS}")


def tanimoto(mol_a: Any, mol_b: Any, fingerprint: str = DEFAULT_FINGERPRINT) -> float:
    from rdkit import DataStructs

    return float(DataStructs.TanimotoSimilarity(fingerprint_of(mol_a, fingerprint), fingerprint_of(mol_b, fingerprint)))


# ---------------------------------------------------------------------------------------------------- the harness

_PROLOGUE = """
def _vinci_install_mol_recorder():
    drawn = []
    try:
        from rdkit import Chem
        from rdkit.Chem import Draw
        from rdkit.Chem.Draw import rdMolDraw2D
    except Exception:
        return drawn

    def note(value):
        if isinstance(value, Chem.Mol):
            drawn.append(value)
        elif isinstance(value, (list, tuple)):
            for item in value:
                note(item)

    def recording(function, position, keyword):
        def wrapper(*args, **kwargs):
            note(args[position] if len(args) > position else kwargs.get(keyword))
            return function(*args, **kwargs)

        wrapper.__name__ = getattr(function, "__name__", "wrapper")
        wrapper.__doc__ = getattr(function, "__doc__", None)
        return wrapper

    for name, position, keyword in (("MolToImage", 0, "mol"), ("MolToFile", 0, "mol"), ("MolsToGridImage", 0, "mols")):
        if hasattr(Draw, name):
            setattr(Draw, name, recording(getattr(Draw, name), position, keyword))
    try:
        rdMolDraw2D.PrepareAndDrawMolecule = recording(rdMolDraw2D.PrepareAndDrawMolecule, 1, "mol")
        rdMolDraw2D.MolDraw2D.DrawMolecule = recording(rdMolDraw2D.MolDraw2D.DrawMolecule, 1, "mol")
    except Exception:
        pass
    return drawn


_vinci_drawn_mols = _vinci_install_mol_recorder()
"""

_EPILOGUE = f"""
def _vinci_report_molecule(drawn, namespace):
    import io
    import struct

    import matplotlib.pyplot as plt
    import numpy as np

    status, smiles = {STATUS_NO_MOLECULE}, ""
    try:
        from rdkit import Chem

        mol = drawn[-1] if drawn else None
        if mol is None:
            found = [value for value in list(namespace.values()) if isinstance(value, Chem.Mol)]
            mol = found[-1] if found else None
        if mol is not None:
            status = {STATUS_SMILES_FAILED}
            try:
                mol = Chem.RemoveHs(mol)
            except Exception:
                pass
            smiles = Chem.MolToSmiles(mol)
            status = {STATUS_OK}
    except Exception:
        pass
    body = smiles.encode("utf-8", "replace")
    data = {MAGIC!r} + bytes([status]) + struct.pack(">I", len(body)) + body
    rows = -(-len(data) // {ROW_BYTES})
    grid = np.full((rows, {ROW_BYTES}), 255, dtype=np.uint8)
    grid.flat[: len(data)] = np.frombuffer(data, dtype=np.uint8)
    pixels = np.repeat(np.repeat(grid, {BLOCK}, axis=0), {BLOCK}, axis=1)
    pixels = np.ascontiguousarray(np.stack([pixels] * 3, axis=-1))
    plt.close("all")
    height, width = pixels.shape[:2]
    figure = plt.figure(figsize=(width / 100, height / 100), dpi=100)
    figure.figimage(pixels, xo=0, yo=0, origin="upper")
    figure.savefig(io.BytesIO(), format="png", dpi=100)


_vinci_report_molecule(_vinci_drawn_mols, globals())
"""


def harness(code: str) -> str:
    """The script the sandbox runs for an RDKit-code answer (see the module docstring)."""
    return (
        f"exec(compile({_PROLOGUE!r}, '<vinci-prologue>', 'exec'))\n"
        "try:\n"
        f"    exec(compile({code!r}, '<chart>', 'exec'))\n"
        "except SystemExit as _vinci_exit:\n"
        "    if _vinci_exit.code not in (None, 0):\n"
        "        raise\n"
        f"exec(compile({_EPILOGUE!r}, '<vinci-epilogue>', 'exec'))\n"
    )


def decode_report(png: bytes) -> tuple[int, str] | None:
    """(status, SMILES) from the harness's image, or None when the image is not one (the code drew over it)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(png)) as img:
            grey = np.asarray(img.convert("RGB"))[..., 0]
    except Exception:  # noqa: BLE001 - any unreadable image is simply not a report
        return None
    height, width = grey.shape
    if width != ROW_BYTES * BLOCK or height % BLOCK:
        return None
    data = grey[BLOCK // 2 :: BLOCK, BLOCK // 2 :: BLOCK].reshape(-1).tobytes()
    head = len(MAGIC) + 5
    if len(data) < head or not data.startswith(MAGIC):
        return None
    status = data[len(MAGIC)]
    (length,) = struct.unpack(">I", data[len(MAGIC) + 1 : head])
    if head + length > len(data):
        return None
    return status, data[head : head + length].decode("utf-8", errors="replace")


def smiles_from_code(code: str, engine: Any = None, timeout_s: float = 30.0) -> tuple[str | None, str | None]:
    """(SMILES of the molecule the code builds, error): runs the code in the render sandbox through the harness."""
    from renderers.engine import default_engine
    from renderers.result import RenderOptions

    engine = engine or default_engine()
    result = engine.render(harness(code), "python", RenderOptions(timeout_s=timeout_s))
    if not result.ok or not result.image:
        return None, f"code failed in the sandbox ({result.error_kind}): {result.error_message}"
    report = decode_report(result.image)
    if report is None:
        return None, "the code ran but its molecule report was not found in the sandbox output"
    status, smiles = report
    if status == STATUS_NO_MOLECULE:
        return None, "the code ran but built no RDKit molecule"
    if status != STATUS_OK:
        return None, "the code built a molecule RDKit cannot write as SMILES"
    return smiles, None


# ---------------------------------------------------------------------------------------------------- scoring


def score(
    answer_text: str | None,
    reference_smiles: str,
    *,
    fingerprint: str = DEFAULT_FINGERPRINT,
    engine: Any = None,
    timeout_s: float = 30.0,
) -> ChemDrawScore:
    """Score one answer against a reference SMILES; raises ValueError when the reference itself does not parse."""
    if fingerprint not in FINGERPRINTS:
        raise ValueError(f"unknown fingerprint {fingerprint!r}; choose one of {FINGERPRINTS}")
    reference = parse_smiles((reference_smiles or "").strip())
    if reference is None:
        raise ValueError(f"the reference SMILES {reference_smiles!r} is not a valid molecule")
    _, reference = canonical(reference)

    def invalid(error: str) -> ChemDrawScore:
        return ChemDrawScore(False, 0.0, None, error, fingerprint)

    kind, text = answer_kind(answer_text)
    if not text or not text.strip():
        return invalid("empty answer")
    if kind == "python":
        smiles, error = smiles_from_code(text, engine, timeout_s)
        if smiles is None:
            return invalid(error or "the code built no molecule")
    else:
        smiles = smiles_token(text)
    mol = parse_smiles(smiles)
    if mol is None:
        return invalid(f"not a valid molecule: {smiles[:200]!r}")
    generated_smiles, generated = canonical(mol)
    return ChemDrawScore(True, tanimoto(generated, reference, fingerprint), generated_smiles, None, fingerprint)


def score_many(
    answers: Sequence[str | None],
    references: Sequence[str],
    *,
    fingerprint: str = DEFAULT_FINGERPRINT,
    engine: Any = None,
) -> list[ChemDrawScore]:
    if len(answers) != len(references):
        raise ValueError(f"{len(answers)} answers for {len(references)} references")
    return [score(a, r, fingerprint=fingerprint, engine=engine) for a, r in zip(answers, references, strict=True)]


def aggregate(scores: Iterable[ChemDrawScore], fingerprint: str | None = None) -> dict[str, Any]:
    """{"n", "exec_rate", "tanimoto", "fingerprint"}: rates as percentages over ALL samples (invalid -> 0).

    `fingerprint` defaults to the one the scores were computed with; naming a different one is an error, as is a
    mixture of fingerprints.
    """
    scores = list(scores)
    used = {s.fingerprint for s in scores}
    if len(used) > 1:
        raise ValueError(f"scores computed with different fingerprints: {sorted(used)}")
    if fingerprint is not None and used and used != {fingerprint}:
        raise ValueError(f"scores were computed with {used.pop()!r}, not {fingerprint!r}")
    name = fingerprint or (used.pop() if used else DEFAULT_FINGERPRINT)
    n = len(scores)
    return {
        "n": n,
        "exec_rate": 100.0 * sum(s.valid for s in scores) / n if n else 0.0,
        "tanimoto": 100.0 * sum(s.tanimoto if s.valid else 0.0 for s in scores) / n if n else 0.0,
        "fingerprint": name,
    }
