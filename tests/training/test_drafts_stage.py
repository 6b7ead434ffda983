"""The drafts stage: specialists, the overlap rule, and the imperfect/perfect split, on real renders."""

from __future__ import annotations

import hashlib
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import training.generate
from schemas.sample import sample_id
from storage.dataset import DataRoot
from storage.query import scan
from tasks.drafts.specialists import OverlapError, _overlap
from tasks.drafts.stage import DraftsConfig, DraftsStage
from tasks.executor import run_local

BROKEN_PYTHON = "import matplotlib.pyplot as plt\nplt.plot([1, 2], [3, 4]\n"  # syntax error
OTHER_CHART = "import matplotlib.pyplot as plt\nplt.figure(figsize=(4, 3))\nplt.plot([0, 1], [1, 0], 'r-')\n"


def _config(specialists: dict, **extra) -> DraftsConfig:
    base = {
        "input": "dedup",
        "specialists": specialists,
        "train_fraction": 0.5,
        "threshold": 0.9,
        "generation": {"backend": "transformers", "batch_size": 4, "max_new_tokens": 24, "temperature": 1.0},
        "options": {"timeout_s": 20},
        "engine": {"sandbox_workers": 2},
    }
    return DraftsConfig.model_validate({**base, **extra})


def _run(config: DraftsConfig, root: str):
    stage = DraftsStage(config, root)
    manifest = run_local(stage, workers=1, progress=False)
    rows = scan("drafts", root).collect().to_dicts()
    rejected = scan("drafts", root, rejected=True).collect().to_dicts()
    return manifest, rows, rejected


def _check_refine_row(row: dict, parents: dict[str, dict]) -> dict:
    meta = json.loads(row["meta"])["draft"]
    parent = parents[meta["parent_id"]]
    assert row["task"] == "refine" and row["source_id"] == parent["source_id"] + "#refine"
    assert row["id"] == sample_id(row["source"], row["source_id"]) != parent["id"]
    assert row["code"] == parent["code"] and row["image"]["bytes"] == parent["image"]["bytes"]
    assert row["draft_code"] and row["draft_code"].strip() in row["instruction"]
    assert row["draft_model"].startswith(f"specialist-{row['domain']}:")
    assert (row["draft_score"] is None) == (not meta["render_ok"])
    return meta


def test_trained_specialists_draft_rows_they_did_not_see(tiny_model, curated_root, curated_rows):
    specialist = {
        "recipe": "tiny-cpu",
        "overrides": {"model": {"path": str(tiny_model)}, "trainer": {"max_steps": 1}, "data": {"max_rows": None}},
    }
    manifest, rows, rejected = _run(_config({"chart": specialist, "svg": specialist}), curated_root)
    parents = {r["id"]: r for r in curated_rows}
    records = manifest.extra["specialists"]
    # chart: half trains the specialist, the other half is drafted, and the two never meet
    chart, svg = records["chart"], records["svg"]
    assert chart["rule"] == "disjoint" and chart["checked"] and chart["overlap"] == 0
    assert chart["train_rows"] == 4 and chart["draft_rows"] == 4
    # svg: drafts come from the specialist's own training rows (paper §3.2.2)
    assert svg["rule"] == "own_subset" and svg["checked"] and svg["overlap"] == svg["draft_rows"] == 8
    chart_trained = set(pq.read_table(chart["train_ids"]).column("id").to_pylist())
    svg_trained = set(pq.read_table(svg["train_ids"]).column("id").to_pylist())
    drafted = [json.loads(r["meta"])["draft"]["parent_id"] for r in rows + rejected]
    assert len(drafted) == 12 == len(set(drafted))
    for row in rows:
        _check_refine_row(row, parents)
    chart_parents = {p for p in drafted if parents[p]["domain"] == "chart"}
    svg_parents = {p for p in drafted if parents[p]["domain"] == "svg"}
    assert chart_parents and not chart_parents & chart_trained
    assert svg_parents <= svg_trained
    assert {r["reason"] for r in rejected} <= {"perfect_draft", "empty_draft"}
    # the specialists are ordinary checkpoints, kept outside the dataset version and reused by the next run
    assert "/specialists/specialist-chart-" in chart["checkpoint"]
    assert DataRoot(curated_root).latest("drafts").version == manifest.version


