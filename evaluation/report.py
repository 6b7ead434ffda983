"""The evaluation report of one run: `report.md`, a self-contained `report.html` and PNG plots under `plots/`.

The evaluation stage hands over the paper's Table 3 (long-form rows, already built), one `BenchmarkResult` per
benchmark (per-sample primary scores on 0-100, its aggregate, its worst examples) and free-form run facts. This
module holds those dataclasses, the text and number formatting, and the writing of the report:

    report.md      title, run facts, Table 3 in long form (benchmark | metric | value | note), then per benchmark
                   its aggregate, the plots (relative paths `plots/...png`) and its worst examples
    report.html    the same content with Table 3 in wide form (benchmarks spanning their metrics) and every image
                   embedded as a base64 data URL, so the one file can be mailed or attached
    plots/         PNGs drawn by `evaluation/report_plots.py` (re-exported here, with `decode_thumbnail`)

`artifact_markdown` is report.md with its plots inlined, for a Prefect artifact. Model answers are untrusted: all
text is escaped for the format it lands in (HTML entities, markdown specials) and notes are cut to one line.
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from evaluation import report_plots
from evaluation.report_plots import (
    _CONTROL,
    MAX_DECODE_PIXELS,
    MAX_WORST_ROWS,
    NOTE_CHARS,
    THUMBNAIL_SIDE,
    _format_score,
    _plot_name,
    _stats,
    plot_benchmarks,
    plot_distributions,
    plot_worst,
    shorten,
)
from storage.filesystem import write_atomic

__all__ = [
    "BenchmarkResult", "ReportFiles", "WorstExample", "artifact_markdown", "decode_thumbnail", "format_table_value",
    "format_value", "plot_benchmarks", "plot_distributions", "plot_worst", "shorten", "write_report",
]  # fmt: skip

SUMMARY_CHARS = 400  # a list or dict value of a summary, once serialised
PLOTS_DIR = "plots"


@dataclass
class WorstExample:
    id: str
    score: float | None  # the sample's primary score, 0-100 (None: not scored)
    target_png: bytes  # the benchmark's target image
    render_png: bytes | None  # the model's answer rendered; None = it did not render
    note: str = ""  # e.g. the error, or the first line of the answer (shortened when shown)


@dataclass
class BenchmarkResult:
    benchmark: str  # "chartmimic", "design2code", "unisvg", "image2struct", "chemdraw", or another name
    primary: str  # the per-sample metric ranked and plotted, e.g. "low_level", "ems", "tanimoto"
    ids: list[str]
    scores: list[float | None]  # per-sample primary score on 0-100, None = not scored (missing, not 0)
    summary: dict[str, Any]  # the benchmark's aggregate (free-form)
    worst: list[WorstExample] = field(default_factory=list)


@dataclass
class ReportFiles:
    markdown: Path
    html: Path
    plots: list[Path]  # every PNG written


# ---------------------------------------------------------------------------------------------------------------
# Text and numbers


_MD_SPECIAL = re.compile(r"([\\`*\[\]|#~!$])")


def _md(text: Any, limit: int | None = None) -> str:
    """Text safe inside a markdown paragraph or table cell: one line, markdown specials backslash-escaped and
    `&` / `<` / `>` as entities, so neither markup nor raw HTML from a model answer survives."""
    flat = shorten(text, limit) if limit is not None else " ".join(_CONTROL.sub(" ", str(text)).split())
    return html.escape(_MD_SPECIAL.sub(r"\\\1", flat), quote=False)


def _h(text: Any) -> str:
    return html.escape(str(text), quote=True)


def format_table_value(value: Any) -> str:
    """A Table 3 value: one decimal, None as "not run"."""
    if value is None:
        return "not run"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return f"{value:.1f}" if math.isfinite(value) else str(value)
    return str(value)


def _round_float(value: float) -> float | str:
    if not math.isfinite(value):
        return str(value)
    if value != 0 and abs(value) < 1e-3:
        return float(f"{value:.3g}")
    return round(value, 3)


def _compact(value: Any) -> Any:
    """Floats rounded the same way inside lists and dicts, everything else JSON-friendly."""
    if isinstance(value, float):
        return _round_float(value)
    if isinstance(value, dict):
        return {str(k): _compact(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_compact(v) for v in value]
    if isinstance(value, str | int | bool) or value is None:
        return value
    if isinstance(value, np.generic):
        return _compact(value.item())
    return str(value)


def format_value(value: Any) -> str:
    """A summary or meta value: floats to 3 decimals (tiny ones to 3 significant digits), lists and dicts as
    compact JSON, None as "—"."""
    if value is None:
        return "—"
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return str(_round_float(value))
    if isinstance(value, int | str):
        return str(value)
    if isinstance(value, list | tuple | set | frozenset | dict):
        text = json.dumps(_compact(value), ensure_ascii=False, separators=(", ", ": "), default=str)
        return shorten(text, SUMMARY_CHARS)
    return str(value)


def _samples(count: int) -> str:
    return f"{count} sample" + ("" if count == 1 else "s")


def _primary_line(result: BenchmarkResult) -> str:
    scored, missing, mean = _stats(result)
    if mean is None:
        return f"no scored samples ({_samples(len(result.scores))})."
    line = f"mean {mean:.1f} over {len(scored)} scored " + ("sample" if len(scored) == 1 else "samples")
    return line + (f" ({missing} not scored)." if missing else ".")


def decode_thumbnail(data: bytes | None, *, side: int = THUMBNAIL_SIDE) -> tuple[np.ndarray, str | None]:
    """`report_plots.decode_thumbnail` with this module's `MAX_DECODE_PIXELS`, read at call time."""
    return report_plots.decode_thumbnail(data, side=side, max_pixels=MAX_DECODE_PIXELS)


