"""The picture half of the evaluation report: image decoding and the PNG plots that `evaluation/report.py` embeds.

    decode_thumbnail     an untrusted PNG/JPEG as a small RGB array, or a grey placeholder and the reason for it
                         (undecodable, empty, missing, or too large to expand safely: the size is read from the
                         header before any pixel is decoded)
    plot_benchmarks      bars of the mean primary score per benchmark over its scored samples
    plot_distributions   a histogram of primary scores per benchmark
    plot_worst           target beside render for each of a benchmark's worst examples (`_plot_name` names its file)

It also holds the few text and score helpers both halves use (`shorten`, `_score`, `_stats`, `_format_score`),
so that `report.py` imports this module and never the other way round. Plot text is untrusted too: it is cut to
one line and drawn without mathtext. Figures are drawn on `Figure` objects with the Agg canvas, never through
pyplot, so they need no display and touch no global matplotlib state.
"""

from __future__ import annotations

import io
import math
import re
import textwrap
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image

if TYPE_CHECKING:  # annotations only: report.py imports this module
    from evaluation.report import BenchmarkResult

THUMBNAIL_SIDE = 384  # longest side of an image drawn in a worst-example plot
MAX_DECODE_PIXELS = 50_000_000  # larger images are not decoded at all (a placeholder is drawn)
MAX_WORST_ROWS = 12  # worst examples drawn per benchmark; the rest are still listed
NOTE_CHARS = 160  # a note in the markdown / HTML
PLOT_NOTE_CHARS = 90  # a note in a plot title
PLOT_DPI = 80
WORST_DPI = 100  # 7.4 in wide: each image drawn about THUMBNAIL_SIDE pixels wide


# ---------------------------------------------------------------------------------------------------------------
# Text and scores (shared with report.py)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def shorten(text: Any, limit: int = NOTE_CHARS) -> str:
    """One line of at most `limit` characters: control characters dropped, whitespace runs collapsed."""
    flat = " ".join(_CONTROL.sub(" ", str(text if text is not None else "")).split())
    if len(flat) <= limit:
        return flat
    return flat[: max(limit - 1, 0)].rstrip() + "…"


