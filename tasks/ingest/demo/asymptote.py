"""Asymptote figures: triangle constructions, function graphs and labelled shapes.

Only 2-D modules are used (``geometry``, ``graph``); every figure compiles with
``asy -safe -f png``.
"""

from __future__ import annotations

import random

PENS = (
    "blue",
    "red",
    "heavygreen",
    "orange",
    "purple",
    "brown",
    "deepcyan",
    "magenta",
    "heavyblue",
    "darkgreen",
)
FILLS = ("paleblue", "palered", "palegreen", "paleyellow", "lightcyan", "pink", "lightgray", "palemagenta")
HEX = ("2a9d8f", "e76f51", "264653", "8338ec", "3a86ff", "ff006e", "118ab2", "06d6a0")


def _pen(rng: random.Random) -> str:
    return f'rgb("{rng.choice(HEX)}")' if rng.random() < 0.3 else rng.choice(PENS)


def geometry(rng: random.Random) -> tuple[str, str]:
    bx = rng.choice((4, 5, 6))
    cx, cy = round(rng.uniform(0.8, bx - 0.8), 1), round(rng.uniform(2.5, 4.0), 1)
    extras = rng.sample(("circumcircle", "incircle", "altitude", "medians", "angle"), rng.randint(1, 3))
    code = f"import geometry;\nsize({rng.choice((5, 6, 7, 8))}cm);\n\n"
    code += f"point A = (0, 0), B = ({bx}, 0), C = ({cx}, {cy});\n"
    code += f"draw(A--B--C--cycle, linewidth({rng.choice((0.8, 1, 1.2))}));\n"
    if "circumcircle" in extras:
        code += f"draw(circumcircle(A, B, C), {_pen(rng)});\n"
        code += 'dot("$O$", circumcenter(A, B, C), NE);\n'
    if "incircle" in extras:
        code += f"draw(incircle(A, B, C), {_pen(rng)} + dashed);\n"
        code += 'dot("$I$", incenter(A, B, C), S);\n'
    if "altitude" in extras:
        code += "point H = projection(line(A, B)) * C;\n"
        code += f"draw(C--H, {_pen(rng)} + dotted);\nmarkrightangle(C, H, B);\n"
        code += 'label("$H$", H, S);\n'
    if "medians" in extras:
        code += "point Mc = midpoint(A--B), Ma = midpoint(B--C), Mb = midpoint(C--A);\n"
        pen = _pen(rng)
        code += f"draw(C--Mc, {pen});\ndraw(A--Ma, {pen});\ndraw(B--Mb, {pen});\n"
        code += 'dot("$G$", (A + B + C) / 3, NE);\n'
    if "angle" in extras:
        code += f"draw(arc(A, 0.6, 0, degrees(C - A)), {_pen(rng)});\n"
        code += 'label("$\\alpha$", A + 0.9 * dir(degrees(C - A) / 2));\n'
    code += 'label("$A$", A, SW);\nlabel("$B$", B, SE);\nlabel("$C$", C, N);\n'
    if rng.random() < 0.5:
        code += "dot(A);\ndot(B);\ndot(C);\n"
    phrases = {
        "circumcircle": "its circumcircle",
        "incircle": "its incircle",
        "altitude": "the altitude from C",
        "medians": "the three medians",
        "angle": "the angle at A marked",
    }
    listed = ", ".join(phrases[e] for e in extras)
    return code, f"Asymptote construction of triangle ABC with {listed}"


_FUNCTIONS = (
    ("x^2 / 4", "x^2/4", -3.0, 3.0, True),
    ("sin(x)", "\\sin x", -3.14, 3.14, False),
    ("cos(2 * x)", "\\cos 2x", -3.14, 3.14, False),
    ("exp(-x^2 / 2)", "e^{-x^2/2}", -3.0, 3.0, True),
    ("x^3 - 3 * x", "x^3-3x", -2.0, 2.0, False),
    ("sqrt(x)", "\\sqrt{x}", 0.0, 4.0, True),
    ("log(x)", "\\ln x", 0.2, 5.0, False),
    ("1 / (1 + x^2)", "\\frac{1}{1+x^2}", -3.0, 3.0, True),
    ("x * exp(-x)", "xe^{-x}", 0.0, 5.0, True),
)


