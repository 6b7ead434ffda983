"""TikZ figures: node-and-arrow diagrams, function plots, geometric shapes and trees.

About half the figures are complete ``standalone`` documents and half are bare
``tikzpicture`` snippets.  Snippets use core TikZ only (no libraries, no colour
definitions) so that a minimal ``\\documentclass[tikz]{standalone}`` wrapper compiles them.
"""

from __future__ import annotations

import math
import random

COLORS = (
    "blue",
    "red",
    "teal",
    "orange",
    "violet",
    "cyan",
    "magenta",
    "olive",
    "brown",
    "purple",
    "green!60!black",
)
_STEPS = (
    ("Collect data", "Clean data", "Train model", "Evaluate", "Deploy"),
    ("Idea", "Design", "Prototype", "Test", "Release"),
    ("Order placed", "Payment", "Packing", "Shipping", "Delivered"),
    ("Read input", "Parse", "Validate", "Transform", "Write output"),
    ("Question", "Hypothesis", "Experiment", "Analysis", "Conclusion"),
)


def document(rng: random.Random, picture: str, libraries: tuple[str, ...] = (), standalone: bool | None = None) -> str:
    """Wrap `picture` in a standalone document, or return it bare (libraries force a document)."""
    if standalone is None:
        standalone = bool(libraries) or rng.random() < 0.5
    if not standalone:
        return picture
    options = rng.choice(("tikz", "tikz,border=2pt", "tikz,border=5pt", "tikz,border=10pt"))
    head = f"\\documentclass[{options}]{{standalone}}\n"
    if rng.random() < 0.4:
        head += "\\usepackage{amsmath}\n"
    if libraries:
        head += f"\\usetikzlibrary{{{','.join(libraries)}}}\n"
    return f"{head}\\begin{{document}}\n{picture}\\end{{document}}\n"


def diagram(rng: random.Random) -> tuple[str, str]:
    steps = list(rng.choice(_STEPS)[: rng.randint(3, 5)])
    color = rng.choice(COLORS)
    library = rng.random() < 0.4
    vertical = rng.random() < 0.4
    shape = rng.choice(("rectangle", "rectangle, rounded corners", "ellipse"))
    gap = rng.choice((2.6, 3.0, 3.4)) if not vertical else rng.choice((1.4, 1.6, 1.8))
    arrow = rng.choice(("->", "-stealth", "-latex", "->, >=stealth"))
    pic = (
        f"\\begin{{tikzpicture}}[\n  box/.style={{draw, {shape}, fill={color}!15, thick, minimum width=2.2cm,"
        f" minimum height=0.9cm, align=center}},\n  arrow/.style={{{arrow}, thick}}\n]\n"
    )
    for i, step in enumerate(steps):
        name = f"n{i}"
        if library and i > 0:
            where = f"below=0.6cm of n{i - 1}" if vertical else f"right=0.7cm of n{i - 1}"
            pic += f"\\node[box, {where}] ({name}) {{{step}}};\n"
        else:
            x, y = (0, -i * gap) if vertical else (i * gap, 0)
            pic += f"\\node[box] ({name}) at ({x:.1f},{y:.1f}) {{{step}}};\n"
    for i in range(len(steps) - 1):
        label = ""
        if rng.random() < 0.25:
            side = "right" if vertical else "above"
            label = f" node[midway, {side}, font=\\small] {{{rng.choice(('ok', 'next', 'done', 'then'))}}}"
        pic += f"\\draw[arrow] (n{i}) --{label} (n{i + 1});\n"
    loop = rng.random() < 0.4
    if loop:
        last = len(steps) - 1
        if vertical:
            route = f"(n{last}.east) -- ++(1.2,0) |- node[pos=0.25, right, font=\\small] {{retry}} (n0.east)"
        else:
            route = f"(n{last}.south) -- ++(0,-0.9) -| node[pos=0.25, below, font=\\small] {{retry}} (n0.south)"
        pic += f"\\draw[arrow, dashed] {route};\n"
    pic += "\\end{tikzpicture}\n"
    libraries = ("positioning",) if library else ()
    if shape == "ellipse":
        libraries += ("shapes.geometric",)
    code = document(rng, pic, libraries)
    direction = "top-to-bottom" if vertical else "left-to-right"
    extra = " and a dashed feedback arrow" if loop else ""
    return (
        code,
        f"TikZ {direction} flow diagram of {len(steps)} steps from '{steps[0]}' to '{steps[-1]}'{extra}",
    )


