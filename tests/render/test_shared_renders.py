"""The real third-party samples render (Done-when of the render engine): ChartMimic charts against their
reference PNGs, TikZ documents, SVG icons, every SMILES, and every sandbox-rendered kind of the demo corpus."""

from __future__ import annotations

import csv
import io
import statistics

import imagehash
import pytest
from PIL import Image

from renderers import EngineConfig, RenderEngine
from tasks.ingest.demo import KINDS, generate_sample


@pytest.fixture(scope="module")
def engine():
    eng = RenderEngine(EngineConfig(sandbox_workers=2, browser_workers=1))
    eng.warm_up("sandbox")
    yield eng
    eng.close()


def render_all(engine, items):
    return list(engine.render_many(items))


@pytest.mark.slow  # ~40 s over all 120 charts; `make test-slow` and `make fidelity` cover it
def test_chartmimic_charts_render_and_match_their_references(engine, shared_data):
    files = sorted((shared_data / "charts").glob("*.py"))
    results = render_all(engine, [(f.read_text(), "python") for f in files])
    ok = [(f, r) for f, r in zip(files, results, strict=True) if r.ok]
    failed = [(f.name, r.error_message) for f, r in zip(files, results, strict=True) if not r.ok]
    assert len(ok) / len(files) >= 0.97, failed
    same_size = 0
    dists = []
    for f, r in ok:
        ref = Image.open(f.with_suffix(".png")).convert("RGB")
        img = Image.open(io.BytesIO(r.image)).convert("RGB")
        # references are PDFs cropped (bbox_inches="tight") with the PDF backend's text metrics and rasterised by
        # pdftoppm; Agg's tight box differs by a few pixels
        same_size += all(abs(a - b) <= max(4, 0.015 * a) for a, b in zip(ref.size, img.size, strict=True))
        dists.append(imagehash.phash(ref) - imagehash.phash(img))
    distances = sorted(dists)
    assert same_size / len(ok) >= 0.95
    assert statistics.median(distances) <= 4
    assert sum(d <= 8 for d in distances) / len(distances) >= 0.95


def test_tikz_documents_render(engine, shared_data):
    files = sorted((shared_data / "tikz").glob("*.tex"))
    results = render_all(engine, [(f.read_text(), "latex") for f in files])
    assert [(f.name, r.error_message) for f, r in zip(files, results, strict=True) if not r.ok] == []


def test_svg_icons_render(engine, shared_data):
    files = sorted((shared_data / "svg").glob("*.svg"))
    results = render_all(engine, [(f.read_text(), "svg") for f in files])
    assert all(r.ok and not r.diagnostics.get("blank") for r in results)


def test_every_smiles_renders(engine, shared_data):
    with open(shared_data / "molecules" / "smiles.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    results = render_all(engine, [(row["smiles"], "smiles") for row in rows])
    assert [row["id"] for row, r in zip(rows, results, strict=True) if not r.ok] == []


def test_every_kind_and_language_of_the_demo_corpus_renders(engine):
    by_kind: dict[str, list] = {kind: [] for kind in KINDS}
    for seed in range(10):  # two clean samples of every kind (flawed ones are the repair stage's input)
        for i in range(len(KINDS)):
            sample = generate_sample(seed, i)
            if not sample.flaws and len(by_kind[sample.kind]) < 2:
                by_kind[sample.kind].append(sample)
    samples = [s for found in by_kind.values() for s in found]
    results = render_all(engine, [(s.code, s.language) for s in samples])
    assert [(s.kind, r.error_kind, r.error_message) for s, r in zip(samples, results, strict=True) if not r.ok] == []
    assert {s.kind for s in samples} == set(KINDS)
    assert {s.language for s in samples} == {"python", "svg", "latex", "asymptote", "smiles", "html", "mermaid"}
