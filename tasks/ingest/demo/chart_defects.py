"""Deliberate, realistic defects injected into some chart scripts for the repair stage.

Each defect is a function ``(rng, code) -> code | None``; ``None`` means it does not
apply to this script (for example there is no indented block to spoil).
"""

from __future__ import annotations

import random
from collections.abc import Callable

DEFECT_RATE = 0.2

_PROSE = (
    "Here is the Python code that reproduces the chart:",
    "Sure! Below is a matplotlib script that draws this figure.",
    "The following code generates the plot shown in the image.",
    "You can recreate the visualization with this script:",
    "This is how the chart can be drawn with matplotlib and numpy.",
)
_AFTERWORD = (
    "",
    "\nRun it with Python 3 and the image will be written next to the script.\n",
    "\nAdjust the colours or the figure size to taste.\n",
)
_PRINTS = (
    'print "Chart saved"',
    'print "Plotting data..."',
    'print "done"',
    'print "Saving figure to output.png"',
)
_STYLES = ("seaborn", "seaborn", "seaborn-whitegrid", "seaborn-darkgrid")


def _import_end(lines: list[str]) -> int:
    """Index of the first line after the leading import block."""
    i = 0
    while i < len(lines) and (lines[i].startswith(("import ", "from ", "#")) or not lines[i].strip()):
        i += 1
    return i


def missing_import(rng: random.Random, code: str) -> str | None:
    marker = "import numpy as np\n"
    if marker not in code or "np." not in code.replace(marker, ""):
        return None
    return code.replace(marker, "", 1)


def markdown_fence(rng: random.Random, code: str) -> str | None:
    return f"{rng.choice(_PROSE)}\n\n```python\n{code}```\n{rng.choice(_AFTERWORD)}"


def py2_print(rng: random.Random, code: str) -> str | None:
    lines = code.splitlines()
    statement = rng.choice(_PRINTS)
    if rng.random() < 0.5:
        lines.append(statement)
    else:
        lines.insert(_import_end(lines), statement)
    return "\n".join(lines) + "\n"


def deprecated_style(rng: random.Random, code: str) -> str | None:
    lines = code.splitlines()
    end = _import_end(lines)
    while end > 0 and not lines[end - 1].strip():
        end -= 1
    lines.insert(end, f"plt.style.use('{rng.choice(_STYLES)}')")
    return "\n".join(lines) + "\n"


def tabs_mixed(rng: random.Random, code: str) -> str | None:
    """Re-indent the later lines of one block with tabs while its first line keeps spaces."""
    lines = code.splitlines()
    blocks = []
    for i, header in enumerate(lines[:-2]):
        if not header.rstrip().endswith(":"):
            continue
        body = lines[i + 1]
        indent = body[: len(body) - len(body.lstrip(" "))]
        head_indent = len(header) - len(header.lstrip(" "))
        follower = lines[i + 2]
        if len(indent) <= head_indent or not follower.startswith(indent):
            continue
        if follower[len(indent) : len(indent) + 1] in ("", " "):
            continue
        blocks.append((i + 2, indent))
    if not blocks:
        return None
    start, indent = rng.choice(blocks)
    j = start
    while j < len(lines) and lines[j].startswith(indent) and lines[j][len(indent) : len(indent) + 1] != " ":
        lines[j] = "\t" * (len(indent) // 4) + lines[j][len(indent) :]
        j += 1
    return "\n".join(lines) + "\n"


def _cut_points(line: str) -> list[int]:
    """Positions inside an open bracket (outside strings) right after '(' or ', '."""
    points, depth, quote = [], 0, ""
    for pos, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = ""
            continue
        if ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
            if ch == "(":
                points.append(pos + 1)
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth > 0:
            points.append(pos + 1)
    return points


def truncated(rng: random.Random, code: str) -> str | None:
    """Cut the script off inside a call near the end, leaving a bracket unclosed."""
    lines = code.splitlines()
    first = max(1, int(len(lines) * 0.6))
    candidates = [(i, p) for i in range(first, len(lines)) for p in _cut_points(lines[i])]
    if not candidates:
        return None
    i, pos = rng.choice(candidates)
    return "\n".join([*lines[:i], lines[i][:pos].rstrip()]) + "\n"


DEFECTS: dict[str, Callable[[random.Random, str], str | None]] = {
    "missing_import": missing_import,
    "markdown_fence": markdown_fence,
    "py2_print": py2_print,
    "deprecated_style": deprecated_style,
    "tabs_mixed": tabs_mixed,
    "truncated": truncated,
}


def maybe_spoil(rng: random.Random, code: str) -> tuple[str, tuple[str, ...]]:
    """With probability DEFECT_RATE, inject one applicable defect; return (code, flaws)."""
    if rng.random() >= DEFECT_RATE:
        return code, ()
    names = list(DEFECTS)
    rng.shuffle(names)
    for name in names:
        spoiled = DEFECTS[name](rng, code)
        if spoiled is not None and spoiled != code:
            return spoiled, (name,)
    return code, ()
