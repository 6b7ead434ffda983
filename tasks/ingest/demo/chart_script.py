"""Building blocks shared by the matplotlib chart generators.

A chart generator takes a seeded ``random.Random`` and returns ``(code, title)``;
the pieces here write the recurring parts of such a script: imports, figure
creation, literal data, styling and the ending (save, show or nothing).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from . import words

FIGSIZES = ((6, 4), (7, 4), (7, 5), (8, 5), (8, 6), (9, 5), (10, 6), (6, 6), (10, 5))
LEGEND_LOCS = ("best", "upper left", "upper right", "lower right", "lower left", "center left")
MARKERS = ("o", "s", "^", "D", "v", "*", "x", "P")
LINESTYLES = ("-", "--", "-.", ":")


def number_list(values: Sequence[float], decimals: int = 1) -> str:
    """Python list literal of numbers, e.g. ``[1.5, 2.0, 3.25]``."""
    if decimals <= 0:
        return "[" + ", ".join(str(round(v)) for v in values) + "]"
    return "[" + ", ".join(f"{v:.{decimals}f}" for v in values) + "]"


def string_list(items: Sequence[str]) -> str:
    return "[" + ", ".join(f'"{s}"' for s in items) + "]"


def walk(rng: random.Random, count: int, low: float, high: float) -> list[float]:
    """A smooth-ish random series that stays inside [low, high]."""
    span = high - low
    value = rng.uniform(low + 0.2 * span, high - 0.2 * span)
    drift = rng.uniform(-0.04, 0.04) * span
    out = []
    for _ in range(count):
        value += drift + rng.gauss(0, 0.08 * span)
        value = min(high, max(low, value))
        out.append(value)
    return out


def levels(rng: random.Random, count: int, low: float, high: float) -> list[float]:
    """Independent values in [low, high]."""
    return [rng.uniform(low, high) for _ in range(count)]


def decimals_for(high: float) -> int:
    return 0 if high >= 200 else 1


def palette(rng: random.Random, count: int) -> list[str]:
    """`count` distinct colours, hex or named (one style per chart)."""
    pool = words.HEX_COLORS if rng.random() < 0.75 else words.NAMED_COLORS
    return rng.sample(pool, min(count, len(pool)))


def metric(rng: random.Random) -> tuple[str, str, float, float]:
    return rng.choice(words.METRICS)


def categories(rng: random.Random, count: int, topic: str | None = None) -> tuple[str, list[str]]:
    """A category family name and `count` labels drawn from it (a family that suits metric `topic`)."""
    families = words.METRIC_SUBJECTS[topic] if topic else sorted(words.CATEGORY_SETS)
    family = rng.choice(families)
    pool = words.CATEGORY_SETS[family]
    return family, words.pick(rng, pool, count)


def imports(rng: random.Random, pandas: bool = False) -> str:
    lines = ["import matplotlib.pyplot as plt", "import numpy as np"]
    if pandas:
        lines.append("import pandas as pd")
    if rng.random() < 0.15:
        lines.insert(0, "# -*- coding: utf-8 -*-")
    return "\n".join(lines) + "\n"


def figure(rng: random.Random, size: tuple[int, int] | None = None, extra: str = "") -> str:
    w, h = size or rng.choice(FIGSIZES)
    return f"fig, ax = plt.subplots(figsize=({w}, {h}){extra})\n"


def grid(rng: random.Random, target: str = "ax", axis: str | None = None) -> str:
    """An optional grid line (empty string about a third of the time)."""
    roll = rng.random()
    if roll < 0.33:
        return ""
    style = rng.choice(('linestyle="--", alpha=0.5', "alpha=0.3", 'linestyle=":", linewidth=0.8'))
    which = f'axis="{axis}", ' if axis else ""
    return f"{target}.grid(True, {which}{style})\n"


def despine(rng: random.Random, target: str = "ax") -> str:
    if rng.random() < 0.35:
        return f'{target}.spines["top"].set_visible(False)\n{target}.spines["right"].set_visible(False)\n'
    return ""


def legend(rng: random.Random, target: str = "ax") -> str:
    loc = rng.choice(LEGEND_LOCS)
    extra = rng.choice(("", ", frameon=False", ", fontsize=9", ", framealpha=0.9", ", shadow=True"))
    return f'{target}.legend(loc="{loc}"{extra})\n'


def title_line(rng: random.Random, title: str, target: str = "ax") -> str:
    extra = rng.choice(("", ", fontsize=14", ', fontsize=13, fontweight="bold"', ", pad=12"))
    return f'{target}.set_title("{title}"{extra})\n'


def ending(rng: random.Random) -> str:
    """Layout and output: mostly savefig, sometimes show, sometimes nothing."""
    roll = rng.random()
    layout = "plt.tight_layout()\n" if rng.random() < 0.9 else ""
    if roll < 0.72:
        dpi = 100 if rng.random() < 0.8 else rng.choice((80, 120, 150))
        return f'{layout}plt.savefig("output.png", dpi={dpi})\n'
    if roll < 0.87:
        return f"{layout}plt.show()\n"
    return layout


def capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def plural(noun: str) -> str:
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def x_axis(rng: random.Random, count: int) -> tuple[str, str, list[str]]:
    """A time-like x axis: (variable name, axis label, tick labels)."""
    kind = rng.choice(("month", "year", "quarter", "weekday"))
    if kind == "month" or (kind == "quarter" and count > 4) or (kind == "weekday" and count > 7):
        start = rng.randrange(0, 12 - min(count, 12) + 1)
        return "months", "Month", list(words.MONTHS[start : start + count])
    if kind == "year":
        start = rng.randint(2005, 2024 - count)
        return "years", "Year", [str(y) for y in range(start, start + count)]
    if kind == "quarter":
        return "quarters", "Quarter", list(words.QUARTERS[:count])
    return "days", "Day", list(words.WEEKDAYS[:count])