class ScriptedGenerator:
    """Answers per target image: the ground truth, another chart, broken code or nothing."""

    name = "scripted"

    def __init__(self, answers: dict[str, str]):
        self.answers = answers

    def generate(self, images, instructions, **overrides):
        return [self.answers[hashlib.sha1(im["bytes"]).hexdigest()] for im in images]


def test_imperfect_and_perfect_drafts_are_split_by_the_rule(tiny_model, curated_root, curated_rows, monkeypatch):
    charts = [r for r in curated_rows if r["domain"] == "chart"]
    seen = charts[:2]  # the given specialist was trained on these two: they must not be drafted
    ids_file = f"{curated_root}/seen.parquet"
    pq.write_table(pa.table({"id": [r["id"] for r in seen]}), ids_file)
    unseen = charts[2:]
    plan = [
        "```python\n" + unseen[0]["code"] + "\n```",
        f"```python\n{OTHER_CHART}```",
        f"```python\n{BROKEN_PYTHON}```",
    ]
    plan += ["", f"Here you go:\n```py\n{unseen[4]['code']}\n```"]
    plan += [f"```python\n{BROKEN_PYTHON}```"] * (len(unseen) - len(plan))
    answers = {hashlib.sha1(r["image"]["bytes"]).hexdigest(): a for r, a in zip(unseen, plan, strict=True)}
    monkeypatch.setattr(training.generate, "make_generator", lambda spec, config: ScriptedGenerator(answers))

    specialist = {"checkpoint": str(tiny_model), "train_ids": ids_file}
    manifest, rows, rejected = _run(_config({"chart": specialist}, seed=3), curated_root)
    parents = {r["id"]: r for r in curated_rows}
    record = manifest.extra["specialists"]["chart"]
    assert record["trained_here"] is False and record["checked"] and record["overlap"] == 0
    by_parent = {json.loads(r["meta"])["draft"]["parent_id"]: r for r in rows}
    reasons = {
        r["id"] if r["reason"] == "empty_draft" else json.loads(r["meta"])["draft"]["parent_id"]: r for r in rejected
    }
    assert not ({r["id"] for r in seen} & (set(by_parent) | set(reasons)))
    # ground truth draws the target: perfect, dropped with its score
    for perfect in (unseen[0], unseen[4]):
        rej = reasons[perfect["id"]]
        assert rej["reason"] == "perfect_draft" and rej["draft_score"] >= 0.99
    # a different chart renders but scores below the threshold: imperfect, kept with its score
    other = by_parent[unseen[1]["id"]]
    assert _check_refine_row(other, parents)["render_ok"] and 0 <= other["draft_score"] < 0.9
    # broken code does not render: imperfect, kept without a score
    broken = by_parent[unseen[2]["id"]]
    meta = _check_refine_row(broken, parents)
    assert meta["render_ok"] is False and meta["error_kind"] == "syntax" and broken["draft_score"] is None
    # an empty answer is no draft at all
    assert reasons[unseen[3]["id"]]["reason"] == "empty_draft"
    assert manifest.rejected_by_reason == {"empty_draft": 1, "perfect_draft": 2}
    assert manifest.rows == len(unseen) - 3
    report = {r["domain"]: r for r in DraftsStage(manifest_config(manifest), curated_root).report(counters(manifest))}
    assert report["chart"]["perfect"] == 2 and report["chart"]["empty"] == 1
    assert report["chart"]["refine_rows"] == len(unseen) - 3


def manifest_config(manifest) -> DraftsConfig:
    return DraftsConfig.model_validate(manifest.config)


def counters(manifest) -> dict[str, int]:
    return manifest.extra["counters"]


def test_overlap_rule_refuses_drafts_the_specialist_saw():
    with pytest.raises(OverlapError, match="did not see"):
        _overlap("chart", "disjoint", {"a", "b"}, {"b", "c"}, "ids.parquet")
    assert _overlap("chart", "disjoint", {"a"}, {"c"}, "ids.parquet")["overlap"] == 0
    own = _overlap("svg", "own_subset", {"a", "b"}, {"a", "c"}, "ids.parquet")
    assert own["overlap"] == 1 and own["skipped_untrained"] == 1
    assert _overlap("web", "disjoint", {"a"}, None, None)["checked"] is False


def test_unknown_domain_is_refused():
    with pytest.raises(ValueError, match="unknown domain"):
        _config({"charts": {"checkpoint": "x"}})
