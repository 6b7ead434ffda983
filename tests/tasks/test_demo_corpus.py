"""Tests for the offline demo corpus generator (tasks.ingest.demo).

The validity tests run the real tools: matplotlib/RDKit in one subprocess,
cairosvg, pdflatex and asy.  A missing binary skips its test, naming it.
"""

from __future__ import annotations

import ast
import collections
import hashlib
import html.parser
import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tasks.ingest.demo import KINDS, REGISTRY, DemoSample, generate_sample, kind_of
from tasks.ingest.demo.chart_defects import DEFECTS
from tasks.ingest.demo.mermaid import KEYWORDS
from tasks.ingest.demo.molecules import MOLECULES

CHART_FLAWS = set(DEFECTS)
WEB_FLAWS = {"has_hyperlink", "has_image", "non_english"}
DOMAINS = {"chart", "web", "svg", "latex", "science"}
LANGUAGES = {"python", "html", "svg", "latex", "mermaid", "asymptote", "smiles"}
VALIDITY_SEEDS = (3, 11)


def corpus(seed: int, count: int) -> list[DemoSample]:
    return [generate_sample(seed, i) for i in range(count)]


def clean_by_kind(per_kind: int, seeds: tuple[int, ...] = VALIDITY_SEEDS) -> dict[str, list[DemoSample]]:
    """Up to `per_kind` clean samples of every kind, taken from the first blocks of a few seeds."""
    found: dict[str, list[DemoSample]] = collections.defaultdict(list)
    for seed in seeds:
        for index in range(4 * len(KINDS)):
            sample = generate_sample(seed, index)
            if not sample.flaws and len(found[sample.kind]) < per_kind:
                found[sample.kind].append(sample)
    return found


@pytest.fixture(scope="module")
def big() -> list[DemoSample]:
    return corpus(7, 2000)


@pytest.fixture(scope="module")
def clean() -> dict[str, list[DemoSample]]:
    return clean_by_kind(3)


