"""API-level fixers for chart code that parses but no longer runs: each is ``name(code) -> str | None``.

* ``missing_imports``: names that are used but never bound and that chart code always means the same way
  (``np``, ``plt``, ``Line2D`` ...) get their import from ``IMPORT_TABLE``. The batch pipeline passes Ruff's F821
  (undefined-name) diagnostics; called alone, a small AST scan stands in. Imports go before the first statement
  after the module docstring and ``from __future__`` imports, so they run before any use.
* ``deprecated_matplotlib``: calls that old matplotlib (and numpy) accepted and the installed versions reject:
  pre-3.6 seaborn style names, ``boxplot(labels=)``, ``cm.get_cmap``, ``grid(b=)``, ``hist(normed=)``,
  ``axisbg=``, ``set_axis_bgcolor``, ``w_xaxis``, ``gca(projection=)``, ``hold()``. The rewrites are AST-located
  and spliced into the text, so comments and layout survive and string contents are never matched by accident.
* ``drop_show``: statement-level ``plt.show()`` / ``fig.show()`` calls are removed (the renderer captures figures
  itself, and ``show`` can block or discard them); a block left empty gets ``pass``.

All three need code that parses and return None otherwise.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Callable, Iterable

from tasks.repair.syntax import Source, apply_edits, parse

IMPORT_TABLE: dict[str, str] = {
    # name used in chart code -> the import chart code means by it (in insertion order)
    "np": "import numpy as np",
    "pd": "import pandas as pd",
    "mpl": "import matplotlib as mpl",
    "matplotlib": "import matplotlib",
    "plt": "import matplotlib.pyplot as plt",
    "sns": "import seaborn as sns",
    "mpatches": "import matplotlib.patches as mpatches",
    "patches": "import matplotlib.patches as patches",
    "mcolors": "import matplotlib.colors as mcolors",
    "mticker": "import matplotlib.ticker as mticker",
    "ticker": "import matplotlib.ticker as ticker",
    "mdates": "import matplotlib.dates as mdates",
    "mlines": "import matplotlib.lines as mlines",
    "gridspec": "import matplotlib.gridspec as gridspec",
    "cm": "from matplotlib import cm",
    "GridSpec": "from matplotlib.gridspec import GridSpec",
    "Line2D": "from matplotlib.lines import Line2D",
    "Rectangle": "from matplotlib.patches import Rectangle",
    "Circle": "from matplotlib.patches import Circle",
    "Ellipse": "from matplotlib.patches import Ellipse",
    "Polygon": "from matplotlib.patches import Polygon",
    "Patch": "from matplotlib.patches import Patch",
    "Wedge": "from matplotlib.patches import Wedge",
    "FancyBboxPatch": "from matplotlib.patches import FancyBboxPatch",
    "LinearSegmentedColormap": "from matplotlib.colors import LinearSegmentedColormap",
    "ListedColormap": "from matplotlib.colors import ListedColormap",
    "Normalize": "from matplotlib.colors import Normalize",
    "MaxNLocator": "from matplotlib.ticker import MaxNLocator",
    "MultipleLocator": "from matplotlib.ticker import MultipleLocator",
    "FuncFormatter": "from matplotlib.ticker import FuncFormatter",
    "PercentFormatter": "from matplotlib.ticker import PercentFormatter",
    "Axes3D": "from mpl_toolkits.mplot3d import Axes3D",
    "make_axes_locatable": "from mpl_toolkits.axes_grid1 import make_axes_locatable",
    "stats": "from scipy import stats",
    "gaussian_kde": "from scipy.stats import gaussian_kde",
    "squarify": "import squarify",
    "nx": "import networkx as nx",
    "math": "import math",
    "random": "import random",
    "os": "import os",
    "sys": "import sys",
    "colorsys": "import colorsys",
    "defaultdict": "from collections import defaultdict",
    "Counter": "from collections import Counter",
}

#: pre-3.6 seaborn style names -> the names matplotlib kept them under (``seaborn-v0_8*``)
SEABORN_STYLES: dict[str, str] = {
    f"seaborn{suffix}": f"seaborn-v0_8{suffix}"
    for suffix in ("", "-bright", "-colorblind", "-dark", "-dark-palette", "-darkgrid", "-deep", "-muted")
    + ("-notebook", "-paper", "-pastel", "-poster", "-talk", "-ticks", "-white", "-whitegrid")
}
#: (called attribute or function name, removed keyword) -> the keyword's current name
KEYWORD_RENAMES: dict[tuple[str, str], str] = {
    ("boxplot", "labels"): "tick_labels",  # renamed in matplotlib 3.9, old name removed in 3.11
    ("grid", "b"): "visible",  # renamed in 3.5
    ("hist", "normed"): "density",  # removed in 3.1
    ("hist2d", "normed"): "density",
    ("histogram", "normed"): "density",  # numpy.histogram, removed in numpy 1.24
    ("histogram2d", "normed"): "density",
    ("histogramdd", "normed"): "density",
    **{(f, "axisbg"): "facecolor" for f in ("subplot", "add_subplot", "axes", "add_axes", "subplot2grid")},
}
#: removed methods / attributes -> their replacements (same receiver)
ATTRIBUTE_RENAMES: dict[str, str] = {
    "set_axis_bgcolor": "set_facecolor",  # removed in 2.2
    "get_axis_bgcolor": "get_facecolor",
    "w_xaxis": "xaxis",  # removed in 3.8
    "w_yaxis": "yaxis",
    "w_zaxis": "zaxis",
}
_STYLE_OWNER = re.compile(r"(^|\.)style$")
# Cheap text test before parsing: every rewrite below needs one of these in the text.
_WORDS = ("seaborn", "boxplot", "get_cmap", "normed", "axisbg", "_axis_bgcolor", "w_xaxis", "w_yaxis", "w_zaxis")
_PATTERN = re.compile(r"\bgrid\s*\([^)]*\bb\s*=|\bgca\s*\(\s*\w|\bhold\s*\(")


def _may_apply(code: str) -> bool:
    return any(word in code for word in _WORDS) or _PATTERN.search(code) is not None


def dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = dotted(node.value)
        return f"{head}.{node.attr}" if head else None
    return None


def _aliases(tree: ast.Module, *modules: str) -> dict[str, set[str]]:
    """For each module, the names (or dotted names) imports bind to it anywhere in the tree."""
    found: dict[str, set[str]] = {module: set() for module in modules}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in found:
                    found[alias.name].add(alias.asname or alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                if f"{node.module}.{alias.name}" in found:
                    found[f"{node.module}.{alias.name}"].add(alias.asname or alias.name)
    return found


def _insertion_line(tree: ast.Module | None, code: str) -> int:
    """0-based line before which new imports go: after docstring and __future__ imports, before everything else."""
    if tree is None:
        lines = code.splitlines()
        return next((i for i, line in enumerate(lines) if line.startswith(("import ", "from "))), 0)
    body = list(tree.body)
    previous = 0
    while body and (
        (isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and previous == 0)
        or (isinstance(body[0], ast.ImportFrom) and body[0].module == "__future__")
    ):
        previous = body.pop(0).end_lineno or 0
    if not body:
        return previous
    first = body[0]
    start = min([first.lineno, *(d.lineno for d in getattr(first, "decorator_list", []))])
    return start - 1 if start > previous else previous


def add_imports(code: str, statements: Iterable[str], tree: ast.Module | None = None) -> str:
    lines = code.splitlines(keepends=True)
    at = _insertion_line(tree if tree is not None else parse(code), code)
    if at > 0 and not lines[at - 1].endswith("\n"):
        lines[at - 1] += "\n"
    return "".join([*lines[:at], *(f"{s}\n" for s in statements), *lines[at:]])


def unbound_names(tree: ast.Module) -> set[str]:
    """Names loaded but bound nowhere (a rough F821 for use without Ruff); empty when a star import hides them."""
    bound, used = set(dir(builtins)) | {"__file__", "__name__"}, set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (used if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.alias):
            if node.name == "*":
                return set()
            bound.add(node.asname or node.name.split(".")[0])
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            bound.update(node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return used - bound


def missing_imports(code: str, undefined: Iterable[str] | None = None) -> str | None:
    """Add the standard import for each undefined name found in IMPORT_TABLE."""
    tree = parse(code)
    if undefined is None:
        if tree is None:
            return None
        undefined = unbound_names(tree)
    names = set(undefined)
    wanted = [statement for name, statement in IMPORT_TABLE.items() if name in names]
    return add_imports(code, wanted, tree) if wanted else None


def _keyword_edits(src: Source, call: ast.Call, name: str) -> list[tuple[int, int, str]]:
    present = {k.arg for k in call.keywords}
    edits = []
    for keyword in call.keywords:
        new = KEYWORD_RENAMES.get((name, keyword.arg or ""))
        if new and new not in present:
            start = src.ast_offset(keyword.lineno, keyword.col_offset)
            edits.append((start, start + len(keyword.arg or ""), new))
    return edits


def _style_edits(src: Source, call: ast.Call) -> list[tuple[int, int, str]]:
    values = [*call.args[:1], *(k.value for k in call.keywords if k.arg == "style")]
    literals = [e for v in values for e in (v.elts if isinstance(v, (ast.List, ast.Tuple)) else [v])]
    edits = []
    for node in literals:
        if isinstance(node, ast.Constant) and node.value in SEABORN_STYLES:
            start, end = src.span(node)
            text = src.code[start:end]
            if node.value in text:
                edits.append((start, end, text.replace(node.value, SEABORN_STYLES[node.value], 1)))
    return edits


def deprecated_matplotlib(code: str) -> str | None:
    """Rewrite calls removed from matplotlib/numpy into their current spelling."""
    if not _may_apply(code):
        return None
    tree = parse(code)
    if tree is None:
        return None
    src = Source(code)
    aliases = _aliases(tree, "matplotlib.pyplot", "numpy", "matplotlib.cm")
    pyplot, numpy = sorted(aliases["matplotlib.pyplot"]), aliases["numpy"]
    colormap_owners = aliases["matplotlib.cm"] | {"cm", "matplotlib.cm", "mpl.cm", *(f"{p}.cm" for p in pyplot)}
    edits: list[tuple[int, int, str]] = []
    needs_pyplot = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ATTRIBUTE_RENAMES:
            end = src.ast_offset(node.end_lineno, node.end_col_offset)
            edits.append((end - len(node.attr), end, ATTRIBUTE_RENAMES[node.attr]))
        if not isinstance(node, ast.Call):
            continue
        func, owner = node.func, None
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if isinstance(func, ast.Attribute):
            owner = dotted(func.value)
        if name in ("histogram", "histogram2d", "histogramdd") and owner not in numpy:
            continue
        if name is not None and owner not in ("sns", "seaborn"):
            edits += _keyword_edits(src, node, name)
        if name in ("use", "context") and owner and _STYLE_OWNER.search(owner):
            edits += _style_edits(src, node)
        elif name == "get_cmap" and owner in colormap_owners:
            needs_pyplot = not pyplot
            edits.append((*src.span(func), f"{pyplot[0] if pyplot else 'plt'}.get_cmap"))
        elif name == "gca" and isinstance(func, ast.Attribute) and node.keywords:
            end = src.ast_offset(func.end_lineno, func.end_col_offset)
            edits.append((end - 3, end, "subplot" if owner in pyplot else "add_subplot"))
    code_out = apply_edits(code, edits) if edits else code
    if re.search(r"\bhold\s*\(", code_out):
        code_out = _remove_statements(code_out, lambda call, name: name == "hold") or code_out
    if needs_pyplot and code_out != code:
        code_out = add_imports(code_out, ["import matplotlib.pyplot as plt"])
    return code_out if code_out != code else None


def _statement_call(stmt: ast.stmt) -> tuple[ast.Call, str] | None:
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        func = stmt.value.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, (ast.Name, ast.Attribute)):
            return stmt.value, func.attr
        if isinstance(func, ast.Name):
            return stmt.value, func.id
    return None


def _alone_on_lines(src: Source, stmt: ast.stmt) -> bool:
    start, end = src.span(stmt)
    line_start = src.starts[stmt.lineno - 1]
    rest = src.lines[stmt.end_lineno - 1][end - src.starts[stmt.end_lineno - 1] :]  # type: ignore[operator]
    return not src.code[line_start:start].strip() and re.fullmatch(r"\s*;?\s*(#.*)?\s*", rest) is not None


def _remove_statements(code: str, predicate: Callable[[ast.Call, str], bool]) -> str | None:
    """Remove expression statements whose call matches; a body left empty keeps one ``pass``."""
    tree = parse(code)
    if tree is None:
        return None
    src, edits = Source(code), []
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            stmts = getattr(node, field, None)
            if not isinstance(stmts, list) or not stmts or not isinstance(stmts[0], ast.stmt):
                continue
            doomed = [i for i, s in enumerate(stmts) if (c := _statement_call(s)) and predicate(*c)]
            keep_one = len(doomed) == len(stmts) and not isinstance(node, ast.Module)
            for n, i in enumerate(doomed):
                stmt = stmts[i]
                start, end = src.span(stmt)
                if keep_one and n == 0:
                    edits.append((start, end, "pass"))
                elif _alone_on_lines(src, stmt):
                    edits.append((src.starts[stmt.lineno - 1], src.starts[stmt.end_lineno], ""))  # type: ignore[index]
                elif i > 0 and stmts[i - 1].end_lineno == stmt.lineno:
                    edits.append((src.span(stmts[i - 1])[1], end, ""))
                elif i + 1 < len(stmts) and stmts[i + 1].lineno == stmt.end_lineno:
                    edits.append((start, src.span(stmts[i + 1])[0], ""))
                else:
                    edits.append((start, end, "pass"))
    return apply_edits(code, edits) if edits else None


def drop_show(code: str) -> str | None:
    """Remove statement-level ``<x>.show()`` / ``show()`` calls."""
    if not re.search(r"\bshow\s*\(", code):
        return None
    return _remove_statements(code, lambda call, name: name == "show")
