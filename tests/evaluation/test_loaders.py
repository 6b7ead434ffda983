"""Benchmark loaders on the released layouts: real ChartMimic and Design2Code folders from ../shared/data, and
tables in the shapes UniSVG, Image2Struct and ChemDraw ship (Parquet with image structs, JSONL with paths, CSV)."""

from __future__ import annotations

import io
import json
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from evaluation.loaders import BenchmarkError, load_benchmark


def _png(color: str = "red") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(buf, "PNG")
    return buf.getvalue()


def test_chartmimic_folder(shared_data):
    samples = load_benchmark("chartmimic", shared_data / "charts")
    assert len(samples) == 120 and [s.id for s in samples] == sorted(s.id for s in samples)
    first = samples[0]
    assert first.image[:8] == b"\x89PNG\r\n\x1a\n" and "matplotlib" in first.reference
    assert first.language == "python" and "Python" in first.instruction and first.meta["image_file"].endswith(".png")
    assert len(load_benchmark("chartmimic", shared_data / "charts", limit=5)) == 5


def test_chartmimic_pdf_only_is_rasterised(shared_data, tmp_path):
    name = sorted(p.stem for p in (shared_data / "charts").glob("*.py"))[0]
    for suffix in (".py", ".pdf"):
        shutil.copy(shared_data / "charts" / f"{name}{suffix}", tmp_path / f"{name}{suffix}")
    (tmp_path / "orphan.py").write_text("print(1)\n")  # no image: not a sample
    [sample] = load_benchmark("chartmimic", tmp_path)
    assert sample.id == name and sample.image[:4] == b"\x89PNG" and sample.meta["image_file"].endswith(".pdf")


def test_design2code_folder(shared_data):
    samples = load_benchmark("design2code", shared_data / "web")
    assert len(samples) == 30 and all(s.language == "html" and "<" in s.reference for s in samples)


def test_unisvg_jsonl_with_image_paths(shared_data, tmp_path):
    icons = sorted((shared_data / "svg").glob("*.svg"))[:3]
    lines = []
    for i, icon in enumerate(icons):
        (tmp_path / f"{i}.png").write_bytes(_png())
        lines.append(json.dumps({"uid": f"s{i}", "image": f"{i}.png", "svg": icon.read_text()}))
    (tmp_path / "test.jsonl").write_text("\n".join(lines) + "\n")
    samples = load_benchmark("unisvg", tmp_path / "test.jsonl")
    assert [s.id for s in samples] == ["s0", "s1", "s2"] and samples[0].reference.startswith("<svg")
    assert samples[0].meta == {"image_column": "image", "reference_column": "svg"}


def test_image2struct_parquet_with_image_structs(shared_data, tmp_path):
    tex = sorted((shared_data / "tikz").glob("*.tex"))[:2]
    table = pa.table(
        {
            "id": ["b", "a"],
            "image": [{"bytes": _png(), "path": None}, {"bytes": _png("blue"), "path": None}],
            "latex": [t.read_text() for t in tex],
        }
    )
    pq.write_table(table, tmp_path / "test.parquet")
    samples = load_benchmark("image2struct", tmp_path / "test.parquet")
    assert [s.id for s in samples] == ["a", "b"] and samples[0].language == "latex"
    assert "\\documentclass" in samples[1].reference


def test_chemdraw_csv(shared_data, tmp_path):
    rows = (shared_data / "molecules" / "smiles.csv").read_text().splitlines()[1:5]
    lines = ["id,image,smiles"]
    for row in rows:
        sid, _, smiles = row.split(",", 2)
        (tmp_path / f"{sid}.png").write_bytes(_png())
        lines.append(f"{sid},{sid}.png,{smiles}")
    (tmp_path / "chemdraw.csv").write_text("\n".join(lines) + "\n")
    samples = load_benchmark("chemdraw", tmp_path / "chemdraw.csv")
    assert len(samples) == 4 and samples[0].language == "smiles" and "SMILES" in samples[0].instruction


def test_clear_errors(tmp_path):
    with pytest.raises(BenchmarkError, match="unknown benchmark"):
        load_benchmark("mmmu", tmp_path)
    with pytest.raises(BenchmarkError, match="does not exist"):
        load_benchmark("chartmimic", tmp_path / "nope")
    with pytest.raises(BenchmarkError, match="no samples"):
        load_benchmark("chartmimic", tmp_path)
    (tmp_path / "t.jsonl").write_text(json.dumps({"id": 1, "picture": "x.png", "svg": "<svg/>"}) + "\n")
    with pytest.raises(BenchmarkError, match="no image column .*tried image, png"):
        load_benchmark("unisvg", tmp_path / "t.jsonl")
    (tmp_path / "u.jsonl").write_text(json.dumps({"id": 1, "image": "missing.png", "svg": "<svg/>"}) + "\n")
    with pytest.raises(BenchmarkError, match="missing.png not found"):
        load_benchmark("unisvg", tmp_path / "u.jsonl")
