"""Well-known molecules: plain SMILES strings and RDKit scripts that draw them."""

from __future__ import annotations

import random

# (name, SMILES, molecular formula) -- the formula documents the structure and is checked by the tests.
MOLECULES: tuple[tuple[str, str, str], ...] = (
    ("caffeine", "CN1C=NC2=C1C(=O)N(C(=O)N2C)C", "C8H10N4O2"),
    ("aspirin", "CC(=O)OC1=CC=CC=C1C(=O)O", "C9H8O4"),
    ("ibuprofen", "CC(C)CC1=CC=C(C=C1)C(C)C(=O)O", "C13H18O2"),
    ("paracetamol", "CC(=O)NC1=CC=C(C=C1)O", "C8H9NO2"),
    ("beta-D-glucose", "OC[C@H]1O[C@@H](O)[C@H](O)[C@@H](O)[C@@H]1O", "C6H12O6"),
    ("benzene", "c1ccccc1", "C6H6"),
    ("ethanol", "CCO", "C2H6O"),
    ("nicotine", "CN1CCC[C@H]1C2=CN=CC=C2", "C10H14N2"),
    ("dopamine", "NCCC1=CC(O)=C(O)C=C1", "C8H11NO2"),
    ("serotonin", "NCCC1=CNC2=C1C=C(O)C=C2", "C10H12N2O"),
    ("adrenaline", "CNC[C@H](O)C1=CC(O)=C(O)C=C1", "C9H13NO3"),
    ("methane", "C", "CH4"),
    ("acetic acid", "CC(=O)O", "C2H4O2"),
    ("acetone", "CC(=O)C", "C3H6O"),
    ("toluene", "Cc1ccccc1", "C7H8"),
    ("phenol", "Oc1ccccc1", "C6H6O"),
    ("naphthalene", "c1ccc2ccccc2c1", "C10H8"),
    ("urea", "NC(=O)N", "CH4N2O"),
    ("glycine", "NCC(=O)O", "C2H5NO2"),
    ("L-alanine", "C[C@H](N)C(=O)O", "C3H7NO2"),
    ("L-tryptophan", "N[C@@H](CC1=CNC2=CC=CC=C12)C(=O)O", "C11H12N2O2"),
    ("L-phenylalanine", "N[C@@H](CC1=CC=CC=C1)C(=O)O", "C9H11NO2"),
    ("L-tyrosine", "N[C@@H](CC1=CC=C(O)C=C1)C(=O)O", "C9H11NO3"),
    ("L-DOPA", "N[C@@H](CC1=CC(O)=C(O)C=C1)C(=O)O", "C9H11NO4"),
    ("ascorbic acid", "OC[C@H](O)[C@H]1OC(=O)C(O)=C1O", "C6H8O6"),
    ("capsaicin", "COC1=C(O)C=CC(CNC(=O)CCCC/C=C/C(C)C)=C1", "C18H27NO3"),
    ("vanillin", "COC1=C(O)C=CC(C=O)=C1", "C8H8O3"),
    ("menthol", "CC(C)[C@@H]1CC[C@@H](C)C[C@H]1O", "C10H20O"),
    ("limonene", "CC1=CCC(CC1)C(=C)C", "C10H16"),
    ("citric acid", "OC(=O)CC(O)(CC(=O)O)C(=O)O", "C6H8O7"),
    ("lactic acid", "CC(O)C(=O)O", "C3H6O3"),
    ("salicylic acid", "OC(=O)C1=CC=CC=C1O", "C7H6O3"),
    ("benzoic acid", "OC(=O)C1=CC=CC=C1", "C7H6O2"),
    ("pyridine", "c1ccncc1", "C5H5N"),
    ("adenine", "NC1=NC=NC2=C1N=CN2", "C5H5N5"),
    ("guanine", "NC1=NC2=C(N=CN2)C(=O)N1", "C5H5N5O"),
    ("cytosine", "NC1=NC(=O)NC=C1", "C4H5N3O"),
    ("thymine", "CC1=CNC(=O)NC1=O", "C5H6N2O2"),
    ("uracil", "O=C1C=CNC(=O)N1", "C4H4N2O2"),
    ("theobromine", "CN1C=NC2=C1C(=O)NC(=O)N2C", "C7H8N4O2"),
    ("histamine", "NCCC1=CNC=N1", "C5H9N3"),
    ("melatonin", "CC(=O)NCCC1=CNC2=C1C=C(OC)C=C2", "C13H16N2O2"),
    ("gamma-aminobutyric acid", "NCCCC(=O)O", "C4H9NO2"),
    ("acetylcholine", "CC(=O)OCC[N+](C)(C)C", "C7H16NO2+"),
    ("lidocaine", "CCN(CC)CC(=O)NC1=C(C)C=CC=C1C", "C14H22N2O"),
    ("diazepam", "CN1C(=O)CN=C(C2=CC=CC=C2)C3=C1C=CC(Cl)=C3", "C16H13ClN2O"),
    ("fluoxetine", "CNCCC(OC1=CC=C(C=C1)C(F)(F)F)C2=CC=CC=C2", "C17H18F3NO"),
    ("metformin", "CN(C)C(=N)N=C(N)N", "C4H11N5"),
    ("naproxen", "C[C@H](C(=O)O)C1=CC2=C(C=C1)C=C(OC)C=C2", "C14H14O3"),
    ("ethylene", "C=C", "C2H4"),
    ("acetylene", "C#C", "C2H2"),
    ("formaldehyde", "C=O", "CH2O"),
    ("carbon dioxide", "O=C=O", "CO2"),
    ("cyclohexane", "C1CCCCC1", "C6H12"),
    ("styrene", "C=CC1=CC=CC=C1", "C8H8"),
    ("aniline", "NC1=CC=CC=C1", "C6H7N"),
    ("indole", "C1=CC=C2C(=C1)C=CN2", "C8H7N"),
    ("cinnamaldehyde", "O=C/C=C/C1=CC=CC=C1", "C9H8O"),
    ("eugenol", "COC1=C(O)C=CC(CC=C)=C1", "C10H12O2"),
    ("camphor", "CC1(C)C2CCC1(C)C(=O)C2", "C10H16O"),
    ("trinitrotoluene", "CC1=C(C=C(C=C1[N+](=O)[O-])[N+](=O)[O-])[N+](=O)[O-]", "C7H5N3O6"),
    ("chloroform", "ClC(Cl)Cl", "CHCl3"),
    ("dimethyl sulfoxide", "CS(C)=O", "C2H6OS"),
    ("nicotinamide", "NC(=O)C1=CN=CC=C1", "C6H6N2O"),
    ("resveratrol", "OC1=CC=C(C=C1)/C=C/C2=CC(O)=CC(O)=C2", "C14H12O3"),
    ("ethyl acetate", "CCOC(C)=O", "C4H8O2"),
    ("glycerol", "OCC(O)CO", "C3H8O3"),
    ("L-cysteine", "N[C@@H](CS)C(=O)O", "C3H7NO2S"),
    ("morphine", "CN1CC[C@]23[C@@H]4[C@H]1CC5=C2C(=C(C=C5)O)O[C@H]3[C@H](C=C4)O", "C17H19NO3"),
    ("testosterone", "C[C@]12CC[C@H]3[C@@H](CCC4=CC(=O)CC[C@]34C)[C@@H]1CC[C@@H]2O", "C19H28O2"),
    (
        "cholesterol",
        "C[C@H](CCCC(C)C)[C@H]1CC[C@@H]2[C@@]1(CC[C@H]3[C@H]2CC=C4[C@@]3(CC[C@@H](C4)O)C)C",
        "C27H46O",
    ),
    (
        "penicillin G",
        "CC1([C@@H](N2[C@H](S1)[C@@H](C2=O)NC(=O)CC3=CC=CC=C3)C(=O)O)C",
        "C16H18N2O4S",
    ),
)

