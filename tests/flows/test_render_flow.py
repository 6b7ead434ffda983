"""The render flow and the pipeline (ingest -> render) against a real temporary Prefect server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from flows.ingest import ingest
from flows.pipeline import pipeline
from flows.render import render
from storage.query import scan

pytestmark = pytest.mark.prefect

ROOT = Path(__file__).resolve().parents[2]
DEMO = {"sources": [{"adapter": "demo", "size": 30, "seed": 2}], "shard_rows": 10}
RENDER = {"engine": {"sandbox_workers": 2, "browser_workers": 1}}


def test_render_flow_renders_reports_and_caches(prefect_api, data_root):
    ingested = ingest(config=DEMO, data_root=data_root, workers=1)
    state = render(config=RENDER, data_root=data_root, return_state=True)
    summary = state.result()
    assert summary["rows"] == ingested["rows"] == 30 and summary["rejected"] == 0
    assert sum(n for k, n in summary["counters"].items() if k.startswith(("rendered_", "failed_"))) == 30
    assert prefect_api.task_states(state.state_details.flow_run_id, "render-shard") == ["Completed"] * 3
    frame = scan("render", data_root).collect()
    assert frame.height == 30 and frame["render_ok"].any()
    table = prefect_api.artifact("render-summary")
    assert {"group": "total", "name": "rows", "count": 30} in table
    assert any(r["group"] == "counter" and r["name"].startswith("rendered_") for r in table)

    again = render(config=RENDER, data_root=data_root, return_state=True)
    assert again.result()["version"] == summary["version"]
    assert prefect_api.task_states(again.state_details.flow_run_id, "render-shard") == ["Cached"] * 3


def test_pipeline_runs_ingest_then_render(prefect_server, data_root, tmp_path):
    (tmp_path / "ingest.yaml").write_text(yaml.safe_dump(DEMO))
    (tmp_path / "render.yaml").write_text(yaml.safe_dump(RENDER))
    stages = {"render": "render.yaml", "ingest": "ingest.yaml"}  # pipeline order comes from the registry
    (tmp_path / "pipeline.yaml").write_text(yaml.safe_dump({"stages": stages}))
    results = pipeline(config=str(tmp_path / "pipeline.yaml"), data_root=data_root, workers=2)
    assert list(results) == ["ingest", "render"]
    assert results["render"]["rows"] == results["ingest"]["rows"] == 30
    rendered = scan("render", data_root).collect()
    assert sorted(rendered["id"]) == sorted(scan("ingest", data_root).collect()["id"])


@pytest.mark.parametrize(
    "how",
    [
        # a Prefect worker loads the flow file by path, as the module `render`
        "from prefect.flows import load_flow_from_entrypoint\n"
        "flow = load_flow_from_entrypoint('flows/render.py:render', use_placeholder_flow=False)\n"
        "assert flow.name == 'render'\n",
        # Prefect leaves flows/ first on sys.path (spawned shard processes inherit it): the engine package must
        # not share a name with any flow file (it is `renderers`, the flow file is flows/render.py)
        "sys.path.insert(0, 'flows')\nimport tasks.stage\n",
    ],
    ids=["prefect-loader", "flows-on-sys-path"],
)
def test_flow_file_never_hides_the_engine_package(how):
    code = "import sys\n" + how + "import renderers.engine\nprint(sys.modules['renderers'].__file__)\n"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert Path(out.stdout.split()[-1]) == ROOT / "renderers" / "__init__.py"