def need(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        pytest.skip(f"{binary} is not installed")
    return path


# --- determinism ---


def test_same_seed_and_index_give_identical_samples():
    for index in (0, 1, 5, 42, 43, 999, 12345):
        assert generate_sample(5, index) == generate_sample(5, index)


def test_generation_order_does_not_matter():
    forward = [generate_sample(9, i) for i in range(120)]
    backward = [generate_sample(9, i) for i in reversed(range(120))][::-1]
    assert forward == backward
    assert generate_sample(9, 77) == forward[77]


def test_different_seeds_differ():
    a, b = corpus(1, 60), corpus(2, 60)
    assert sum(x.code != y.code for x, y in zip(a, b, strict=True)) > 50
    assert [s.kind for s in a] != [s.kind for s in b]


def test_independent_of_hash_seed_and_process():
    script = textwrap.dedent(
        """
        import hashlib, json
        from tasks.ingest.demo import generate_sample
        digests = [hashlib.sha256(repr(generate_sample(4, i)).encode()).hexdigest() for i in range(90)]
        print(json.dumps(digests))
        """
    )
    root = str(Path(__file__).resolve().parents[2])
    paths = [root, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": os.pathsep.join(paths)}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    here = [hashlib.sha256(repr(generate_sample(4, i)).encode()).hexdigest() for i in range(90)]
    assert json.loads(out.stdout) == here


# --- coverage ---


def test_every_aligned_block_contains_every_kind():
    n = len(KINDS)
    assert len(set(KINDS)) == n
    for seed in (0, 1, 17):
        for block in range(3):
            kinds = [generate_sample(seed, block * n + i).kind for i in range(n)]
            assert sorted(kinds) == sorted(KINDS)
            assert kinds == [kind_of(seed, block * n + i) for i in range(n)]


def test_kinds_domains_and_languages_cover_the_spec():
    chart_kinds = [k for k in KINDS if k.startswith("chart/")]
    assert len(chart_kinds) >= 12
    assert len([k for k in KINDS if k.startswith("web/")]) >= 6
    samples = corpus(0, len(KINDS))
    assert {s.domain for s in samples} == DOMAINS
    assert {s.language for s in samples} == LANGUAGES
    for sample in samples:
        spec = REGISTRY[sample.kind]
        assert sample.domain == sample.kind.split("/")[0] == spec.domain
        assert (sample.subdomain, sample.language) == (spec.subdomain, spec.language)
        assert sample.code.strip() and sample.title.strip()
        assert sample.title.isascii(), sample.title


def test_samples_vary_within_a_kind(big):
    by_kind = collections.defaultdict(set)
    for sample in big:
        by_kind[sample.kind].add(sample.code)
    for kind in KINDS:
        if kind == "science/molecule_smiles":
            assert len(by_kind[kind]) >= 20
        else:
            assert len(by_kind[kind]) >= 0.9 * sum(s.kind == kind for s in big), kind


# --- flaws ---


def test_flaw_rates_and_placement(big):
    charts = [s for s in big if s.domain == "chart"]
    pages = [s for s in big if s.domain == "web"]
    for sample in big:
        if sample.domain == "chart":
            assert len(sample.flaws) <= 1 and set(sample.flaws) <= CHART_FLAWS
        elif sample.domain == "web":
            assert set(sample.flaws) <= WEB_FLAWS
        else:
            assert sample.flaws == ()
    spoiled = sum(bool(s.flaws) for s in charts) / len(charts)
    assert 0.12 < spoiled < 0.28
    assert {f for s in charts for f in s.flaws} == CHART_FLAWS

    def rate(name: str) -> float:
        return sum(name in s.flaws for s in pages) / len(pages)

    assert 0.07 < rate("has_hyperlink") < 0.25
    assert 0.04 < rate("has_image") < 0.18
    assert 0.02 < rate("non_english") < 0.16


def test_chart_flaws_are_what_they_claim(big):
    for sample in (s for s in big if s.domain == "chart"):
        code = sample.code
        if not sample.flaws:
            ast.parse(code)
            assert "import numpy as np" in code and "np." in code
            assert "```" not in code and "seaborn" not in code and "\t" not in code
            continue
        flaw = sample.flaws[0]
        if flaw == "missing_import":
            assert "import numpy as np" not in code and "np." in code
            ast.parse(code)
        elif flaw == "markdown_fence":
            assert "```python\n" in code and not code.startswith("```")
        elif flaw == "py2_print":
            assert re.search(r'^print "', code, re.M)
            with pytest.raises(SyntaxError):
                ast.parse(code)
        elif flaw == "deprecated_style":
            assert "plt.style.use('seaborn" in code
            ast.parse(code)
        elif flaw == "tabs_mixed":
            assert "\t" in code
            with pytest.raises(TabError):
                compile(code, "chart.py", "exec")
        elif flaw == "truncated":
            assert code.count("(") > code.count(")")
            with pytest.raises(SyntaxError):
                ast.parse(code)


class _TagCollector(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)


def test_html_pages_parse_and_flags_match_content(big):
    for sample in (s for s in big if s.domain == "web"):
        parser = _TagCollector()
        parser.feed(sample.code)
        parser.close()
        assert {"html", "head", "style", "body", "title"} <= set(parser.tags)
        assert sample.code.startswith("<!DOCTYPE html>")
        assert "<link" not in sample.code and "<script" not in sample.code
        has_link = "href=" in sample.code
        has_image = "<img" in sample.code or "url(" in sample.code
        assert has_link == ("has_hyperlink" in sample.flaws)
        assert has_image == ("has_image" in sample.flaws)
        english = '<html lang="en">' in sample.code
        assert english == ("non_english" not in sample.flaws)


# --- validity with the real tools ---

_DRIVER = textwrap.dedent(
    """
    import json, os, sys, tempfile, traceback
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(sys.argv[1]) as handle:
        jobs = json.load(handle)
    results = []
    root = tempfile.mkdtemp()
    for i, code in enumerate(jobs):
        work = os.path.join(root, str(i))
        os.makedirs(work)
        os.chdir(work)
        error = None
        try:
            exec(compile(code, f"sample_{i}.py", "exec"), {"__name__": "__main__"})
        except Exception:
            error = traceback.format_exc(limit=3)
        images = [f for f in os.listdir(work) if f.endswith(".png") and os.path.getsize(f) > 0]
        results.append({"error": error, "images": images, "figures": len(plt.get_fignums())})
        plt.close("all")
    print(json.dumps(results))
    """
)


def run_python_batch(codes: list[str], tmp_path: Path) -> list[dict]:
    jobs = tmp_path / "jobs.json"
    jobs.write_text(json.dumps(codes))
    env = {**os.environ, "MPLBACKEND": "Agg"}
    done = subprocess.run(
        [sys.executable, "-c", _DRIVER, str(jobs)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_clean_python_samples_execute(clean, tmp_path):
    pytest.importorskip("matplotlib")
    with_rdkit = importlib.util.find_spec("rdkit") is not None
    samples = [
        s for kind in KINDS for s in clean[kind] if s.language == "python" and (s.domain == "chart" or with_rdkit)
    ]
    assert {s.kind for s in samples} >= {k for k in KINDS if k.startswith("chart/")}
    results = run_python_batch([s.code for s in samples], tmp_path)
    for sample, result in zip(samples, results, strict=True):
        assert result["error"] is None, f"{sample.kind}: {result['error']}\n{sample.code}"
        if sample.domain == "chart":
            assert result["figures"] or result["images"], sample.kind
            if "plt.savefig(" in sample.code:
                assert "output.png" in result["images"]
        else:
            assert result["images"], f"{sample.kind} wrote no image"


def test_molecule_table_and_smiles_samples_parse(clean):
    chem = pytest.importorskip("rdkit.Chem")
    from rdkit import RDLogger
    from rdkit.Chem.rdMolDescriptors import CalcMolFormula

    RDLogger.DisableLog("rdApp.*")
    assert len(MOLECULES) >= 60
    assert len({name for name, _, _ in MOLECULES}) == len(MOLECULES)
    for name, smiles, formula in MOLECULES:
        mol = chem.MolFromSmiles(smiles)
        assert mol is not None, name
        assert CalcMolFormula(mol) == formula, name
    for sample in clean["science/molecule_smiles"]:
        assert chem.MolFromSmiles(sample.code) is not None


def test_svg_parses_and_renders_non_blank(clean):
    cairosvg = pytest.importorskip("cairosvg")
    image = pytest.importorskip("PIL.Image")
    for kind in (k for k in KINDS if k.startswith("svg/")):
        for sample in clean[kind]:
            root = ET.fromstring(sample.code)
            assert root.tag == "{http://www.w3.org/2000/svg}svg"
            assert root.get("viewBox") or (root.get("width") and root.get("height"))
            png = cairosvg.svg2png(bytestring=sample.code.encode(), output_width=128, output_height=128)
            picture = image.open(io.BytesIO(png)).convert("RGBA")
            assert picture.getchannel("A").getextrema()[1] > 0, sample.title
            assert any(low != high for low, high in picture.getextrema()), sample.title


def _compile_latex(args: tuple[int, str, Path]) -> tuple[int, str]:
    number, code, folder = args
    if "\\documentclass" not in code:
        code = "\\documentclass[tikz]{standalone}\n\\begin{document}\n" + code + "\\end{document}\n"
    tex = folder / f"doc{number}.tex"
    tex.write_text(code)
    cmd = ["pdflatex", "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error", tex.name]
    done = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, timeout=120)
    pdf = tex.with_suffix(".pdf")
    if done.returncode != 0 or not pdf.exists():
        return 0, done.stdout[-2000:]
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
        return int(re.search(r"Pages:\s+(\d+)", info).group(1)), ""
    return 1, ""


def test_latex_compiles_to_one_page(clean, tmp_path):
    need("pdflatex")
    samples = [s for k in KINDS if k.startswith("latex/") for s in clean[k][:2]]
    assert any("\\documentclass" not in s.code for s in samples) or len(samples) < 4
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(_compile_latex, [(i, s.code, tmp_path) for i, s in enumerate(samples)]))
    for sample, (pages, log) in zip(samples, results, strict=True):
        assert pages == 1, f"{sample.kind}: {log}\n{sample.code}"
    assert all("pgfplots" not in s.code and "fontspec" not in s.code for s in samples)


def _compile_asy(args: tuple[int, str, Path]) -> tuple[bool, str]:
    number, code, folder = args
    source = folder / f"fig{number}.asy"
    source.write_text(code)
    done = subprocess.run(
        ["asy", "-safe", "-f", "png", source.name], cwd=folder, capture_output=True, text=True, timeout=120
    )
    png = source.with_suffix(".png")
    return done.returncode == 0 and png.exists() and png.stat().st_size > 0, done.stderr[-2000:]


def test_asymptote_compiles(clean, tmp_path):
    need("asy")
    samples = [s for k in KINDS if k.startswith("science/asymptote") for s in clean[k][:2]]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(_compile_asy, [(i, s.code, tmp_path) for i, s in enumerate(samples)]))
    for sample, (ok, log) in zip(samples, results, strict=True):
        assert ok, f"{sample.kind}: {log}\n{sample.code}"


def test_mermaid_samples_start_with_a_diagram_keyword(big):
    mermaid = [s for s in big if s.language == "mermaid"]
    assert mermaid
    seen = set()
    for sample in mermaid:
        first = sample.code.split(None, 1)[0]
        assert first in KEYWORDS, sample.code
        assert len(sample.code.strip().splitlines()) >= 3
        assert sample.code.count("{") == sample.code.count("}")
        seen.add(first)
    assert {"flowchart", "sequenceDiagram", "classDiagram", "stateDiagram-v2", "pie", "gantt"} <= seen
