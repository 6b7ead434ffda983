"""The evaluation report: files written, plots that open, Table 3 in long (markdown) and wide (HTML) form, untrusted
notes escaped, placeholders for missing or broken renders, empty inputs, and the inlined artifact markdown."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from evaluation import report as report_module
from evaluation.report import (
    BenchmarkResult,
    ReportFiles,
    WorstExample,
    artifact_markdown,
    decode_thumbnail,
    format_value,
    shorten,
    write_report,
)

SCRIPT = "<script>alert(1)</script>"

TABLE = [
    {"benchmark": "ChartMimic", "metric": "Exec rate", "value": 91.25, "note": ""},
    {"benchmark": "ChartMimic", "metric": "Low-level", "value": 55.04, "note": ""},
    {"benchmark": "ChartMimic", "metric": "High-level", "value": None, "note": "no judge endpoint configured"},
    {"benchmark": "UniSVG", "metric": "Score", "value": 70.0, "note": ""},
    {"benchmark": "ChemDraw", "metric": "Tanimoto", "value": 12.345, "note": ""},
]


def png(color: str | tuple[int, int, int], size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def results() -> list[BenchmarkResult]:
    chart_worst = [
        WorstExample("bar_3", 4.0, png("red"), png("green"), note=f"{SCRIPT}\nsecond line of the answer"),
        WorstExample("pie_13", None, png("blue"), None, note="Traceback: NameError " + "x" * 500),
    ]
    return [
        BenchmarkResult(
            benchmark="chartmimic",
            primary="low_level",
            ids=["bar_3", "pie_13", "line_1", "area_2"],
            scores=[4.0, None, 80.0, 100.0],
            summary={"exec_rate": 0.912345, "low_level": 55.04321, "per_type": [1.23456, 2], "judge": None},
            worst=chart_worst,
        ),
        BenchmarkResult(
            benchmark="unisvg",
            primary="score",
            ids=["a", "b"],
            scores=[None, None],
            summary={"error": "renderer unavailable"},
        ),
        BenchmarkResult(
            benchmark="chemdraw",
            primary="tanimoto",
            ids=[f"m{i}" for i in range(6)],
            scores=[0.0, 12.5, 50.0, 100.0, 100.0, float("nan")],
            summary={"tanimoto": 60.5, "exact": 0.4},
            worst=[WorstExample("m0", 0.0, png("white"), png("black"), note="C1=CC=CC=C1 | pipe")],
        ),
    ]


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> ReportFiles:
    """One report shared by the read-only checks (written once: drawing the plots is the slow part)."""
    out = tmp_path_factory.mktemp("run") / "eval"
    meta = {"model": "vinci-7b", "checkpoint": "ckpt/step-400", "temperature": 0.0, "samples": {"chartmimic": 4}}
    return write_report(out, title="Eval <run 7>", table=TABLE, results=results(), meta=meta)


def test_files_exist_and_plots_open(written: ReportFiles):
    assert written.markdown.name == "report.md" and written.markdown.is_file()
    assert written.html.name == "report.html" and written.html.is_file()
    names = sorted(path.name for path in written.plots)
    assert names == ["benchmarks.png", "distributions.png", "worst-chartmimic.png", "worst-chemdraw.png"]
    for path in written.plots:
        assert path.parent == written.markdown.parent / "plots"
        with Image.open(path) as img:
            img.verify()
        with Image.open(path) as img:
            width, height = img.size
        assert 200 <= width <= 2000 and 150 <= height <= 3000, (path.name, img.size)
        assert path.stat().st_size < 500_000
    # no temporaries left behind by the atomic writes
    leftovers = [p.name for p in written.markdown.parent.rglob("*") if p.name.startswith(".")]
    assert leftovers == []


def test_markdown_content(written: ReportFiles):
    text = written.markdown.read_text(encoding="utf-8")
    assert text.startswith("# Eval &lt;run 7&gt;")
    for name in ("chartmimic", "unisvg", "chemdraw"):
        assert f"## {name}" in text
    assert "| ChartMimic | Exec rate | 91.2 |" in text or "| ChartMimic | Exec rate | 91.3 |" in text
    assert "| ChartMimic | Low-level | 55.0 |" in text
    assert "| ChartMimic | High-level | not run | no judge endpoint configured |" in text
    assert "| UniSVG | Score | 70.0 |" in text
    assert "| ChemDraw | Tanimoto | 12.3 |" in text
    # meta and summaries
    assert "- **model**: vinci-7b" in text
    assert "- exec_rate: 0.912" in text and "- low_level: 55.043" in text
    assert "1.235" in text and "- judge: —" in text
    assert "no scored samples (2 samples)" in text
    assert "mean 61.3 over 3 scored samples (1 not scored)" in text
    # plots by relative path
    for rel in ("plots/benchmarks.png", "plots/distributions.png", "plots/worst-chartmimic.png"):
        assert f"]({rel})" in text
    # notes are one escaped line: no raw tag, no table-breaking pipe, shortened
    assert SCRIPT not in text and "<script" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; second line of the answer" in text
    assert "C1=CC=CC=C1 \\| pipe" in text
    assert "x" * 200 not in text and "…" in text


def test_html_wide_table_embedded_images_and_escaping(written: ReportFiles):
    text = written.html.read_text(encoding="utf-8")
    assert '<th colspan="3">ChartMimic</th>' in text
    assert '<th colspan="1">UniSVG</th>' in text
    assert "<th>Exec rate</th><th>Low-level</th><th>High-level</th>" in text
    assert "not run" in text and "no judge endpoint configured" in text
    # self-contained: every image embedded, none referenced by path
    sources = re.findall(r'<img [^>]*src="([^"]+)"', text)
    assert len(sources) == 4 and all(src.startswith("data:image/png;base64,") for src in sources)
    for src in sources:
        with Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))) as img:
            assert img.format == "PNG"
    assert "plots/" not in text
    # untrusted text escaped
    assert SCRIPT not in text and "<script" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<title>Eval &lt;run 7&gt;</title>" in text


def right_half(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        array = np.asarray(img.convert("RGB"), dtype=np.int16)
    return array[:, array.shape[1] // 2 :]


def test_missing_render_draws_a_placeholder(tmp_path: Path):
    target = png("red", (120, 90))
    rendered = BenchmarkResult("b", "s", ["x"], [10.0], {}, [WorstExample("x", 10.0, target, png("red", (120, 90)))])
    missing = BenchmarkResult("b", "s", ["x"], [10.0], {}, [WorstExample("x", 10.0, target, None)])
    a = write_report(tmp_path / "a", title="t", table=[], results=[rendered], meta={})
    b = write_report(tmp_path / "b", title="t", table=[], results=[missing], meta={})
    path_a = next(p for p in a.plots if p.name == "worst-b.png")
    path_b = next(p for p in b.plots if p.name == "worst-b.png")
    half_a, half_b = right_half(path_a), right_half(path_b)
    assert half_a.shape == half_b.shape
    assert np.abs(half_a - half_b).mean() > 5
    # the rendered case shows red on the right; the placeholder is grey
    red = (half_a[..., 0] > 200) & (half_a[..., 1] < 60) & (half_a[..., 2] < 60)
    grey = np.abs(half_b - 200).max(axis=-1) <= 8
    assert red.mean() > 0.1 and grey.mean() > 0.1


def test_broken_and_huge_images_become_placeholders(monkeypatch: pytest.MonkeyPatch):
    array, problem = decode_thumbnail(b"not a png")
    assert problem == "unreadable image" and array.ndim == 3
    assert decode_thumbnail(None)[1] == "did not render"
    assert decode_thumbnail(b"")[1] == "empty image"
    monkeypatch.setattr(report_module, "MAX_DECODE_PIXELS", 1000)
    assert decode_thumbnail(png("red", (100, 100)))[1].startswith("image too large")
    monkeypatch.undo()
    big, problem = decode_thumbnail(png("red", (2000, 500)))
    assert problem is None and max(big.shape[:2]) <= report_module.THUMBNAIL_SIDE
    # transparency flattened on white
    buffer = io.BytesIO()
    Image.new("RGBA", (10, 10), (0, 0, 0, 0)).save(buffer, format="PNG")
    flat, problem = decode_thumbnail(buffer.getvalue())
    assert problem is None and flat.shape == (10, 10, 3) and flat.min() == 255


def test_report_survives_broken_images_and_math_text(tmp_path: Path):
    worst = [
        WorstExample("$\\frac{$", None, b"\x89PNG garbage", b"", note="$x^{ unbalanced $ \\alpha"),
        WorstExample("ok", 1.0, png("red"), png("blue"), note="\x00\x1b[31m control"),
    ]
    result = BenchmarkResult("image2struct", "ems", ["a", "b"], [None, 1.0], {}, worst)
    files = write_report(tmp_path, title="t", table=[], results=[result], meta={})
    assert any(p.name == "worst-image2struct.png" for p in files.plots)
    assert "\x00" not in files.markdown.read_text(encoding="utf-8")


def test_no_results(tmp_path: Path):
    out = tmp_path / "new" / "folder"
    files = write_report(out, title="Empty", table=[], results=[], meta={})
    assert out.is_dir() and files.plots == []
    assert not (out / "plots").exists()
    md = files.markdown.read_text(encoding="utf-8")
    assert "Nothing was scored" in md and "No Table 3 rows." in md
    assert "Nothing was scored" in files.html.read_text(encoding="utf-8")
    assert artifact_markdown(files) == md


def test_all_scores_missing(tmp_path: Path):
    result = BenchmarkResult("design2code", "block_match", ["p1", "p2", "p3"], [None, None, None], {"n": 3})
    table = [{"benchmark": "Design2Code", "metric": "Block-Match", "value": None, "note": "browser missing"}]
    files = write_report(tmp_path, title="t", table=table, results=[result], meta={"run": str(tmp_path)})
    assert sorted(p.name for p in files.plots) == ["benchmarks.png", "distributions.png"]
    md = files.markdown.read_text(encoding="utf-8")
    assert "no scored samples (3 samples)" in md
    assert "| Design2Code | Block-Match | not run | browser missing |" in md
    html_text = files.html.read_text(encoding="utf-8")
    assert '<th colspan="1">Design2Code</th>' in html_text


def test_rewriting_a_report_replaces_it(tmp_path: Path):
    write_report(tmp_path, title="first", table=[], results=results(), meta={})
    files = write_report(tmp_path, title="second", table=[], results=[], meta={})
    assert files.markdown.read_text(encoding="utf-8").startswith("# second")


def test_artifact_markdown_inlines_and_respects_the_cap(written: ReportFiles):
    inlined = artifact_markdown(written)
    assert inlined.count("](data:image/png;base64,") == 4
    assert "](plots/" not in inlined
    capped = artifact_markdown(written, max_image_bytes=10)
    assert "data:image/png;base64," not in capped
    for path in written.plots:
        assert f"`{path.resolve()}`" in capped
    # the rest of the report is unchanged
    assert capped.split("## Overview")[0] == written.markdown.read_text(encoding="utf-8").split("## Overview")[0]
    # a cap between the sizes inlines only the small ones
    sizes = sorted(path.stat().st_size for path in written.plots)
    partial = artifact_markdown(written, max_image_bytes=sizes[1])
    assert partial.count("](data:image/png;base64,") == 2


def test_formatting_helpers():
    assert shorten("a\n  b\tc") == "a b c"
    assert shorten("x" * 50, 10) == "x" * 9 + "…"
    assert format_value(0.123456) == "0.123"
    assert format_value(3) == "3"
    assert format_value(None) == "—"
    assert format_value(True) == "true"
    assert format_value(1.5e-5) == "1.5e-05"
    assert format_value({"a": 0.98765, "b": [1, 2.22222]}) == '{"a": 0.988, "b": [1, 2.222]}'
    assert format_value(float("nan")) == "nan"
    assert format_value(np.float32(2.5)) == "2.5"
