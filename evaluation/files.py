"""Scoring prediction files against reference files without a model: `vinci eval BENCHMARK --pred DIR --ref DIR`.

A prediction and its reference share a file stem (`bar_3.py` against `bar_3.py`); the prediction file holds the
model's raw answer (fenced or plain code), the reference file the benchmark's reference. A reference without a
prediction is scored as a failed sample (every benchmark counts missing answers as zero); a prediction without a
reference is ignored and counted. Per-sample rows go to a Parquet file; the summary is the benchmark's own
aggregate (evaluation/scoring.py).

    benchmark     reference files          prediction files
    chartmimic    NAME.py                  NAME.py | NAME.txt | NAME.md
    unisvg        NAME.svg                 NAME.svg | NAME.txt | NAME.md
    image2struct  NAME.tex                 NAME.tex | NAME.txt | NAME.md
    chemdraw      NAME.smi (one SMILES)    NAME.smi | NAME.py | NAME.txt | NAME.md
    design2code   NAME.html                NAME.html | NAME.txt | NAME.md
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluation.loaders import BenchmarkError
from evaluation.scoring import Inputs, Weights, score_benchmark


@dataclass(frozen=True)
class FileLayout:
    reference: str  # suffix of reference files
    prediction: tuple[str, ...]  # suffixes tried for a prediction, in order


LAYOUTS: dict[str, FileLayout] = {
    "chartmimic": FileLayout(".py", (".py", ".txt", ".md")),
    "unisvg": FileLayout(".svg", (".svg", ".txt", ".md")),
    "image2struct": FileLayout(".tex", (".tex", ".txt", ".md")),
    "chemdraw": FileLayout(".smi", (".smi", ".py", ".txt", ".md")),
    "design2code": FileLayout(".html", (".html", ".txt", ".md")),
}


@dataclass
class FilePairs:
    ids: list[str]
    predictions: list[str | None]  # None: no prediction file
    references: list[str]
    unmatched_predictions: int
    ref_dir: Path | None = None


def pair_files(benchmark: str, pred_dir: str | Path, ref_dir: str | Path) -> FilePairs:
    if benchmark not in LAYOUTS:
        raise BenchmarkError(f"`vinci eval` scores {', '.join(LAYOUTS)} from files; got {benchmark!r}")
    layout = LAYOUTS[benchmark]
    pred_dir, ref_dir = Path(pred_dir), Path(ref_dir)
    for folder in (pred_dir, ref_dir):
        if not folder.is_dir():
            raise BenchmarkError(f"{folder} is not a folder")
    references = sorted(ref_dir.glob(f"*{layout.reference}"))
    if not references:
        raise BenchmarkError(f"no *{layout.reference} reference files in {ref_dir}")
    ids, preds, refs = [], [], []
    for ref in references:
        ids.append(ref.stem)
        refs.append(ref.read_text(encoding="utf-8", errors="replace"))
        found = next(
            (pred_dir / f"{ref.stem}{s}" for s in layout.prediction if (pred_dir / f"{ref.stem}{s}").is_file()), None
        )
        preds.append(found.read_text(encoding="utf-8", errors="replace") if found else None)
    stems = {r.stem for r in references}
    extra = sum(1 for p in pred_dir.iterdir() if p.suffix in layout.prediction and p.stem not in stems)
    return FilePairs(ids, preds, refs, extra, ref_dir)


ASSET_SUFFIXES = (".jpg", ".jpeg", ".gif", ".webp", ".svg", ".bmp", ".ico", ".css")


def page_assets(folder: Path | None) -> dict[str, str]:
    """Files beside the reference pages that every page may load (Design2Code's `rick.jpg` placeholder); both the
    reference and the prediction are rendered with the same files, nothing else is reachable."""
    if folder is None:
        return {}
    return {p.name: str(p) for p in sorted(folder.iterdir()) if p.suffix.lower() in ASSET_SUFFIXES and p.is_file()}


def score_files(
    benchmark: str,
    pred_dir: str | Path,
    ref_dir: str | Path,
    out: str | Path | None = None,
    weights: Weights | None = None,
) -> dict:
    """Score every reference's prediction; writes per-sample rows to `out` (Parquet) and returns the summary."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pairs = pair_files(benchmark, pred_dir, ref_dir)
    inputs = Inputs(pairs.predictions, pairs.references, weights or Weights(), page_assets(pairs.ref_dir))
    rows, summary = score_benchmark(benchmark, inputs)
    for sid, row, pred in zip(pairs.ids, rows, pairs.predictions, strict=True):
        row["id"] = sid
        row["missing_prediction"] = pred is None
    summary = {
        "benchmark": benchmark,
        **summary,
        "missing_predictions": sum(p is None for p in pairs.predictions),
        "unmatched_predictions": pairs.unmatched_predictions,
    }
    if out is not None:
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        columns = ["id", *[k for k in rows[0] if k != "id"]]
        table = pa.Table.from_pylist([{k: _cell(row.get(k)) for k in columns} for row in rows])
        tmp = out.with_name(out.name + ".tmp")
        pq.write_table(table, tmp)
        tmp.replace(out)
        summary["per_sample"] = str(out)
    return summary


def _cell(value: Any) -> Any:
    """Nested values (lists of tuples, dicts) as JSON text, so every benchmark's rows fit one flat table."""
    import json

    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=str)
    return value
