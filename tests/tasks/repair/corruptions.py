"""Seeded corruptions of CLEAN chart scripts, one per kind of damage the repair step claims to fix.

Each corruption is ``(rng, code) -> str | None`` (None: does not apply to this script) and ``CORRUPTIONS`` maps
its name to ``(function, fixes expected to fire, breaks_parse)``. They imitate what Chart2Code-style corpora
contain: LLM answers with fences and prose, Python 2 scripts, editors that mixed tabs in, answers cut off at the
token limit, snippets whose imports were lost, code written for matplotlib 2.x / numpy 1.x, and ``plt.show()``.
"""

from __future__ import annotations

import ast
import random
import re
from collections.abc import Callable

from tasks.repair.modernize import KEYWORD_RENAMES

Corruption = Callable[[random.Random, str], str | None]

_PROSE = [
    "Sure! Here is the Python code that reproduces the chart:",
    "Below is a matplotlib script which draws the figure you described.",
    "I reproduced the plot with the following code:",
]
_AFTER = ["Hope it helps!", "Let me know if you want different colours.", "The figure is saved as a PDF file."]


def _top_level_starts(code: str) -> list[int]:
    """0-based line numbers where a top-level statement starts (places where a new statement can go)."""
    return [node.lineno - 1 for node in ast.parse(code).body if not getattr(node, "decorator_list", None)]


def _insert(code: str, at: int, text: str) -> str:
    lines = code.splitlines(keepends=True)
    return "".join([*lines[:at], text, *lines[at:]])


def fence_prose(rng: random.Random, code: str) -> str:
    """Wrap in a markdown fence (```python / ```py / ```python3 / bare ```) between prose lines."""
    tag = rng.choice(["python", "py", "python3", ""])
    return f"{rng.choice(_PROSE)}\n\n```{tag}\n{code}```\n\n{rng.choice(_AFTER)}\n"


def fence_two_blocks(rng: random.Random, code: str) -> str:
    """An answer with a shell block (pip install) and the script's block; only the script must survive."""
    shell = "First install the dependencies:\n```bash\npip install matplotlib numpy\n```\n"
    return f"{shell}Then run:\n```python\n{code}```\n"


def fence_unterminated(rng: random.Random, code: str) -> str:
    """A fenced answer whose closing fence never came (the answer hit its length limit after the code)."""
    return f"{rng.choice(_PROSE)}\n```python\n{code}"


def prose_no_fence(rng: random.Random, code: str) -> str:
    """Prose before and after the code, no fences at all."""
    return f"{rng.choice(_PROSE)}\n\n{code}\n{rng.choice(_AFTER)}\n"


def py2_prints(rng: random.Random, code: str) -> str:
    """Insert Python 2 print statements of every form at top-level statement boundaries."""
    forms = [
        'print "Plotting data..."',
        'print "points:", 42',
        'print "progress",',
        'print >>sys.stderr, "saving figure"',
        'print "%d%% done" % 50',
        "print",
    ]
    starts = _top_level_starts(code)
    for form in sorted(rng.sample(forms, 3), key=forms.index):
        code = _insert(code, rng.choice(starts[1:] or starts), form + "\n")
        starts = _top_level_starts_safe(code)
    return code


def _top_level_starts_safe(code: str) -> list[int]:
    """Statement starts of code that may no longer parse: lines at column 0 that begin a simple statement."""
    return [i for i, line in enumerate(code.splitlines()) if re.match(r"[A-Za-z_]\w*(\.\w+)*\s*(=|\()", line)]


def _indented_statements(code: str, min_indent: int) -> list[int]:
    """0-based lines starting a statement that is indented ≥ min_indent and is not the first of its block."""
    rows = []
    for node in ast.walk(ast.parse(code)):
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if isinstance(block, list) and len(block) > 1 and isinstance(block[0], ast.stmt):
                rows += [s.lineno - 1 for s in block[1:] if s.col_offset >= min_indent and s.lineno != block[0].lineno]
    return sorted(set(rows))


