"""SVG icons: small 24x24 or 48x48 pictograms in one or two colours.

Each icon design is drawn on a 24-unit grid as a list of ``(tag, attributes, role)``;
the role decides how it is painted: "shape" (filled, or stroked in the outline
style), "stroke" (always a line), "inner" (a line drawn on top of a shape, in a
contrasting colour) and "accent" (filled with the second colour).
"""

from __future__ import annotations

import math
import random

from . import words

NS = "http://www.w3.org/2000/svg"

Element = tuple[str, dict[str, str], str]


def polygon_points(cx: float, cy: float, radii: list[float], start: float = -90.0) -> str:
    """Points of a star/polygon whose vertices alternate through `radii`."""
    step = 360.0 / len(radii)
    points = []
    for i, r in enumerate(radii):
        a = math.radians(start + i * step)
        points.append(f"{cx + r * math.cos(a):.2f},{cy + r * math.sin(a):.2f}")
    return " ".join(points)


def _star() -> list[Element]:
    return [("polygon", {"points": polygon_points(12, 12.5, [10, 4.2] * 5)}, "shape")]


def _gear() -> list[Element]:
    return [
        ("polygon", {"points": polygon_points(12, 12, [10, 10, 7.5, 7.5] * 8, start=-101.25)}, "shape"),
        ("circle", {"cx": "12", "cy": "12", "r": "3"}, "accent"),
    ]


def _sun() -> list[Element]:
    rays = []
    for i in range(8):
        a = math.radians(i * 45)
        x1, y1 = 12 + 7 * math.cos(a), 12 + 7 * math.sin(a)
        x2, y2 = 12 + 10 * math.cos(a), 12 + 10 * math.sin(a)
        rays.append(("line", {"x1": f"{x1:.2f}", "y1": f"{y1:.2f}", "x2": f"{x2:.2f}", "y2": f"{y2:.2f}"}, "stroke"))
    return [("circle", {"cx": "12", "cy": "12", "r": "4.5"}, "shape"), *rays]


ICONS: dict[str, list[Element] | None] = {
    "home": [
        ("path", {"d": "M3 11 L12 3 L21 11 V21 H3 Z"}, "shape"),
        ("rect", {"x": "10", "y": "14", "width": "4", "height": "7"}, "accent"),
    ],
    "search": [
        ("circle", {"cx": "10", "cy": "10", "r": "6.5"}, "shape"),
        ("line", {"x1": "15", "y1": "15", "x2": "21", "y2": "21"}, "stroke"),
    ],
    "heart": [
        (
            "path",
            {"d": "M12 21 C5 15 2 11.5 2 8 A5 5 0 0 1 12 6 A5 5 0 0 1 22 8 C22 11.5 19 15 12 21 Z"},
            "shape",
        )
    ],
    "bell": [
        ("path", {"d": "M6 17 V11 A6 6 0 0 1 18 11 V17 L20 19 H4 Z"}, "shape"),
        ("circle", {"cx": "12", "cy": "21", "r": "1.5"}, "accent"),
    ],
    "mail": [
        ("rect", {"x": "3", "y": "6", "width": "18", "height": "12", "rx": "2"}, "shape"),
        ("polyline", {"points": "3,7 12,13 21,7"}, "inner"),
    ],
    "check": [
        ("circle", {"cx": "12", "cy": "12", "r": "10"}, "shape"),
        ("polyline", {"points": "7,12 10.5,15.5 17,9"}, "inner"),
    ],
    "plus": [
        ("rect", {"x": "3", "y": "3", "width": "18", "height": "18", "rx": "4"}, "shape"),
        ("line", {"x1": "12", "y1": "7", "x2": "12", "y2": "17"}, "inner"),
        ("line", {"x1": "7", "y1": "12", "x2": "17", "y2": "12"}, "inner"),
    ],
    "battery": [
        ("rect", {"x": "2", "y": "7", "width": "18", "height": "10", "rx": "2"}, "shape"),
        ("rect", {"x": "20.5", "y": "10", "width": "2", "height": "4"}, "accent"),
        ("rect", {"x": "4", "y": "9", "width": "9", "height": "6"}, "accent"),
    ],
    "cloud": [("path", {"d": "M7 18 H17 A4 4 0 0 0 17 10 A6 6 0 0 0 6 9 A4.5 4.5 0 0 0 7 18 Z"}, "shape")],
    "folder": [("path", {"d": "M3 6 H9 L11 8 H21 V19 H3 Z"}, "shape")],
    "lock": [
        ("path", {"d": "M8 11 V7 A4 4 0 0 1 16 7 V11"}, "stroke"),
        ("rect", {"x": "5", "y": "11", "width": "14", "height": "10", "rx": "2"}, "shape"),
        ("circle", {"cx": "12", "cy": "16", "r": "1.6"}, "accent"),
    ],
    "user": [
        ("circle", {"cx": "12", "cy": "8", "r": "4"}, "shape"),
        ("path", {"d": "M4 21 A8 8 0 0 1 20 21 Z"}, "shape"),
    ],
    "play": [
        ("circle", {"cx": "12", "cy": "12", "r": "10"}, "shape"),
        ("polygon", {"points": "10,8 16,12 10,16"}, "accent"),
    ],
    "calendar": [
        ("rect", {"x": "3", "y": "5", "width": "18", "height": "16", "rx": "2"}, "shape"),
        ("line", {"x1": "3", "y1": "10", "x2": "21", "y2": "10"}, "inner"),
        ("line", {"x1": "8", "y1": "3", "x2": "8", "y2": "7"}, "stroke"),
        ("line", {"x1": "16", "y1": "3", "x2": "16", "y2": "7"}, "stroke"),
        ("rect", {"x": "7", "y": "13", "width": "3", "height": "3"}, "accent"),
    ],
    "arrow": [
        ("line", {"x1": "4", "y1": "12", "x2": "19", "y2": "12"}, "stroke"),
        ("polyline", {"points": "13,6 19,12 13,18"}, "stroke"),
    ],
    "star": None,
    "gear": None,
    "sun": None,
}
_COMPUTED = {"star": _star, "gear": _gear, "sun": _sun}


