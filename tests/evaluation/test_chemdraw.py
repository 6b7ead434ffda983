"""ChemDraw: SMILES and RDKit-code answers scored by exec rate and fingerprint Tanimoto against real molecules."""

from __future__ import annotations

import csv

import pytest
from rdkit import Chem

from evaluation.metrics import chemdraw as c


@pytest.fixture(scope="module")
def molecules(shared_data) -> dict[str, str]:
    with open(shared_data / "molecules" / "smiles.csv", newline="") as fh:
        return {row["name"]: row["smiles"] for row in csv.DictReader(fh)}


def fenced(code: str, tag: str = "smiles") -> str:
    return f"The molecule is:\n```{tag}\n{code}\n```\n"


# ---------------------------------------------------------------------------------------------------- SMILES


@pytest.mark.parametrize("fingerprint", c.FINGERPRINTS)
def test_reference_against_itself_is_one(fingerprint):
    result = c.score(fenced("CCO"), "CCO", fingerprint=fingerprint)
    assert result == c.ChemDrawScore(True, 1.0, "CCO", None, fingerprint)


def test_canonicalisation():
    assert c.score("OCC", "CCO").tanimoto == 1.0
    kekule = c.score(fenced("C1=CC=CC=C1"), "c1ccccc1")
    assert kekule.valid and kekule.tanimoto == 1.0 and kekule.smiles == "c1ccccc1"
    assert c.score(fenced("OC(=O)c1ccccc1"), "c1ccc(cc1)C(O)=O", fingerprint="morgan2").tanimoto == 1.0


@pytest.mark.parametrize("fingerprint", c.FINGERPRINTS)
def test_similar_molecules_score_higher_than_different_ones(fingerprint):
    methanol = c.score("CO", "CCO", fingerprint=fingerprint)
    propanol = c.score("CCCO", "CCO", fingerprint=fingerprint)
    benzene = c.score("c1ccccc1", "CCO", fingerprint=fingerprint)
    assert methanol.valid and propanol.valid and benzene.valid
    assert 1.0 > propanol.tanimoto > methanol.tanimoto > benzene.tanimoto >= 0.0
    if fingerprint == "rdkit":
        # paths of ethanol: C-C, C-O, C-C-O; of methanol: C-O; shared 1 of 3
        assert methanol.tanimoto == pytest.approx(1 / 3)


def test_invalid_smiles_scores_zero_and_counts_in_the_mean():
    bad = c.score(fenced("C1CC(C"), "CCO")
    assert bad.valid is False and bad.tanimoto == 0.0 and bad.smiles is None and bad.error
    assert c.score("c1cccc1", "CCO").valid is False  # kekulisation fails
    assert c.score("C(C)(C)(C)(C)C", "CCO").valid is False  # pentavalent carbon
    good = c.score("CCO", "CCO")
    summary = c.aggregate([good, bad])
    assert summary == {"n": 2, "exec_rate": 50.0, "tanimoto": 50.0, "fingerprint": "rdkit"}


@pytest.mark.parametrize("answer", ["", "   \n", None, "```smiles\n```", "```\n\n```"])
def test_empty_answer_is_invalid(answer):
    result = c.score(answer, "CCO")
    assert result.valid is False and result.tanimoto == 0.0


def test_answer_extraction():
    assert c.answer_kind(fenced("CCO")) == ("smiles", "CCO")
    assert c.answer_kind("```smi\nCCO\n```") == ("smiles", "CCO")
    assert c.answer_kind("CCO") == ("smiles", "CCO")
    assert c.answer_kind(fenced("from rdkit import Chem", "python")) == ("python", "from rdkit import Chem")
    assert c.answer_kind("```\nfrom rdkit import Chem\nm = Chem.MolFromSmiles('C')\n```")[0] == "python"
    # a tagged SMILES block wins over code
    assert c.answer_kind(fenced("x = 1", "python") + fenced("CCO")) == ("smiles", "CCO")
    assert c.score("CCO   (ethanol)", "CCO").tanimoto == 1.0  # first token, as the SMILES renderer reads it
    assert c.score("SMILES: CCO", "CCO").valid is False


def test_fingerprint_is_named_and_checked():
    scores = [c.score("CCO", "CCO", fingerprint="morgan2"), c.score("xyz", "CCO", fingerprint="morgan2")]
    summary = c.aggregate(scores)
    assert summary["fingerprint"] == "morgan2" and summary["exec_rate"] == 50.0
    assert c.aggregate(scores, "morgan2")["fingerprint"] == "morgan2"
    with pytest.raises(ValueError):
        c.aggregate(scores, "rdkit")
    with pytest.raises(ValueError):
        c.aggregate([scores[0], c.score("CCO", "CCO")])
    with pytest.raises(ValueError):
        c.score("CCO", "CCO", fingerprint="maccs")
    assert c.aggregate([]) == {"n": 0, "exec_rate": 0.0, "tanimoto": 0.0, "fingerprint": "rdkit"}


def test_invalid_reference_raises():
    with pytest.raises(ValueError):
        c.score("CCO", "not a smiles")