def graph(rng: random.Random) -> tuple[str, str]:
    chosen = rng.sample(_FUNCTIONS, rng.randint(1, 2))
    w, h = rng.choice(((8, 6), (9, 6), (7, 5), (10, 6)))
    code = f"import graph;\nsize({w}cm, {h}cm, IgnoreAspect);\n\n"
    names = "fgh"
    for name, (expr, _, _, _, _) in zip(names, chosen, strict=False):
        code += f"real {name}(real x) {{ return {expr}; }}\n"
    code += "\n"
    shaded = ""
    for name, (_, label, a, b, positive) in zip(names, chosen, strict=False):
        pen = _pen(rng)
        style = rng.choice(("+ 1bp", "+ 1.2bp", "+ dashed", ""))
        n = rng.choice((100, 200, 400))
        if positive and not shaded and rng.random() < 0.5:
            code += f"path p{name} = graph({name}, {a}, {b}, n={n});\n"
            code += f"fill(p{name}--({b}, 0)--({a}, 0)--cycle, {rng.choice(FILLS)});\n"
            code += f'draw(p{name}, {pen} {style}, "${name}(x) = {label}$");\n'
            shaded = f" with the area under ${label}$ shaded"
        else:
            code += f'draw(graph({name}, {a}, {b}, n={n}), {pen} {style}, "${name}(x) = {label}$");\n'
    boxed = rng.random() < 0.5
    if boxed:
        code += 'xaxis("$x$", BottomTop, LeftTicks);\nyaxis("$y$", LeftRight, RightTicks);\n'
    else:
        code += 'xaxis("$x$", YZero, Arrow);\nyaxis("$y$", XZero, Arrow);\n'
    if len(chosen) > 1 or rng.random() < 0.5:
        code += "attach(legend(), point(E), 20E);\n"
    if boxed and rng.random() < 0.6:
        title = rng.choice(("Function graph", "Two curves", "Plot"))
        code += f'label("{title}", point(N), N);\n'
    names_text = " and ".join(f"${label}$" for _, label, _, _, _ in chosen)
    return code, f"Asymptote graph of {names_text}{shaded}"


def shapes(rng: random.Random) -> tuple[str, str]:
    code = f"size({rng.choice((6, 7, 8, 9))}cm);\n\n"
    parts = rng.sample(("trig", "polygon", "box", "circles", "arrows"), rng.randint(2, 3))
    described = []
    x = 0.0
    for part in parts:
        pen, fill = _pen(rng), rng.choice(FILLS)
        if part == "trig":
            t = rng.choice((25, 30, 40, 50, 60))
            code += f"// unit circle at x = {x:g}\npicture trig;\nreal t = {t};\npair P = dir(t);\n"
            code += f"draw(trig, unitcircle, {pen});\ndraw(trig, (-1.2, 0)--(1.2, 0), Arrow);\n"
            code += "draw(trig, (0, -1.2)--(0, 1.2), Arrow);\ndraw(trig, (0, 0)--P, Arrow);\n"
            code += "draw(trig, P--(P.x, 0), dashed);\n"
            code += 'label(trig, "$\\cos\\theta$", (P.x / 2, 0), S);\n'
            code += 'label(trig, "$\\sin\\theta$", (P.x, P.y / 2), E);\n'
            code += 'draw(trig, arc((0, 0), 0.3, 0, t));\nlabel(trig, "$\\theta$", 0.45 * dir(t / 2));\n'
            code += f"add(shift({x:g}, 0) * trig);\n"
            described.append(f"a unit circle showing sine and cosine of {t} degrees")
        elif part == "polygon":
            n = rng.randint(5, 8)
            code += f"filldraw(shift({x:g}, 0) * polygon({n}), {fill}, {pen} + 1bp);\n"
            code += f'label("$n = {n}$", ({x:g}, 0));\n'
            described.append(f"a regular {n}-gon")
        elif part == "box":
            w, h = rng.choice(((2, 1), (1.6, 1.2), (2, 1.4)))
            code += f"filldraw(box(({x - w / 2:g}, {-h / 2:g}), ({x + w / 2:g}, {h / 2:g})), {fill}, {pen});\n"
            code += f'label("${w:g} \\times {h:g}$", ({x:g}, 0));\n'
            described.append(f"a {w:g} by {h:g} rectangle")
        elif part == "circles":
            code += f"filldraw(circle(({x - 0.35:g}, 0), 0.7), {fill}, {pen});\n"
            second = f"{rng.choice(FILLS)} + opacity(0.6), {_pen(rng)}"
            code += f"filldraw(circle(({x + 0.35:g}, 0), 0.7), {second});\n"
            code += f'label("$A$", ({x - 0.7:g}, 0));\nlabel("$B$", ({x + 0.7:g}, 0));\n'
            described.append("two overlapping circles A and B")
        else:
            code += "for (int i = 0; i < 6; ++i) {\n"
            code += f"  draw(({x:g}, 0)--({x:g}, 0) + dir(60 * i), {pen}, Arrow);\n}}\n"
            code += f'dot(({x:g}, 0));\nlabel("$O$", ({x:g}, 0), SW);\n'
            described.append("six unit arrows from a point O")
        x += 3.0
    return code, "Asymptote figure with " + ", ".join(described)