def attributes(attrs: dict[str, str]) -> str:
    return " ".join(f'{key}="{value}"' for key, value in attrs.items())


def icon(rng: random.Random) -> tuple[str, str]:
    name = rng.choice(sorted(ICONS))
    elements = ICONS[name] or _COMPUTED[name]()
    size = rng.choice((24, 24, 48))
    outline = rng.random() < 0.5
    main = rng.choice(words.HEX_COLORS + ("#000000", "#333333", "currentColor"))
    second = rng.choice([c for c in words.HEX_COLORS if c != main]) if rng.random() < 0.5 else main
    if main == "currentColor":
        second = main
    width = rng.choice(("1.5", "2", "2.5"))
    two = second != main
    line_paint = {
        "fill": "none",
        "stroke-width": width,
        "stroke-linecap": "round",
        "stroke-linejoin": "round",
    }
    lines = []
    for tag, attrs, role in elements:
        if role == "shape":
            paint = {"fill": main} if not outline else {**line_paint, "stroke": main}
        elif role == "stroke":
            paint = {**line_paint, "stroke": second if two else main}
        elif role == "inner":
            contrast = second if two else ("#ffffff" if not outline else main)
            paint = {**line_paint, "stroke": contrast}
        elif two or outline:
            paint = {"fill": second}
        else:
            paint = {"fill": "#ffffff", "stroke": main, "stroke-width": width}
        lines.append(f"  <{tag} {attributes({**attrs, **paint})}/>")
    body = "\n".join(lines)
    if size == 48:
        body = '  <g transform="scale(2)">\n' + "\n".join("  " + line for line in lines) + "\n  </g>"
    header = f'<svg xmlns="{NS}" width="{size}" height="{size}" viewBox="0 0 {size} {size}">'
    if rng.random() < 0.3:
        header = f'<svg xmlns="{NS}" viewBox="0 0 {size} {size}">'
    style = "outline" if outline else "filled"
    colours = "two-colour" if two else "single-colour"
    code = f"{header}\n  <title>{name} icon</title>\n{body}\n</svg>\n"
    return code, f"{size}x{size} {style} {colours} {name} icon"


def element(tag: str, depth: int = 1, text: str | None = None, **attrs: object) -> str:
    """One SVG element on its own line; ``stroke_width=2`` becomes ``stroke-width="2"``."""
    parts = []
    for key, value in attrs.items():
        if isinstance(value, float):
            value = f"{round(value, 1):g}"
        parts.append(f'{key.replace("_", "-")}="{value}"')
    head = "  " * depth + f"<{tag} {' '.join(parts)}"
    return f"{head}>{text}</{tag}>\n" if text is not None else f"{head}/>\n"
