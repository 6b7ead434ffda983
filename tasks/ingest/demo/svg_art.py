"""Larger SVG illustrations: badges, landscape scenes and logos, with gradients, groups and text."""

from __future__ import annotations

import random

from . import words
from .svg import NS, element, polygon_points

_FONTS = (
    "Helvetica, Arial, sans-serif",
    "Georgia, serif",
    "Verdana, sans-serif",
    "'Trebuchet MS', sans-serif",
)
_BADGE_TEXT = (
    "TOP RATED",
    "VERIFIED",
    "BEST SELLER",
    "CERTIFIED",
    "PREMIUM",
    "NEW",
    "CHAMPION",
    "ECO FRIENDLY",
)
_GRADIENTS = (
    ("#f6d365", "#fda085"),
    ("#84fab0", "#8fd3f4"),
    ("#a18cd1", "#fbc2eb"),
    ("#4facfe", "#00f2fe"),
    ("#43e97b", "#38f9d7"),
    ("#fa709a", "#fee140"),
    ("#30cfd0", "#330867"),
    ("#667eea", "#764ba2"),
    ("#ff9a9e", "#fad0c4"),
)


def _gradient(
    rng: random.Random, gid: str, stops: tuple[str, str], radial: bool = False, vertical: bool = False
) -> str:
    if radial:
        head = f'<radialGradient id="{gid}" cx="50%" cy="40%" r="60%">'
        tail = "</radialGradient>"
    else:
        x2, y2 = ("0", "1") if vertical else rng.choice((("0", "1"), ("1", "1"), ("1", "0")))
        head = f'<linearGradient id="{gid}" x1="0" y1="0" x2="{x2}" y2="{y2}">'
        tail = "</linearGradient>"
    return (
        f'    {head}\n      <stop offset="0%" stop-color="{stops[0]}"/>\n'
        f'      <stop offset="100%" stop-color="{stops[1]}"/>\n    {tail}\n'
    )


def badge(rng: random.Random) -> tuple[str, str]:
    size = rng.choice((160, 200, 240))
    c = size / 2
    stops = rng.choice(_GRADIENTS)
    label = rng.choice(_BADGE_TEXT)
    shape = rng.choice(("circle", "shield", "hexagon", "starburst"))
    font = rng.choice(_FONTS)
    code = f'<svg xmlns="{NS}" width="{size}" height="{size}" viewBox="0 0 {size} {size}">\n  <defs>\n'
    code += _gradient(rng, "fill", stops, radial=rng.random() < 0.4) + "  </defs>\n"
    if rng.random() < 0.5:
        ribbon = rng.choice(words.HEX_COLORS)
        code += f'  <g fill="{ribbon}">\n'
        code += f'    <polygon points="{c - 40:.0f},{c + 30:.0f} {c - 60:.0f},{size - 4} {c - 35:.0f},{size - 18}'
        code += f' {c - 20:.0f},{size - 6}"/>\n'
        code += f'    <polygon points="{c + 40:.0f},{c + 30:.0f} {c + 60:.0f},{size - 4} {c + 35:.0f},{size - 18}'
        code += f' {c + 20:.0f},{size - 6}"/>\n  </g>\n'
    edge = rng.choice(("#ffffff", "#222222", stops[1]))
    stroke = f'stroke="{edge}" stroke-width="{rng.choice((3, 4, 6))}"'
    r = size * 0.4
    if shape == "circle":
        code += f'  <circle cx="{c:g}" cy="{c:g}" r="{r:.0f}" fill="url(#fill)" {stroke}/>\n'
    elif shape == "shield":
        top, bottom = size * 0.1, size * 0.92
        left, right, low = f"{c - r:.0f}", f"{c + r:.0f}", f"{bottom - 20:.0f}"
        d = f"M{left} {top:.0f} H{right} V{c:.0f} Q{right} {low} {c:.0f} {bottom:.0f}"
        d += f" Q{left} {low} {left} {c:.0f} Z"
        code += f'  <path d="{d}" fill="url(#fill)" {stroke}/>\n'
    else:
        radii = [r] * 6 if shape == "hexagon" else [r, r * 0.86] * 12
        code += f'  <polygon points="{polygon_points(c, c, radii)}" fill="url(#fill)" {stroke}/>\n'
    code += f'  <g font-family="{font}" text-anchor="middle" fill="{rng.choice(("#ffffff", "#1f2937"))}">\n'
    star = polygon_points(c, c - size * 0.12, [size * 0.09, size * 0.037] * 5)
    code += f'    <polygon points="{star}"/>\n'
    font_size = max(12, int(size * 0.72 / max(len(label), 5)))
    code += element("text", 2, label, x=c, y=round(c + size * 0.1), font_size=font_size, font_weight="bold")
    year = rng.randint(2018, 2026)
    code += element("text", 2, str(year), x=c, y=round(c + size * 0.22), font_size=int(size * 0.07))
    code += "  </g>\n</svg>\n"
    return code, f'{shape.capitalize()} badge with a gradient fill, a star and the text "{label} {year}"'


