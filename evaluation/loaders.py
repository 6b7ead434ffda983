"""Benchmark loaders: each benchmark's released layout, from a local path, as one list of `BenchmarkSample`.

    chartmimic    a folder of NAME.py (the reference script) + NAME.png (or NAME.pdf, rasterised at 100 dpi,
                  the resolution ChartMimic's PNGs use), as in ChartMimic's dataset folders
    design2code   a folder of ID.html + ID.png (the full-page screenshot), as Design2Code's test set
    unisvg        a Parquet / JSON / JSONL table with an image column and the reference SVG
    image2struct  a Parquet / JSON / JSONL table with an image column and the reference LaTeX
    chemdraw      a CSV / JSON / JSONL table with an image (bytes, or a path relative to the table) and SMILES

Tables name their columns differently across releases, so each loader tries a short list of names per field
(`COLUMNS`) and says which it found, or which it expected when none is there. Images come back as PNG bytes; the
instruction is the project's direct-generation prompt for the language (`training.prompts`), keyed on the sample
id, so every model is asked the same way. Nothing here runs a sample's code.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from training.prompts import direct_instruction

BENCHMARKS: dict[str, str] = {  # benchmark -> language of its answers
    "chartmimic": "python",
    "design2code": "html",
    "unisvg": "svg",
    "image2struct": "latex",
    "chemdraw": "smiles",
}

# field -> column names tried in order
COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("id", "uid", "sample_id", "name", "file", "filename"),
    "image": ("image", "png", "img", "image_path", "image_file", "images"),
    "unisvg": ("svg", "code", "answer", "output", "svg_code"),
    "image2struct": ("latex", "tex", "code", "answer", "text", "output"),
    "chemdraw": ("smiles", "SMILES", "answer", "label"),
}


class BenchmarkError(ValueError):
    pass


@dataclass
class BenchmarkSample:
    benchmark: str
    id: str
    image: bytes  # PNG (or the benchmark's own encoding) of the target
    reference: str  # the reference code / SMILES
    language: str
    instruction: str
    meta: dict[str, Any] = field(default_factory=dict)


def load_benchmark(name: str, path: str | Path, limit: int | None = None) -> list[BenchmarkSample]:
    """Samples of benchmark `name` from `path`, sorted by id (the first `limit` when given)."""
    if name not in BENCHMARKS:
        raise BenchmarkError(f"unknown benchmark {name!r}; known: {', '.join(BENCHMARKS)}")
    path = Path(path)
    if not path.exists():
        raise BenchmarkError(f"{name}: {path} does not exist")
    if name == "chartmimic":
        rows = list(_chartmimic(path))
    elif name == "design2code":
        rows = list(_paired_folder(path, ".html"))
    else:
        rows = list(_table(name, path))
    rows.sort(key=lambda r: r[0])
    if limit is not None:
        rows = rows[:limit]
    if not rows:
        raise BenchmarkError(f"{name}: no samples found in {path}")
    language = BENCHMARKS[name]
    return [
        BenchmarkSample(name, sid, image, ref, language, direct_instruction(language, key=sid), meta)
        for sid, image, ref, meta in rows
    ]


def _chartmimic(folder: Path) -> Iterator[tuple[str, bytes, str, dict]]:
    _need_folder(folder, "chartmimic")
    for script in sorted(folder.glob("*.py")):
        png, pdf = script.with_suffix(".png"), script.with_suffix(".pdf")
        if png.is_file():
            image, source = png.read_bytes(), png.name
        elif pdf.is_file():
            from renderers.pdf import first_page_png

            image, source = first_page_png(str(pdf), dpi=100), pdf.name
        else:
            continue  # a script without its target image is not a sample
        yield script.stem, image, script.read_text(encoding="utf-8", errors="replace"), {"image_file": source}


def _paired_folder(folder: Path, suffix: str) -> Iterator[tuple[str, bytes, str, dict]]:
    _need_folder(folder, "design2code")
    for code in sorted(folder.glob(f"*{suffix}")):
        png = code.with_suffix(".png")
        if png.is_file():
            text = code.read_text(encoding="utf-8", errors="replace")
            yield code.stem, png.read_bytes(), text, {"folder": str(folder)}


def _need_folder(path: Path, name: str) -> None:
    if not path.is_dir():
        raise BenchmarkError(f"{name}: expected a folder of files, got {path}")


def _records(path: Path) -> list[dict[str, Any]]:
    suffix = path.suffix.lower()
    if suffix == ".parquet" or path.is_dir():
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    if suffix == ".csv":
        import csv

        with path.open(newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))
    if suffix == ".jsonl":
        with path.open(encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
    if suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict):  # {"data": [...]} or {id: record}
            data = data.get("data") or [{"id": k, **v} for k, v in data.items() if isinstance(v, dict)]
        return list(data)
    raise BenchmarkError(f"{path}: expected a .parquet, .csv, .json or .jsonl table (or a Parquet folder)")


def _column(record: dict[str, Any], names: tuple[str, ...]) -> str | None:
    return next((n for n in names if n in record and record[n] not in (None, "")), None)


def _image_bytes(value: Any, base: Path) -> bytes:
    if isinstance(value, list):  # an `images` list: the first
        value = value[0] if value else None
    if isinstance(value, dict):  # Hugging Face Image encoding
        if value.get("bytes"):
            return value["bytes"]
        value = value.get("path")
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str) and value:
        file = Path(value) if Path(value).is_absolute() else base / value
        if file.is_file():
            return file.read_bytes()
        raise BenchmarkError(f"image file {file} not found")
    if value is not None and hasattr(value, "save"):  # a PIL image
        buf = io.BytesIO()
        value.save(buf, "PNG")
        return buf.getvalue()
    raise BenchmarkError(f"cannot read an image from a {type(value).__name__}")


def _table(name: str, path: Path) -> Iterator[tuple[str, bytes, str, dict]]:
    records = _records(path)
    base = path if path.is_dir() else path.parent
    for index, record in enumerate(records):
        image_col = _column(record, COLUMNS["image"])
        ref_col = _column(record, COLUMNS[name])
        if image_col is None or ref_col is None:
            missing = "image" if image_col is None else "reference"
            tried = COLUMNS["image"] if image_col is None else COLUMNS[name]
            raise BenchmarkError(
                f"{name}: record {index} of {path} has no {missing} column (tried {', '.join(tried)}; "
                f"it has {', '.join(sorted(record))})"
            )
        id_col = _column(record, COLUMNS["id"])
        sid = str(record[id_col]) if id_col else f"{index:06d}"
        meta = {"image_column": image_col, "reference_column": ref_col}
        yield sid, _image_bytes(record[image_col], base), str(record[ref_col]), meta