def _score(value: Any) -> float | None:
    """A usable score: finite number or None (NaN and non-numbers count as not scored)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _format_score(score: Any) -> str:
    value = _score(score)
    return "not scored" if value is None else f"{value:.1f}"


def _stats(result: BenchmarkResult) -> tuple[list[float], int, float | None]:
    """(scored values, missing count, mean over the scored values)."""
    scored = [v for v in (_score(s) for s in result.scores) if v is not None]
    missing = len(result.scores) - len(scored)
    return scored, missing, (sum(scored) / len(scored) if scored else None)


# ---------------------------------------------------------------------------------------------------------------
# Images


def _placeholder(text: str, side: int = THUMBNAIL_SIDE // 2) -> tuple[np.ndarray, str]:
    return np.full((side, side, 3), 200, dtype=np.uint8), text


def decode_thumbnail(
    data: bytes | None, *, side: int = THUMBNAIL_SIDE, max_pixels: int | None = None
) -> tuple[np.ndarray, str | None]:
    """RGB array of at most `side` pixels a side, and None; or a grey placeholder and the reason it is one.

    The size is read from the header before any pixel is decoded, so a decompression bomb is refused without
    being expanded; any decoding error also gives a placeholder. `max_pixels` defaults to `MAX_DECODE_PIXELS`,
    read at call time."""
    limit = MAX_DECODE_PIXELS if max_pixels is None else max_pixels
    if data is None:
        return _placeholder("did not render")
    if not data:
        return _placeholder("empty image")
    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
            if width <= 0 or height <= 0:
                return _placeholder("empty image")
            if width * height > limit:
                return _placeholder(f"image too large\n({width}×{height})")
            img.draft("RGB", (side, side))  # JPEG: decode at a reduced scale
            img.load()
            if img.mode in ("P", "PA", "LA", "RGBA", "La", "RGBa") or "transparency" in img.info:
                rgba = img.convert("RGBA")
                flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                flat.alpha_composite(rgba)
                rgb = flat.convert("RGB")
            else:
                rgb = img.convert("RGB")
            rgb.thumbnail((side, side), Image.Resampling.LANCZOS)
            return np.asarray(rgb, dtype=np.uint8), None
    except Exception:  # noqa: BLE001 - any undecodable input is drawn as a placeholder
        return _placeholder("unreadable image")


def _show(ax: Any, data: bytes | None, label: str) -> None:
    array, problem = decode_thumbnail(data)
    ax.imshow(array, interpolation="nearest" if problem else "antialiased")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(label, fontsize=9, parse_math=False)
    if problem:
        ax.text(
            0.5, 0.5, problem, transform=ax.transAxes, ha="center", va="center", fontsize=11, color="#444444",
            parse_math=False,
        )  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------
# Plots


def _png(fig: Figure, dpi: int = PLOT_DPI) -> bytes:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def plot_benchmarks(results: list[BenchmarkResult]) -> bytes:
    """Bars of the mean primary score over each benchmark's scored samples, annotated with the mean and n."""
    width = max(5.0, 1.3 * len(results) + 1.5)
    fig = Figure(figsize=(width, 4.6), layout="constrained")
    ax = fig.add_subplot()
    positions = list(range(len(results)))
    for x, result in zip(positions, results, strict=True):
        scored, missing, mean = _stats(result)
        if mean is None:
            ax.text(x, 3, "no scored\nsamples", ha="center", va="bottom", fontsize=8, color="#777777")
            continue
        ax.bar(x, mean, color="#4c72b0", width=0.7)
        count = f"n={len(scored)}" + (f" of {len(scored) + missing}" if missing else "")
        ax.text(x, min(mean, 100) + 1.5, f"{mean:.1f}\n{count}", ha="center", va="bottom", fontsize=8)
    labels = [f"{shorten(r.benchmark, 24)}\n({shorten(r.primary, 24)})" for r in results]
    ax.set_xticks(positions, labels, fontsize=8, parse_math=False)
    ax.set_xlim(-0.6, len(results) - 0.4)
    ax.set_ylim(0, 112)
    ax.set_yticks(range(0, 101, 20))
    ax.set_ylabel("mean primary score (0-100)")
    ax.set_title("Mean primary score per benchmark (scored samples)")
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def plot_distributions(results: list[BenchmarkResult]) -> bytes:
    """One histogram of primary scores per benchmark (10 bins over 0-100), missing samples counted in the title."""
    ncols = min(3, len(results))
    nrows = math.ceil(len(results) / ncols)
    fig = Figure(figsize=(3.4 * ncols, 2.7 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    bins = np.linspace(0, 100, 11)
    for index, ax in enumerate(axes.flat):
        if index >= len(results):
            ax.set_axis_off()
            continue
        result = results[index]
        scored, missing, _ = _stats(result)
        title = f"{shorten(result.benchmark, 24)} ({shorten(result.primary, 20)})\nn={len(scored)}, missing={missing}"
        ax.set_title(title, fontsize=9, parse_math=False)
        ax.set_xlim(0, 100)
        ax.set_xlabel("score", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        if scored:
            ax.hist(np.clip(scored, 0, 100), bins=bins, color="#55a868", edgecolor="white")
        else:
            ax.set_ylim(0, 1)
            ax.text(50, 0.5, "no scored samples", ha="center", va="center", fontsize=9, color="#777777")
    return _png(fig)


def plot_worst(result: BenchmarkResult) -> bytes:
    """Target (left) beside the model's render (right), one row per worst example, titled id / score / note."""
    examples = result.worst[:MAX_WORST_ROWS]
    row_height = 3.3
    fig = Figure(figsize=(7.4, row_height * len(examples)), layout="constrained")
    rows = fig.subfigures(len(examples), 1, squeeze=False)[:, 0]
    for row, example in zip(rows, examples, strict=True):
        title = f"{shorten(example.id, 60)} — score {_format_score(example.score)}"
        note = shorten(example.note, PLOT_NOTE_CHARS)
        if note:
            title += "\n" + "\n".join(textwrap.wrap(note, 70)[:2])
        row.suptitle(title, fontsize=9, parse_math=False)
        left, right = row.subplots(1, 2)
        _show(left, example.target_png, "target")
        _show(right, example.render_png, "render")
    return _png(fig, dpi=WORST_DPI)


def _plot_name(benchmark: str, taken: set[str]) -> str:
    """The file name of a benchmark's worst-example plot, unique among `taken` (which it joins)."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", benchmark).strip("-.") or "benchmark"
    name, counter = f"worst-{slug}.png", 2
    while name in taken:
        name, counter = f"worst-{slug}-{counter}.png", counter + 1
    taken.add(name)
    return name