@pytest.mark.parametrize("name", ["Amigdalin", "Estradiol", "Tetradecane", "Phorate"])
def test_real_molecules(molecules, name):
    smiles = molecules[name]
    mol = Chem.MolFromSmiles(smiles)
    (other_spelling,) = Chem.MolToRandomSmilesVect(mol, 1, randomSeed=7)
    for fingerprint in c.FINGERPRINTS:
        assert c.score(fenced(smiles), smiles, fingerprint=fingerprint).tanimoto == 1.0
        same = c.score(fenced(other_spelling), smiles, fingerprint=fingerprint)
        assert same.tanimoto == 1.0 and same.smiles == Chem.MolToSmiles(mol)
        # a chlorine added to the first atom that has a hydrogen: still valid, now less similar
        edited = Chem.RWMol(mol)
        anchor = next(atom.GetIdx() for atom in mol.GetAtoms() if atom.GetTotalNumHs() > 0)
        chlorine = edited.AddAtom(Chem.Atom(17))
        edited.AddBond(anchor, chlorine, Chem.BondType.SINGLE)
        Chem.SanitizeMol(edited)
        partial = c.score(Chem.MolToSmiles(edited), smiles, fingerprint=fingerprint)
        assert partial.valid and 0.0 < partial.tanimoto < 1.0


def test_real_molecules_rank_by_similarity(molecules):
    estradiol = molecules["Estradiol"]
    # estrone (the 17-ketone of estradiol) vs tetradecane: the steroid is far closer
    estrone = "CC12CCC3C(CCc4cc(O)ccc34)C1CCC2=O"
    assert c.score(estrone, estradiol).tanimoto > c.score(molecules["Tetradecane"], estradiol).tanimoto


# ---------------------------------------------------------------------------------------------------- RDKit code


@pytest.fixture(scope="module")
def engine():
    """The process-wide engine, shared with the other metric tests (one warm-up per session; closed at exit)."""
    from renderers.engine import default_engine

    return default_engine()


DRAW_WITH_MOLTOIMAGE = """
from rdkit import Chem
from rdkit.Chem import Draw

smiles = "OCC"
mol = Chem.MolFromSmiles(smiles)
img = Draw.MolToImage(mol, size=(300, 300))
img.save("molecule.png")
"""

DRAW_INSIDE_A_FUNCTION = """
import matplotlib.pyplot as plt
from rdkit import Chem
from rdkit.Chem.Draw import rdMolDraw2D


def main():
    helper = Chem.MolFromSmiles("N")
    mol = Chem.MolFromSmiles("c1ccccc1O")
    drawer = rdMolDraw2D.MolDraw2DCairo(300, 300)
    drawer.DrawMolecule(mol)
    drawer.FinishDrawing()
    plt.plot([0, 1])
    plt.savefig("figure.png")


if __name__ == "__main__":
    main()
"""

BUILT_ATOM_BY_ATOM = """
from rdkit import Chem

rw = Chem.RWMol()
c1 = rw.AddAtom(Chem.Atom(6))
c2 = rw.AddAtom(Chem.Atom(6))
o = rw.AddAtom(Chem.Atom(8))
rw.AddBond(c1, c2, Chem.BondType.SINGLE)
rw.AddBond(c2, o, Chem.BondType.SINGLE)
mol = rw.GetMol()
Chem.SanitizeMol(mol)
mol = Chem.AddHs(mol)
raise SystemExit(0)
"""


def test_code_answers_run_in_the_sandbox(engine):
    drawn = c.score(fenced(DRAW_WITH_MOLTOIMAGE, "python"), "CCO", engine=engine)
    assert drawn == c.ChemDrawScore(True, 1.0, "CCO", None, "rdkit")
    # the molecule it drew, although it lives in a function and another one was built too
    phenol = c.score(fenced(DRAW_INSIDE_A_FUNCTION, "python"), "Oc1ccccc1", engine=engine, fingerprint="morgan2")
    assert phenol.valid and phenol.smiles == "Oc1ccccc1" and phenol.tanimoto == 1.0
    # no drawing: the last molecule left in a variable, explicit hydrogens removed; exit(0) is fine
    built = c.score(fenced(BUILT_ATOM_BY_ATOM, "rdkit"), "CCO", engine=engine)
    assert built.valid and built.smiles == "CCO" and built.tanimoto == 1.0


def test_failing_code_answers_are_invalid(engine):
    crash = c.score(
        fenced("from rdkit import Chem\nmol = Chem.MolFromSmiles('CCO')\n1 / 0\n", "python"), "CCO", engine=engine
    )
    assert crash.valid is False and crash.tanimoto == 0.0 and "ZeroDivisionError" in crash.error
    assert "line 3" in crash.error  # the answer's own line numbers
    nothing = c.score(fenced("import numpy as np\nx = np.arange(3)\n", "python"), "CCO", engine=engine)
    assert nothing.valid is False and "no RDKit molecule" in nothing.error
    syntax = c.score(fenced("from rdkit import Chem\nmol = Chem.MolFromSmiles('CCO'\n", "python"), "CCO", engine=engine)
    assert syntax.valid is False
    summary = c.aggregate([crash, nothing, syntax, c.score("CCO", "CCO")])
    assert summary["exec_rate"] == 25.0 and summary["tanimoto"] == 25.0


def test_report_image_round_trip():
    assert c.decode_report(b"not a png") is None
    import io

    import numpy as np
    from PIL import Image

    png = io.BytesIO()
    Image.fromarray(np.full((8, 128, 3), 255, dtype=np.uint8)).save(png, "PNG")
    assert c.decode_report(png.getvalue()) is None  # right shape, no magic