_FUNCTIONS = (
    ("sin(\\x r)", "\\sin x", 0.0, 6.28, -1.2, 1.2),
    ("cos(\\x r)", "\\cos x", 0.0, 6.28, -1.2, 1.2),
    ("0.25*\\x*\\x", "x^2/4", -3.0, 3.0, 0.0, 2.4),
    ("exp(-\\x)", "e^{-x}", 0.0, 4.0, 0.0, 1.1),
    ("sqrt(\\x)", "\\sqrt{x}", 0.0, 4.0, 0.0, 2.2),
    ("0.1*\\x*\\x*\\x", "x^3/10", -2.5, 2.5, -1.7, 1.7),
    ("1/(1+exp(-2*\\x))", "\\sigma(2x)", -3.0, 3.0, 0.0, 1.1),
    ("ln(\\x)", "\\ln x", 0.3, 5.0, -1.3, 1.7),
)


def plot(rng: random.Random) -> tuple[str, str]:
    chosen = rng.sample(_FUNCTIONS, rng.randint(1, 2))
    lo = min(f[2] for f in chosen)
    hi = max(f[3] for f in chosen)
    ylo = min(f[4] for f in chosen)
    yhi = max(f[5] for f in chosen)
    xscale = round(8.0 / (hi - lo), 2)
    yscale = round(4.0 / (yhi - ylo), 2)
    pic = f"\\begin{{tikzpicture}}[xscale={xscale}, yscale={yscale}]\n"
    if rng.random() < 0.5:
        step = 1 if hi - lo > 3 else 0.5
        pic += f"\\draw[help lines, gray!30, xstep={step}, ystep=0.5] ({lo},{ylo}) grid ({hi},{yhi});\n"
    pic += f"\\draw[->] ({min(lo, 0) - 0.2:.1f},0) -- ({hi + 0.3:.1f},0) node[right] {{$x$}};\n"
    pic += f"\\draw[->] (0,{min(ylo, 0) - 0.1:.1f}) -- (0,{yhi + 0.2:.1f}) node[above] {{$y$}};\n"
    first, last = math.ceil(lo), math.floor(hi)
    ticks = ",".join(str(t) for t in range(first, last + 1) if t != 0)
    if ticks:
        pic += f"\\foreach \\t in {{{ticks}}}\n"
        pic += "  \\draw (\\t,0.05) -- (\\t,-0.05) node[below, font=\\tiny] {\\t};\n"
    colors = rng.sample(COLORS, len(chosen))
    for (expr, label, a, b, _, _), color in zip(chosen, colors, strict=True):
        style = rng.choice(("thick", "very thick", "thick, dashed", "semithick"))
        pic += f"\\draw[{color}, {style}, domain={a}:{b}, smooth, samples=100, variable=\\x]\n"
        pic += f"  plot ({{\\x}}, {{{expr}}}) node[right, font=\\small] {{${label}$}};\n"
    pic += "\\end{tikzpicture}\n"
    names = " and ".join(f"${f[1]}$" for f in chosen)
    return document(rng, pic), f"TikZ plot of {names} on labelled axes from {lo:g} to {hi:g}"


def _triangle(rng: random.Random, color: str) -> tuple[str, str]:
    ax, bx, cx, cy = 0, rng.uniform(3, 5), rng.uniform(0.5, 3), rng.uniform(2, 3.5)
    code = f"\\coordinate (A) at ({ax},0);\n\\coordinate (B) at ({bx:.2f},0);\n"
    code += f"\\coordinate (C) at ({cx:.2f},{cy:.2f});\n"
    code += f"\\draw[thick, fill={color}!20] (A) -- (B) -- (C) -- cycle;\n"
    code += "\\node[below left] at (A) {$A$};\n\\node[below right] at (B) {$B$};\n\\node[above] at (C) {$C$};\n"
    if rng.random() < 0.6:
        code += f"\\draw[{color}] (A) ++(0.6,0) arc (0:{math.degrees(math.atan2(cy, cx)):.1f}:0.6);\n"
        code += "\\node at (0.9,0.25) {$\\alpha$};\n"
    return code, "a triangle ABC"


def _circle(rng: random.Random, color: str) -> tuple[str, str]:
    r = rng.choice((1.2, 1.5, 1.8))
    angle = rng.choice((20, 30, 45, 60))
    code = f"\\begin{{scope}}[shift={{(7,1.5)}}]\n\\draw[thick, {color}] (0,0) circle ({r});\n"
    code += "\\fill (0,0) circle (1.5pt) node[below left] {$O$};\n"
    code += f"\\draw[->] (0,0) -- ({angle}:{r}) node[midway, above left] {{$r$}};\n"
    if rng.random() < 0.5:
        code += f"\\fill[{color}!25] (0,0) -- ({r},0) arc (0:{angle}:{r}) -- cycle;\n"
    return code + "\\end{scope}\n", f"a circle of radius r with centre O at {angle} degrees"


