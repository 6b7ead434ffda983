"""The repair and dedup flows against a real temporary Prefect server: report artifact, survey and decide tasks,
and a re-run that neither surveys nor decides again."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.dedup import dedup
from flows.repair import repair
from tasks.executor import run_local
from tasks.registry import build_stage

pytestmark = pytest.mark.prefect


@pytest.fixture
def charts(shared_data, data_root) -> str:
    """The 120 shared ChartMimic scripts with their reference PNGs, ingested in 3 shards."""
    source = {"adapter": "folder", "name": "chartmimic", "path": str(shared_data / "charts"), "domain": "chart"}
    run_local(build_stage("ingest", {"sources": [source], "shard_rows": 40}, data_root), workers=1, progress=False)
    return data_root


def test_repair_flow_publishes_its_report(prefect_api, charts):
    summary = repair(config={"prove": "off"}, data_root=charts, workers=2)
    assert summary["rows"] + summary["rejected"] == 120
    report = prefect_api.artifact("repair-report")
    assert report == summary["report"] and report[0]["source"] == "chartmimic"
    assert report[0]["parse_after_pct"] == 100.0 and report[0]["proved"] == 0


def test_dedup_flow_surveys_decides_once_and_resumes(prefect_api, charts):
    config = {"input": "ingest", "sample": {"size": 40, "clusters": 8}}
    state = dedup(config=config, data_root=charts, workers=2, return_state=True)
    summary = state.result()
    assert summary["rows"] == 40 and summary["rejected"] == 80
    assert summary["rejected_by_reason"]["not_sampled"] >= 70
    runs = prefect_api.task_runs(state.state_details.flow_run_id)
    assert sorted(n for n in runs if n.startswith("dedup-survey")) == [f"dedup-survey-{i:05d}" for i in range(3)]
    assert any(n.startswith("decide") for n in runs)
    version = Path(summary["uri"])
    assert (version / "_decision.parquet").is_file() and len(list((version / "_survey").iterdir())) == 3

    again = dedup(config=config, data_root=charts, workers=2, return_state=True)
    assert again.result()["version"] == summary["version"] and again.result()["rows"] == 40
    rerun = prefect_api.task_runs(again.state_details.flow_run_id)
    assert not any(n.startswith(("dedup-survey", "decide")) for n in rerun)  # the decision exists: no survey
