"""LaTeX tables as complete standalone documents (tabular, optionally booktabs)."""

from __future__ import annotations

import random

from . import words

_LAYOUTS = ("results", "sales", "schedule", "measurements")


def _rules(booktabs: bool) -> tuple[str, str, str]:
    if booktabs:
        return "\\toprule", "\\midrule", "\\bottomrule"
    return "\\hline", "\\hline", "\\hline"


def _results(rng: random.Random) -> tuple[list[str], list[list[str]], str, str]:
    models = words.pick(rng, words.MODELS, rng.randint(3, 6))
    metrics = words.pick(rng, ("Accuracy", "Precision", "Recall", "F1", "AUC"), rng.randint(2, 4))
    header = ["Model", *metrics]
    rows = []
    scores = [[rng.uniform(60, 97) for _ in metrics] for _ in models]
    best = [max(col) for col in zip(*scores, strict=True)]
    pm = rng.random() < 0.4
    for model, row in zip(models, scores, strict=True):
        cells = []
        for value, top in zip(row, best, strict=True):
            text = f"{value:.1f}" + (f" $\\pm$ {rng.uniform(0.2, 2.0):.1f}" if pm else "")
            cells.append(f"\\textbf{{{text}}}" if value == top else text)
        rows.append([model, *cells])
    return header, rows, "l" + "c" * len(metrics), f"model comparison on {len(metrics)} metrics"


def _sales(rng: random.Random) -> tuple[list[str], list[list[str]], str, str]:
    family = rng.choice(("region", "product", "city"))
    pool = {"region": words.REGIONS, "product": words.PRODUCTS, "city": words.CITIES}[family]
    names = words.pick(rng, pool, rng.randint(3, 6))
    header = [family.capitalize(), *words.QUARTERS, "Total"]
    rows = []
    for name in names:
        values = [rng.randint(80, 990) for _ in words.QUARTERS]
        rows.append([name, *(str(v) for v in values), f"\\textbf{{{sum(values):,}}}".replace(",", "{,}")])
    return header, rows, "l" + "r" * 5, f"quarterly sales by {family}"


def _schedule(rng: random.Random) -> tuple[list[str], list[list[str]], str, str]:
    days = list(words.WEEKDAYS[:5])
    slots = rng.sample(("08:00", "09:30", "11:00", "13:00", "14:30", "16:00"), rng.randint(3, 5))
    subjects = ("Math", "Physics", "History", "Art", "Biology", "Music", "Chemistry", "---")
    header = ["Time", *days]
    rows = [[slot, *(rng.choice(subjects) for _ in days)] for slot in sorted(slots)]
    return header, rows, "l|" + "c" * len(days), "weekly class timetable"


def _measurements(rng: random.Random) -> tuple[list[str], list[list[str]], str, str]:
    count = rng.randint(4, 8)
    header = ["Trial", "$t$ (s)", "$d$ (m)", "$v = d/t$ (m/s)"]
    rows = []
    for i in range(1, count + 1):
        t = rng.uniform(1.0, 9.0)
        v = rng.uniform(1.5, 4.5)
        rows.append([str(i), f"{t:.2f}", f"{t * v:.2f}", f"{v:.2f}"])
    return header, rows, "c" + "r" * 3, f"{count} lab measurements of time, distance and speed"


def table(rng: random.Random) -> tuple[str, str]:
    layout = rng.choice(_LAYOUTS)
    header, rows, spec, what = {
        "results": _results,
        "sales": _sales,
        "schedule": _schedule,
        "measurements": _measurements,
    }[layout](rng)
    booktabs = rng.random() < 0.6
    top, mid, bottom = _rules(booktabs)
    if not booktabs and rng.random() < 0.5:
        spec = "|" + "|".join(spec.replace("|", "")) + "|"
    packages = ["booktabs"] if booktabs else []
    if "$" in "".join(header) or any("$" in cell for row in rows for cell in row):
        packages.append("amsmath")
    use_color = rng.random() < 0.3
    if use_color:
        packages.append("xcolor")
    border = rng.choice(("2pt", "4pt", "6pt", "10pt"))
    code = f"\\documentclass[border={border}]{{standalone}}\n"
    code += "".join(f"\\usepackage{{{p}}}\n" for p in packages)
    code += "\\begin{document}\n"
    if rng.random() < 0.3:
        code += "\\small\n"
    code += f"\\begin{{tabular}}{{{spec}}}\n{top}\n"
    bold = rng.random() < 0.6
    head_cells = [f"\\textbf{{{h}}}" if bold else h for h in header]
    if use_color:
        color = rng.choice(("blue", "teal", "violet", "red"))
        head_cells = [f"\\textcolor{{{color}!70!black}}{{{h}}}" for h in head_cells]
    caption = ""
    if rng.random() < 0.3:
        caption = what[0].upper() + what[1:]
        code += f"\\multicolumn{{{len(header)}}}{{c}}{{\\emph{{{caption}}}}} \\\\\n{mid}\n"
    code += " & ".join(head_cells) + " \\\\\n" + mid + "\n"
    for i, row in enumerate(rows):
        code += " & ".join(row) + " \\\\\n"
        if not booktabs and spec.startswith("|") and i < len(rows) - 1:
            code += "\\hline\n"
    code += f"{bottom}\n\\end{{tabular}}\n\\end{{document}}\n"
    style = "booktabs" if booktabs else "ruled"
    return code, f"LaTeX {style} table of {what} with {len(rows)} rows and {len(header)} columns"