def _polygon(rng: random.Random, color: str) -> tuple[str, str]:
    sides = rng.randint(5, 8)
    pts = " -- ".join(f"({90 + i * 360 / sides:.1f}:1.3)" for i in range(sides))
    code = f"\\begin{{scope}}[shift={{(3,-2.5)}}]\n\\draw[thick, fill={color}!30] {pts} -- cycle;\n"
    code += f"\\node at (0,0) {{$n={sides}$}};\n\\end{{scope}}\n"
    return code, f"a regular {sides}-gon"


def _rectangle(rng: random.Random, color: str) -> tuple[str, str]:
    w, h = rng.randint(2, 4), rng.randint(1, 2)
    code = "\\begin{scope}[shift={(6,-3.5)}]\n"
    code += f"\\draw[thick, {color}, fill={color}!10] (0,0) rectangle ({w},{h});\n"
    code += f"\\draw[<->] (0,-0.3) -- ({w},-0.3) node[midway, below] {{${w}$}};\n"
    code += f"\\draw[<->] ({w + 0.3},0) -- ({w + 0.3},{h}) node[midway, right] {{${h}$}};\n\\end{{scope}}\n"
    return code, f"a {w} by {h} rectangle with dimension arrows"


def shapes(rng: random.Random) -> tuple[str, str]:
    parts = rng.sample((_triangle, _circle, _polygon, _rectangle), rng.randint(2, 4))
    colors = rng.sample(COLORS, len(parts))
    pic = f"\\begin{{tikzpicture}}[scale={rng.choice((0.8, 0.9, 1))}]\n"
    described = []
    for part, color in zip(parts, colors, strict=True):
        code, what = part(rng, color)
        pic += code
        described.append(what)
    pic += "\\end{tikzpicture}\n"
    return document(rng, pic), "TikZ geometry figure with " + ", ".join(described)


_TREES = (
    (
        "Animals",
        {"Mammals": ("Cats", "Whales", "Bats"), "Birds": ("Owls", "Gulls"), "Fish": ("Trout", "Sharks")},
    ),
    (
        "Project",
        {"Design": ("Sketches", "Mockups"), "Build": ("Backend", "Frontend"), "Launch": ("Docs", "Ads")},
    ),
    (
        "Vehicles",
        {"Land": ("Cars", "Trains", "Bikes"), "Water": ("Boats", "Ferries"), "Air": ("Planes", "Drones")},
    ),
    (
        "Science",
        {"Physics": ("Optics", "Mechanics"), "Biology": ("Genetics", "Ecology"), "Chemistry": ("Organic",)},
    ),
    (
        "Company",
        {"Sales": ("Retail", "Online"), "Engineering": ("Platform", "Mobile", "Data"), "HR": ("Hiring",)},
    ),
)


def tree(rng: random.Random) -> tuple[str, str]:
    root, branches = rng.choice(_TREES)
    kept = rng.sample(sorted(branches), rng.randint(2, len(branches)))
    color = rng.choice(COLORS)
    grow = rng.choice(("down", "down", "right"))
    shape = rng.choice(("draw, rounded corners", "draw, circle", "draw", "draw, ellipse"))
    leaves = sum(len(branches[k]) for k in kept)
    widest = max(len(branches[k]) for k in kept)
    if grow == "down":
        inner = 2.4 if "circle" in shape else 2.0
        options = f"level 1/.style={{sibling distance={widest * inner + 0.4:.1f}cm}}"
        options += f", level 2/.style={{sibling distance={inner}cm}}, level distance=1.6cm"
    else:
        inner = {"draw, circle": 1.9, "draw, ellipse": 1.2}.get(shape, 1.0)
        options = f"grow=right, level 1/.style={{sibling distance={widest * inner + 0.6:.1f}cm}}"
        options += f", level 2/.style={{sibling distance={inner}cm}}, level distance=3cm"
    pic = "\\begin{tikzpicture}[\n"
    pic += f"  every node/.style={{{shape}, fill={color}!15, font=\\small, inner sep=3pt}},\n"
    pic += f"  edge from parent/.style={{draw, thick, {color}!70!black}},\n  {options}\n]\n"
    pic += f"\\node {{{root}}}\n"
    for branch in kept:
        pic += f"  child {{node {{{branch}}}\n"
        for leaf in branches[branch]:
            pic += f"    child {{node {{{leaf}}}}}\n"
        pic += "  }\n"
    pic += ";\n\\end{tikzpicture}\n"
    direction = "growing right" if grow == "right" else "growing downward"
    libraries = ("shapes.geometric",) if "ellipse" in shape else ()
    title = f"TikZ tree diagram rooted at '{root}' with {len(kept)} branches and {leaves} leaves, {direction}"
    return document(rng, pic, libraries), title
