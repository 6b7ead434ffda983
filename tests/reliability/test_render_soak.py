"""Hostile code at scale, CI size: benchmarks/render_soak.py's own run, small.

One engine renders demo-corpus samples of every language alone (phase A), then the same samples with hostile ones
mixed in (phase B: every attack of benchmarks/hostile_corpus.py at least once). Every hostile sample must end as one
of its typed failures and leak nothing, every clean sample must end exactly as it did without the hostile ones, the
pools must still serve, nothing may be left running after close, and the workers' resident memory must stay
bounded while workers are recycled (`max_jobs_per_worker` is small here so that recycling happens during the run).

Throughput is reported (soak.json), never asserted: the machine is shared and noisy.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import render_soak  # noqa: E402
from benchmarks.hostile_corpus import hostile_corpus  # noqa: E402
from renderers.chromium import SYSTEM_CHROMIUM  # noqa: E402
from renderers.engine import mermaid_js  # noqa: E402

BROWSER_OK = os.access(SYSTEM_CHROMIUM, os.X_OK) and mermaid_js().is_file()
LANGUAGES = ["python", "svg", "smiles", "latex", "asymptote"] + (["html", "mermaid"] if BROWSER_OK else [])
CONFIG = render_soak.SoakConfig(
    renders=100,  # phase B; phase A renders its 80 clean samples: 180 renders in all
    hostile_fraction=0.2,  # 20 hostile samples: every attack kind at least once (kinds are dealt in rounds)
    workers=2,
    browser_workers=1,
    timeout=2.0,
    sample_every=10,
    languages=LANGUAGES,
    max_jobs_per_worker=50,  # a recycle of each sandbox worker and of the browser worker during the run
)


@pytest.fixture(scope="module")
def soak(tmp_path_factory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("soak")
    report = render_soak.run_soak(CONFIG, out, log=lambda *args: None)
    print("\n" + render_soak.summary(report))
    return report, out


def test_hostile_samples_are_spread_evenly_and_every_kind_is_dealt(tmp_path):
    with hostile_corpus(tmp_path) as corpus:
        attacks = corpus.samples()
    clean = [render_soak.Item(-1, "clean", "svg", "<svg/>", None, clean_id=i) for i in range(900)]
    mixed = render_soak.mixed_items(clean, attacks, 1000, seed=3)
    assert [it.clean_id for it in mixed if it.hostile is None] == list(range(900))  # clean order kept
    positions = [it.index for it in mixed if it.hostile is not None]
    assert len(positions) == 100 and all(10 * k <= p < 10 * (k + 1) for k, p in enumerate(positions))
    counts = Counter(it.kind for it in mixed if it.hostile is not None)
    assert set(counts) == {a.kind for a in attacks} and max(counts.values()) - min(counts.values()) <= 1
    again = render_soak.mixed_items(clean, attacks, 1000, seed=3)
    assert [it.kind for it in again] == [it.kind for it in mixed]  # seeded


def test_every_hostile_sample_ends_as_a_typed_failure(soak, tmp_path):
    report, _ = soak
    pools = {render_soak.renderer(lang).POOL for lang in LANGUAGES}
    with hostile_corpus(tmp_path) as corpus:
        applicable = {a.kind for a in corpus.samples() if render_soak.renderer(a.language).POOL in pools}
    assert set(report["hostile"]) == applicable
    assert report["unexpected_hostile"] == []
    for kind, entry in report["hostile"].items():
        assert "ok" not in entry["outcomes"], kind
        assert set(entry["outcomes"]) <= set(entry["expected"]), (kind, entry)
    assert report["breaches"] == []


def test_clean_samples_end_as_they_did_without_hostile_ones(soak):
    report, _ = soak
    assert report["clean_mismatches"] == []
    assert report["outcomes"]["clean_run"] == report["outcomes"]["mixed_run_clean_samples"]
    outcomes = report["outcomes"]["clean_run"]
    assert outcomes.get("ok", 0) >= 0.75 * report["counts"]["clean"], outcomes  # only the demo's deliberate defects
    assert not {"timeout", "memory", "sandbox"} & set(outcomes), outcomes


def test_pools_still_serve_and_nothing_is_left_running(soak):
    report, _ = soak
    assert set(report["post_check"].values()) == {"ok"}, report["post_check"]
    assert report["leftovers"]["ours"] == []
    assert report["leftovers"]["hostile"] == {"connections": [], "files": [], "marker_processes": []}
    assert sum(pool["recycled"] for pool in report["pools"].values()) >= 1  # recycling really happened
    assert report["failures"] == []


def test_resident_memory_stays_bounded(soak):
    report, _ = soak
    memory = report["memory"]
    # The bounds and the measurements behind them are in benchmarks/render_soak.py (RSS_GROWTH_FACTOR): sandbox
    # workers are flat (~300 MB each, before and after a recycle), the browser worker's tree moves by up to ~350 MB
    # between samples; one leaked retired worker (>= 300 MB) breaks the sandbox bound, a growing browser the total's.
    total, sandbox = memory["all"], memory["per_pool"]["sandbox"]
    assert total["last_quarter_max_mb"] <= (
        render_soak.RSS_GROWTH_FACTOR * total["first_quarter_max_mb"] + render_soak.RSS_SLACK_MB
    ), memory
    assert sandbox["last_quarter_max_mb"] <= sandbox["first_quarter_max_mb"] + render_soak.SANDBOX_SLACK_MB, memory
    assert sandbox["first_quarter_max_mb"] / CONFIG.workers >= 100, sandbox  # it measured the warm workers themselves
    assert memory["bound"]["ok"]
    assert report["samples"][-1]["unattached"] == []  # nothing outside the live workers' trees once the run is done


def test_the_report_and_the_curve_are_written(soak):
    report, out = soak
    saved = json.loads((out / "soak.json").read_text())
    assert saved["counts"] == report["counts"] == {"clean": 80, "mixed": 100, "hostile": 20, "renders": 180}
    assert len(saved["samples"]) == 1 + 18 and saved["samples"][-1]["renders"] == 180
    assert all(s["workers"] for s in saved["samples"])
    for key in ("clean_run_renders_per_s", "mixed_run_renders_per_s", "mixed_run_clean_renders_per_s", "slowdown"):
        assert saved["throughput"][key] > 0
    assert (out / "soak_rss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
