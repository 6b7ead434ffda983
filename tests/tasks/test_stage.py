"""The generic stage loop: versions, resume, rejections for invalid rows, incomplete runs."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from schemas import sample_id
from storage import DataRoot, InputRecord
from storage.query import scan
from tasks.stage import (
    IncompleteRun,
    Rejection,
    Stage,
    Tally,
    finalize_stage,
    plan_stage,
    run_shard,
    shard_jobs,
)

CALLS: list[int] = []


class CountConfig(BaseModel):
    n: int = 10
    per_shard: int = 4
    workers: int | None = None


class CountStage(Stage):
    """Rows 0..n-1; every 5th is rejected, row 7 is invalid (bad domain) to exercise write-time validation."""

    name = "count"
    code_modules = ("tasks.stage",)
    config: CountConfig

    def inputs(self) -> list[InputRecord]:
        return [InputRecord(name="numbers", kind="test", fingerprint=f"n={self.config.n}")]

    def shard_specs(self, version) -> list[dict[str, Any]]:
        step = self.config.per_shard
        return [{"start": s, "stop": min(s + step, self.config.n)} for s in range(0, self.config.n, step)]

    def process(self, spec):
        CALLS.append(spec["start"])
        for i in range(spec["start"], spec["stop"]):
            yield Tally("seen")
            if i % 5 == 0:
                yield Rejection("multiple_of_five", f"{i} % 5 == 0", {"source": "numbers", "source_id": str(i)})
                continue
            yield {
                "id": sample_id("numbers", str(i)),
                "domain": "mystery" if i == 7 else "chart",
                "subdomain": None,
                "language": "python",
                "task": "direct",
                "instruction": "Draw.",
                "code": f"print({i})",
                "draft_code": None,
                "image": None,
                "image_width": None,
                "image_height": None,
                "source": "numbers",
                "source_id": str(i),
                "split": "train",
                "meta": None,
            }


def run_all(stage: Stage):
    plan = plan_stage(stage)
    for job in shard_jobs(plan):
        run_shard(stage, job)
    return plan, finalize_stage(stage, plan)


def test_rows_rejections_counters_and_invalid_rows(tmp_path):
    CALLS.clear()
    plan, manifest = run_all(CountStage(CountConfig(), str(tmp_path)))
    assert manifest.shards == 3 and manifest.rows == 7 and manifest.rejected == 3
    assert manifest.rejected_by_reason == {"multiple_of_five": 2, "schema_invalid": 1}
    assert manifest.extra["counters"] == {"seen": 10}
    rejected = scan("count", str(tmp_path), rejected=True).collect()
    invalid = rejected.filter(rejected["reason"] == "schema_invalid").to_dicts()[0]
    assert invalid["source_id"] == "7" and "column 'domain'" in invalid["reason_detail"]
    assert "'mystery' is not one of" in invalid["reason_detail"]


def test_finished_shards_are_skipped_and_version_is_stable(tmp_path):
    CALLS.clear()
    stage = CountStage(CountConfig(), str(tmp_path))
    plan = plan_stage(stage)
    jobs = shard_jobs(plan)
    run_shard(stage, jobs[0])
    with pytest.raises(IncompleteRun, match="2 shard"):
        finalize_stage(stage, plan)
    again = plan_stage(CountStage(CountConfig(workers=8), str(tmp_path)))  # execution knobs don't change the version
    assert again.version == plan.version and again.incarnation == plan.incarnation
    reports = [run_shard(stage, job) for job in shard_jobs(again)]
    assert [r.skipped for r in reports] == [True, False, False]
    assert CALLS == [0, 4, 8]
    finalize_stage(stage, again)
    assert DataRoot(str(tmp_path)).latest("count").version == plan.version


def test_a_different_config_is_a_new_version_and_old_stays(tmp_path):
    _, first = run_all(CountStage(CountConfig(n=10), str(tmp_path)))
    _, second = run_all(CountStage(CountConfig(n=12), str(tmp_path)))
    assert first.version != second.version
    root = DataRoot(str(tmp_path))
    assert root.latest("count").version == second.version
    assert sorted(root.versions("count")) == sorted([first.version, second.version])
    assert root.version("count", first.version).manifest().rows == 7