_HIGHLIGHTS = (
    ("C(=O)O", "carboxylic acid group"),
    ("c1ccccc1", "benzene ring"),
    ("[OX2H]", "hydroxyl groups"),
    ("[NX3]", "nitrogen atoms"),
    ("C=O", "carbonyl groups"),
)


def smiles(rng: random.Random) -> tuple[str, str]:
    name, text, formula = rng.choice(MOLECULES)
    return text, f"Molecule: {name} ({formula})"


def drawing(rng: random.Random) -> tuple[str, str]:
    w, h = rng.choice(((300, 300), (400, 300), (400, 400), (500, 400), (600, 400)))
    roll = rng.random()
    code = "from rdkit import Chem\nfrom rdkit.Chem import Draw\n"
    if roll < 0.4:
        name, text, _ = rng.choice(MOLECULES)
        code += f'\n# {name}\nsmiles = "{text}"\nmol = Chem.MolFromSmiles(smiles)\n'
        code += f"img = Draw.MolToImage(mol, size=({w}, {h}))\n"
        code += f'img.save("{rng.choice(("molecule.png", "output.png", name.replace(" ", "_") + ".png"))}")\n'
        return code, f"RDKit script drawing {name} as a {w}x{h} image"
    if roll < 0.75:
        name, text, _ = rng.choice(MOLECULES)
        code += "from rdkit.Chem import AllChem\nfrom rdkit.Chem.Draw import rdMolDraw2D\n\n"
        code += f'mol = Chem.MolFromSmiles("{text}")\nAllChem.Compute2DCoords(mol)\n\n'
        code += f"drawer = rdMolDraw2D.MolDraw2DCairo({w}, {h})\nopts = drawer.drawOptions()\n"
        extras = []
        if rng.random() < 0.4:
            code += "opts.addAtomIndices = True\n"
            extras.append("atom indices")
        if rng.random() < 0.5:
            code += f"opts.bondLineWidth = {rng.choice((1, 2, 3))}\n"
        if rng.random() < 0.3:
            code += "opts.setBackgroundColour((0.95, 0.97, 1.0, 1.0))\n"
        pattern, group = rng.choice(_HIGHLIGHTS)
        highlight = rng.random() < 0.5
        if highlight:
            code += f'pattern = Chem.MolFromSmarts("{pattern}")\n'
            code += "atoms = [i for match in mol.GetSubstructMatches(pattern) for i in match]\n"
            code += f'drawer.DrawMolecule(mol, highlightAtoms=atoms, legend="{name}")\n'
            extras.append(f"its {group} highlighted")
        else:
            code += f'drawer.DrawMolecule(mol, legend="{name}")\n'
        code += 'drawer.FinishDrawing()\nwith open("molecule.png", "wb") as handle:\n'
        code += "    handle.write(drawer.GetDrawingText())\n"
        extra = " with " + " and ".join(extras) if extras else ""
        return code, f"RDKit MolDraw2D script drawing {name}{extra}"
    chosen = rng.sample(MOLECULES, rng.choice((3, 4, 6)))
    per_row = rng.choice((2, 3))
    code += "\nmolecules = {\n" + "".join(f'    "{n}": "{s}",\n' for n, s, _ in chosen) + "}\n"
    code += "mols = [Chem.MolFromSmiles(s) for s in molecules.values()]\n"
    code += f"img = Draw.MolsToGridImage(\n    mols, molsPerRow={per_row}, subImgSize=({w // 2}, {h // 2}),"
    code += " legends=list(molecules)\n)\n"
    code += 'img.save("molecules.png")\n'
    names = ", ".join(n for n, _, _ in chosen)
    return code, f"RDKit grid image of {len(chosen)} molecules: {names}"