# ---------------------------------------------------------------------------------------------------------------
# The report


@dataclass
class _Section:
    result: BenchmarkResult
    worst_plot: str | None  # relative path under out_dir


def _group_table(table: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in table:
        groups.setdefault(str(row.get("benchmark", "")), []).append(row)
    return list(groups.items())


def _markdown(
    title: str,
    table: list[dict[str, Any]],
    sections: list[_Section],
    meta: dict[str, Any],
    overview: list[tuple[str, str]],
) -> str:
    out: list[str] = [f"# {_md(title)}", ""]
    if meta:
        out += [f"- **{_md(key)}**: {_md(format_value(value))}" for key, value in meta.items()]
        out.append("")

    out += ["## Table 3", ""]
    if table:
        out += ["| Benchmark | Metric | Value | Note |", "| --- | --- | ---: | --- |"]
        for row in table:
            cells = (row.get("benchmark", ""), row.get("metric", ""), format_table_value(row.get("value")))
            out.append("| " + " | ".join(_md(c) for c in cells) + f" | {_md(row.get('note') or '', NOTE_CHARS)} |")
    else:
        out.append("No Table 3 rows.")
    out.append("")

    if not sections:
        out += ["## Benchmarks", "", "Nothing was scored: no benchmark results were given.", ""]
        return "\n".join(out)

    out += ["## Overview", ""]
    out += [f"![{_md(alt)}]({path})" for alt, path in overview]
    out.append("")

    for section in sections:
        result = section.result
        out += [f"## {_md(result.benchmark)}", ""]
        primary = shorten(result.primary, 60).replace("`", "'")
        out += [f"Primary metric `{primary}`: {_primary_line(result)}", ""]
        if result.summary:
            out += [f"- {_md(key)}: {_md(format_value(value))}" for key, value in result.summary.items()]
        else:
            out.append("No summary.")
        out.append("")
        if result.worst:
            out += ["### Worst examples", "", "| id | score | note |", "| --- | ---: | --- |"]
            for example in result.worst:
                cells = (_md(example.id, 80), _format_score(example.score), _md(example.note, NOTE_CHARS))
                out.append("| " + " | ".join(cells) + " |")
            out.append("")
            if len(result.worst) > MAX_WORST_ROWS:
                out += [f"The image shows the first {MAX_WORST_ROWS} of {len(result.worst)}.", ""]
            if section.worst_plot:
                out += [f"![{_md(result.benchmark)}: target (left) and render (right)]({section.worst_plot})", ""]
    return "\n".join(out)


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1100px;
       padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; vertical-align: top; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.missing { color: #999; font-style: italic; }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 0.15em 1em; }
dl.kv dt { font-weight: 600; } dl.kv dd { margin: 0; word-break: break-word; }
img { max-width: 100%; border: 1px solid #eee; }
.note { color: #555; font-size: 0.9em; word-break: break-word; }
"""


def _data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _html_kv(items: Iterable[tuple[Any, Any]]) -> str:
    rows = "".join(f"<dt>{_h(key)}</dt><dd>{_h(format_value(value))}</dd>" for key, value in items)
    return f'<dl class="kv">{rows}</dl>'


def _html_table(table: list[dict[str, Any]]) -> str:
    if not table:
        return "<p>No Table 3 rows.</p>"
    groups = _group_table(table)
    top = "".join(f'<th colspan="{len(rows)}">{_h(name)}</th>' for name, rows in groups)
    metrics = "".join(f"<th>{_h(row.get('metric', ''))}</th>" for _, rows in groups for row in rows)
    cells = []
    for _, rows in groups:
        for row in rows:
            value = row.get("value")
            css = "num missing" if value is None else "num"
            cells.append(f'<td class="{css}">{_h(format_table_value(value))}</td>')
    parts = [
        "<table>",
        f"<thead><tr>{top}</tr><tr>{metrics}</tr></thead>",
        f"<tbody><tr>{''.join(cells)}</tr></tbody>",
        "</table>",
    ]
    notes = [
        f"<li><b>{_h(row.get('benchmark', ''))} / {_h(row.get('metric', ''))}</b>: "
        f"{_h(shorten(row.get('note'), NOTE_CHARS))}</li>"
        for _, rows in groups
        for row in rows
        if row.get("note")
    ]
    if notes:
        parts.append(f'<p>Notes:</p><ul class="note">{"".join(notes)}</ul>')
    return "\n".join(parts)


def _html(
    title: str,
    table: list[dict[str, Any]],
    sections: list[_Section],
    meta: dict[str, Any],
    overview: list[tuple[str, str]],
    images: dict[str, bytes],
) -> str:
    body: list[str] = [f"<h1>{_h(title)}</h1>"]
    if meta:
        body.append(_html_kv(meta.items()))
    body += ["<h2>Table 3</h2>", _html_table(table)]
    if not sections:
        body += ["<h2>Benchmarks</h2>", "<p>Nothing was scored: no benchmark results were given.</p>"]
    else:
        body.append("<h2>Overview</h2>")
        body += [f'<p><img alt="{_h(alt)}" src="{_data_url(images[path])}"></p>' for alt, path in overview]
    for section in sections:
        result = section.result
        body.append(f"<h2>{_h(result.benchmark)}</h2>")
        primary = _h(shorten(result.primary, 60))
        body.append(f"<p>Primary metric <code>{primary}</code>: {_h(_primary_line(result))}</p>")
        body.append(_html_kv(result.summary.items()) if result.summary else "<p>No summary.</p>")
        if result.worst:
            rows = "".join(
                f"<tr><td>{_h(shorten(example.id, 80))}</td>"
                f'<td class="num">{_h(_format_score(example.score))}</td>'
                f'<td class="note">{_h(shorten(example.note, NOTE_CHARS))}</td></tr>'
                for example in result.worst
            )
            body += [
                "<h3>Worst examples</h3>",
                f"<table><thead><tr><th>id</th><th>score</th><th>note</th></tr></thead><tbody>{rows}</tbody></table>",
            ]
            if len(result.worst) > MAX_WORST_ROWS:
                body.append(f"<p>The image shows the first {MAX_WORST_ROWS} of {len(result.worst)}.</p>")
            if section.worst_plot:
                alt = f"{result.benchmark}: target (left) and render (right)"
                body.append(f'<p><img alt="{_h(alt)}" src="{_data_url(images[section.worst_plot])}"></p>')
    head = f'<head>\n<meta charset="utf-8">\n<title>{_h(title)}</title>\n<style>{_CSS}</style>\n</head>'
    return f'<!DOCTYPE html>\n<html lang="en">\n{head}\n<body>\n' + "\n".join(body) + "\n</body>\n</html>\n"


def write_report(
    out_dir: Path,
    *,
    title: str,
    table: list[dict[str, Any]],
    results: list[BenchmarkResult],
    meta: dict[str, Any],
) -> ReportFiles:
    """Write report.md, report.html and the plots into `out_dir` (created if missing); every file atomically."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    images: dict[str, bytes] = {}  # relative path -> PNG
    overview: list[tuple[str, str]] = []
    sections: list[_Section] = []
    if results:
        images[f"{PLOTS_DIR}/benchmarks.png"] = plot_benchmarks(results)
        images[f"{PLOTS_DIR}/distributions.png"] = plot_distributions(results)
        overview = [
            ("Mean primary score per benchmark", f"{PLOTS_DIR}/benchmarks.png"),
            ("Distribution of primary scores", f"{PLOTS_DIR}/distributions.png"),
        ]
    taken: set[str] = set()
    for result in results:
        worst_plot = None
        if result.worst:
            worst_plot = f"{PLOTS_DIR}/{_plot_name(result.benchmark, taken)}"
            images[worst_plot] = plot_worst(result)
        sections.append(_Section(result, worst_plot))

    plots: list[Path] = []
    for relative, png in images.items():
        path = out_dir / relative
        write_atomic(str(path), png, fsync=False)
        plots.append(path)
    markdown_path, html_path = out_dir / "report.md", out_dir / "report.html"
    write_atomic(str(markdown_path), _markdown(title, table, sections, meta, overview).encode("utf-8"))
    write_atomic(str(html_path), _html(title, table, sections, meta, overview, images).encode("utf-8"))
    return ReportFiles(markdown=markdown_path, html=html_path, plots=plots)


_IMAGE_LINK = re.compile(r"!\[((?:\\.|[^\]\\])*)\]\(([^)\s]+\.png)\)")


def artifact_markdown(files: ReportFiles, *, max_image_bytes: int = 1_500_000) -> str:
    """The report's markdown with each plot inlined as a base64 data URL (for a Prefect markdown artifact).

    A plot larger than `max_image_bytes`, or one that cannot be read, is replaced by a line naming its path."""
    base = files.markdown.parent
    known = {path.resolve() for path in files.plots}

    def inline(match: re.Match[str]) -> str:
        alt, relative = match.group(1), match.group(2)
        path = (base / relative).resolve()
        try:
            if path not in known:
                raise FileNotFoundError(path)
            png = path.read_bytes()
        except OSError:
            return f"*{alt}*: `{path}` (not found)"
        if len(png) > max_image_bytes:
            return f"*{alt}*: `{path}` ({len(png):,} bytes, not inlined)"
        return f"![{alt}]({_data_url(png)})"

    return _IMAGE_LINK.sub(inline, files.markdown.read_text(encoding="utf-8"))
