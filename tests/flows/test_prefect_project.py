"""prefect.yaml stays loadable: every deployment's entrypoint imports and its parameters fit the flow."""

from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from prefect.flows import load_flow_from_entrypoint

ROOT = Path(__file__).resolve().parents[2]


def test_every_deployment_entrypoint_loads(monkeypatch):
    monkeypatch.chdir(ROOT)
    project = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    names = {d["name"] for d in project["deployments"]}
    from tasks.registry import PIPELINE_ORDER

    assert {*PIPELINE_ORDER, "pipeline"} <= names  # every stage and training step has a deployment
    for deployment in project["deployments"]:
        flow = load_flow_from_entrypoint(deployment["entrypoint"])
        assert flow.name == ("pipeline" if deployment["name"] == "refresh" else deployment["name"])
        params = deployment.get("parameters", {})
        flow.validate_parameters(params)
        for value in params.values():
            if isinstance(value, str) and value.endswith(".yaml"):
                assert (ROOT / value).is_file(), value
        # models run on the GPU pool, data stages on the CPU pool
        gpu = deployment["name"] in ("drafts", "merge", "sft", "virl", "evaluate")
        assert deployment["work_pool"]["name"] == ("vinci-gpu" if gpu else "vinci-cpu")


def test_nightly_refresh_is_the_data_stages_on_a_schedule_one_run_at_a_time():
    from tasks.registry import STAGES, load_pipeline

    project = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    refresh = next(d for d in project["deployments"] if d["name"] == "refresh")
    (schedule,) = refresh["schedules"]
    assert schedule["cron"] == "0 2 * * *" and schedule["active"]
    ZoneInfo(schedule["timezone"])  # a real IANA zone
    assert refresh["concurrency_limit"] == {"limit": 1, "collision_strategy": "ENQUEUE"}
    cfg, stages = load_pipeline(str(ROOT / refresh["parameters"]["config"]))
    assert [name for name, _ in stages] == ["ingest", "repair", "filter", "render", "dedup"]
    assert all(name in STAGES for name, _ in stages)  # data only: no training in the nightly run