def scene(rng: random.Random) -> tuple[str, str]:
    w, h = rng.choice(((400, 300), (480, 320), (600, 400), (320, 240)))
    night = rng.random() < 0.3
    sky = ("#0b1d3a", "#2c3e70") if night else rng.choice((("#87ceeb", "#e0f6ff"), ("#ff9966", "#ffe29f")))
    ground = rng.choice(("#4caf50", "#6b8e23", "#8bc34a", "#2e7d32"))
    code = f'<svg xmlns="{NS}" width="{w}" height="{h}" viewBox="0 0 {w} {h}">\n  <defs>\n'
    code += _gradient(rng, "sky", sky, vertical=True) + "  </defs>\n"
    code += f'  <rect width="{w}" height="{h}" fill="url(#sky)"/>\n'
    if night:
        code += '  <g fill="#ffffff">\n'
        for _ in range(rng.randint(8, 20)):
            x, y = round(rng.uniform(0, w)), round(rng.uniform(0, h * 0.5))
            code += element("circle", 2, cx=x, cy=y, r=rng.choice((1, 1.5, 2)))
        code += "  </g>\n"
    orb = "#f5f3ce" if night else "#ffd93b"
    code += element("circle", cx=round(rng.uniform(0.15, 0.85) * w), cy=round(h * 0.22), r=round(h * 0.09), fill=orb)
    peaks = rng.randint(2, 4)
    shade = rng.choice(("#6d7b8d", "#7e6b8f", "#5b6770", "#8d7b68"))
    code += f'  <g fill="{shade}">\n'
    for i in range(peaks):
        x = (i + 0.5) * w / peaks + rng.uniform(-20, 20)
        spread, top = w / peaks * rng.uniform(0.7, 1.1), h * rng.uniform(0.25, 0.45)
        foot = f"{h * 0.7:.0f}"
        code += element("polygon", 2, points=f"{x - spread:.0f},{foot} {x:.0f},{top:.0f} {x + spread:.0f},{foot}")
    code += "  </g>\n"
    code += f'  <path d="M0 {h * 0.68:.0f} Q{w * 0.3:.0f} {h * 0.58:.0f} {w * 0.55:.0f} {h * 0.68:.0f}'
    code += f' T{w} {h * 0.66:.0f} V{h} H0 Z" fill="{ground}"/>\n'
    trees = rng.randint(0, 6)
    if trees:
        code += '  <g id="trees">\n'
        for _ in range(trees):
            x, s = rng.uniform(0.05, 0.95) * w, rng.uniform(0.6, 1.2) * h / 10
            base = h * rng.uniform(0.75, 0.9)
            code += element("rect", 2, x=x - s * 0.12, y=base, width=s * 0.24, height=s * 0.6, fill="#6d4c41")
            crown = f"{x - s:.1f},{base:.1f} {x:.1f},{base - 2.2 * s:.1f} {x + s:.1f},{base:.1f}"
            code += element("polygon", 2, points=crown, fill="#1b5e20")
        code += "  </g>\n"
    clouds = 0 if night else rng.randint(0, 3)
    for _ in range(clouds):
        cx, cy = rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.3) * h
        code += '  <g fill="#ffffff" opacity="0.9">\n' + element("ellipse", 2, cx=round(cx), cy=round(cy), rx=30, ry=12)
        code += element("ellipse", 2, cx=round(cx + 18), cy=round(cy - 8), rx=18, ry=12) + "  </g>\n"
    code += "</svg>\n"
    time = "night" if night else "day"
    return code, f"Landscape illustration at {time} with {peaks} mountains, {trees} trees and {clouds} clouds"