def tabs_editor4(rng: random.Random, code: str) -> str | None:
    """An editor with tab width 4 re-indented some lines of a block with tabs (4 spaces → one tab)."""
    return _tabify(rng, code, 4)


def tabs_python2(rng: random.Random, code: str) -> str | None:
    """Python 2 style: 8 leading spaces became one tab on some lines (TabError in Python 3)."""
    return _tabify(rng, code, 8)


def _tabify(rng: random.Random, code: str, width: int) -> str | None:
    rows = _indented_statements(code, width)
    if not rows:
        return None
    lines = code.splitlines(keepends=True)
    for row in rng.sample(rows, min(3, len(rows))):
        line = lines[row]
        lead = len(line) - len(line.lstrip(" "))
        lines[row] = "\t" * (lead // width) + " " * (lead % width) + line.lstrip(" ")
    out = "".join(lines)
    return out if out != code else None


def truncate(rng: random.Random, code: str) -> str | None:
    """Cut the script at a random character in its last 40% (mid-call, mid-string, mid-name, after a ':')."""
    lines = code.splitlines(keepends=True)
    first = int(len(lines) * 0.6)
    offset = sum(len(line) for line in lines[:first])
    tail = code[offset:].rstrip()
    if len(tail) < 10:
        return None
    return code[: offset + rng.randrange(1, len(tail))]


def truncate_after_header(rng: random.Random, code: str) -> str | None:
    """Cut right after a block header (``for ...:`` / ``def ...:``) so the block has no body."""
    lines = code.splitlines(keepends=True)
    headers = [i for i, line in enumerate(lines) if re.match(r"\s*(for|def|if|with|while)\b.*:\s*$", line)]
    if not headers:
        return None
    return "".join(lines[: rng.choice(headers) + 1])


def drop_imports(rng: random.Random, code: str) -> str | None:
    """Remove the numpy / pyplot (and other table) imports, as when a snippet was copied without its header."""
    pattern = re.compile(
        r"^(import numpy as np|import matplotlib\.pyplot as plt|import matplotlib\.patches as mpatches|"
        r"import matplotlib\.colors as mcolors|from matplotlib\.lines import Line2D)[ \t]*\n",
        re.M,
    )
    victims = pattern.findall(code)
    if not victims:
        return None
    keep = set(rng.sample(victims, rng.randrange(len(victims)))) if len(victims) > 1 else set()
    return pattern.sub(lambda m: m.group(0) if m.group(1) in keep else "", code)


def old_seaborn_style(rng: random.Random, code: str) -> str | None:
    """Add a pre-matplotlib-3.6 seaborn style (``plt.style.use("seaborn-whitegrid")``) after the imports."""
    if "import matplotlib.pyplot as plt" not in code:
        return None
    style = rng.choice(["seaborn", "seaborn-whitegrid", "seaborn-darkgrid", "seaborn-pastel", "seaborn-ticks"])
    at = max(i for i, line in enumerate(code.splitlines()) if line.startswith(("import ", "from "))) + 1
    return _insert(code, at, f'plt.style.use("{style}")\n')


def old_matplotlib_api(rng: random.Random, code: str) -> str | None:
    """Spell calls the matplotlib 2.x way: ``grid(b=)``, ``hist(normed=)``, ``boxplot(labels=)``, ``cm.get_cmap``.

    Keywords in the script are renamed back to their old names; scripts with none of those calls get an
    old-style boxplot appended instead.
    """
    back = {(call, new): old for (call, old), new in KEYWORD_RENAMES.items()}
    edits = []
    lines = code.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            for kw in node.keywords:
                old = back.get((node.func.attr, kw.arg or ""))
                if old:
                    pos = starts[kw.lineno - 1] + len(lines[kw.lineno - 1].encode()[: kw.col_offset].decode())
                    edits.append((pos, pos + len(kw.arg), old))
    for pos, end, text in sorted(edits, reverse=True):
        code = code[:pos] + text + code[end:]
    code, n = re.subn(r"\bplt\.get_cmap\(", "plt.cm.get_cmap(", code)
    if edits or n:
        return code
    if "import matplotlib.pyplot as plt" not in code:
        return None
    return code + '\nfig_old, ax_old = plt.subplots()\nax_old.boxplot([[1, 2, 3], [2, 3, 5]], labels=["a", "b"])\n'


def grid_b(rng: random.Random, code: str) -> str | None:
    """``ax.grid(True)`` → ``ax.grid(b=True)`` (the keyword matplotlib renamed to ``visible``)."""
    out, n = re.subn(r"\.grid\((True|False)", r".grid(b=\1", code)
    return out if n else None


def numpy_removed(rng: random.Random, code: str) -> str | None:
    """numpy 1.x spellings removed since: ``np.Inf``, ``np.NaN``, ``np.product``, ``np.float`` ..."""
    swaps = [
        (r"\bnp\.inf\b", "np.Inf"),
        (r"\bnp\.nan\b", "np.NaN"),
        (r"\bnp\.prod\(", "np.product("),
        (r"\bnp\.cumprod\(", "np.cumproduct("),
        (r"\bnp\.vstack\(", "np.row_stack("),
        (r"\bdtype=float\b", "dtype=np.float"),
        (r"\bnp\.float64\(", "np.float_("),
    ]
    total = 0
    for pattern, new in swaps:
        code, n = re.subn(pattern, new, code)
        total += n
    if total:
        return code
    if "import numpy as np" not in code:
        return None
    return code + "\nscale_old = np.float(1.0) * np.Inf / np.Inf\n"


def show_left(rng: random.Random, code: str) -> str | None:
    """A ``plt.show()`` at the end, sometimes inside ``if __name__ == "__main__":`` (whose body then empties)."""
    if "import matplotlib.pyplot as plt" not in code:
        return None
    code = code.rstrip("\n") + "\n"
    if rng.random() < 0.5:
        return code + "plt.show()\n"
    return code + '\nif __name__ == "__main__":\n    plt.show()\n'


def notebook_semicolons(rng: random.Random, code: str) -> str | None:
    """Trailing semicolons on call statements, a notebook habit."""
    out, n = re.subn(r"^(plt\.\w+\(.*\))$", r"\1;", code, flags=re.M)
    return out if n else None


CORRUPTIONS: dict[str, tuple[Corruption, tuple[str, ...], bool]] = {
    "fence_prose": (fence_prose, ("strip_fences",), True),
    "fence_two_blocks": (fence_two_blocks, ("strip_fences",), True),
    "fence_unterminated": (fence_unterminated, ("strip_fences",), True),
    "prose_no_fence": (prose_no_fence, ("strip_fences",), True),
    "py2_prints": (py2_prints, ("py2_print",), True),
    "tabs_editor4": (tabs_editor4, ("mixed_tabs",), True),
    "tabs_python2": (tabs_python2, ("mixed_tabs",), True),
    "truncate": (truncate, (), True),  # may cut at a statement boundary: truncated_tail fires only when needed
    "truncate_after_header": (truncate_after_header, ("truncated_tail",), True),
    "drop_imports": (drop_imports, ("missing_imports",), False),
    "old_seaborn_style": (old_seaborn_style, ("deprecated_matplotlib",), False),
    "old_matplotlib_api": (old_matplotlib_api, ("deprecated_matplotlib",), False),
    "grid_b": (grid_b, ("deprecated_matplotlib",), False),
    "numpy_removed": (numpy_removed, (), False),  # ruff:NPY001 and/or ruff:NPY201, depending on the swap
    "show_left": (show_left, ("drop_show",), False),
    "notebook_semicolons": (notebook_semicolons, ("ruff:E703",), False),
}


def corrupt_all(scripts: dict[str, str], seed: int = 0) -> list[tuple[str, str, str]]:
    """Every applicable corruption of every script: (script name, corruption name, corrupted code)."""
    out = []
    for name in sorted(scripts):
        for kind, (function, _fixes, _breaks) in CORRUPTIONS.items():
            rng = random.Random(f"{seed}:{name}:{kind}")
            corrupted = function(rng, scripts[name])
            if corrupted is not None and corrupted != scripts[name]:
                out.append((name, kind, corrupted))
    return out