def logo(rng: random.Random) -> tuple[str, str]:
    name = words.brand(rng)
    w, h = rng.choice(((320, 100), (360, 120), (280, 90)))
    stops = rng.choice(_GRADIENTS)
    font = rng.choice(_FONTS)
    mark = rng.choice(("rounded square", "circle", "hexagon", "diamond"))
    m = h * 0.7
    x0, y0 = h * 0.15, h * 0.15
    code = f'<svg xmlns="{NS}" width="{w}" height="{h}" viewBox="0 0 {w} {h}">\n  <defs>\n'
    code += _gradient(rng, "brand", stops) + "  </defs>\n"
    backdrop = rng.choice((None, None, "#ffffff", "#f3f4f6", "#111827"))
    if backdrop:
        code += f'  <rect width="{w}" height="{h}" fill="{backdrop}"/>\n'
    cx, cy = x0 + m / 2, y0 + m / 2
    code += '  <g id="mark">\n'
    if mark == "rounded square":
        code += element(
            "rect",
            2,
            x=round(x0),
            y=round(y0),
            width=round(m),
            height=round(m),
            rx=round(m * 0.22),
            fill="url(#brand)",
        )
    elif mark == "circle":
        code += f'    <circle cx="{cx:.0f}" cy="{cy:.0f}" r="{m / 2:.0f}" fill="url(#brand)"/>\n'
    else:
        sides = [m / 2] * (6 if mark == "hexagon" else 4)
        code += f'    <polygon points="{polygon_points(cx, cy, sides)}" fill="url(#brand)"/>\n'
    code += f'    <text x="{cx:.0f}" y="{cy + m * 0.17:.0f}" font-family="{font}" font-size="{m * 0.5:.0f}"'
    code += f' font-weight="bold" fill="#ffffff" text-anchor="middle">{name[0]}</text>\n  </g>\n'
    text_color = "#f9fafb" if backdrop == "#111827" else rng.choice(("#111827", "#374151", "#1e3a8a"))
    tx = x0 + m + h * 0.18
    size = min(h * 0.34, (w - tx - 10) / (0.62 * len(name)))
    code += f'  <text x="{tx:.0f}" y="{h * 0.58:.0f}" font-family="{font}" font-size="{size:.0f}"'
    code += f' font-weight="600" fill="{text_color}">{name}</text>\n'
    tagline = ""
    if rng.random() < 0.5:
        tagline = rng.choice(("Build better", "Since 2012", "Simply reliable", "Made for teams"))
        code += f'  <text x="{tx:.0f}" y="{h * 0.82:.0f}" font-family="{font}" font-size="{h * 0.13:.0f}"'
        code += f' fill="#6b7280">{tagline}</text>\n'
    code += "</svg>\n"
    extra = f' and the tagline "{tagline}"' if tagline else ""
    return (
        code,
        f'Logo for "{name}": a gradient {mark} with the initial {name[0]} next to the wordmark{extra}',
    )
