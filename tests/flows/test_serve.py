"""`make serve` / `make stop` (vinci/serve.py) and the deployments of prefect.yaml, end to end on loopback.

A real Prefect server with both work pools, every deployment and a process worker per pool; the ingest and render
deployments are run with `prefect deployment run` as a user would, one of them with a fault injected through the
flow run's environment (a job variable); artifacts and asset lineage are read back through the API; stop ends
exactly the processes start launched and leaves others alone."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml
from prefect.settings import PREFECT_API_URL, temporary_settings

from flows.lineage import asset_key
from storage.dataset import DataRoot
from vinci import faults, serve

pytestmark = pytest.mark.prefect
ROOT = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).with_name("prefect"))
DEMO = {"sources": [{"adapter": "demo", "size": 24, "seed": 7}], "shard_rows": 8}
RENDER = {"engine": {"sandbox_workers": 1, "browser_workers": 1}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Deployments:
    """`prefect deployment run NAME --watch` against the served API, and what the API says about the run."""

    def __init__(self, api: str, home: str):
        self.api = api
        self.env = {**os.environ, "PREFECT_API_URL": api, "PREFECT_HOME": home}

    def run(self, name: str, params: dict, env: dict[str, str] | None = None) -> str:
        args = [PREFECT, "--no-prompt", "deployment", "run", name, "--params", json.dumps(params)]
        args += ["--watch", "--watch-interval", "2", "--watch-timeout", "400"]
        if env:
            args += ["--job-variable", "env=" + json.dumps(env)]
        done = subprocess.run(args, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=450)
        match = re.search(r"UUID: ([0-9a-f-]{36})", done.stdout)
        assert match, done.stdout + done.stderr
        return match.group(1)

    def state(self, flow_run: str) -> str:
        return httpx.get(f"{self.api}/flow_runs/{flow_run}").raise_for_status().json()["state"]["name"]

    def task_runs(self, flow_run: str, prefix: str) -> list[dict]:
        body = {"flow_runs": {"id": {"any_": [flow_run]}}, "limit": 200}
        runs = httpx.post(f"{self.api}/task_runs/filter", json=body).raise_for_status().json()
        return sorted((r for r in runs if r["name"].startswith(prefix)), key=lambda r: r["name"])


def test_serve_runs_the_deployments_with_retries_resume_lineage_and_stops_exactly_its_processes(
    tmp_path, monkeypatch, prefect_reads
):
    monkeypatch.setenv("VINCI_SERVE_DIR", str(tmp_path / "serve"))
    monkeypatch.setenv("PREFECT_WORKER_QUERY_SECONDS", "2")  # workers poll every 2 s instead of 10
    root = str(tmp_path / "data")
    bystander = subprocess.Popen(["sleep", "600"], start_new_session=True)
    try:
        served = serve.start(port=_free_port())
        try:
            assert [p.name for p in served.processes] == ["server", "worker-vinci-cpu", "worker-vinci-gpu"]
            assert all(p.alive() for p in served.processes)
            api = served.api_url
            assert httpx.get(f"{api}/health").status_code == 200
            pools = httpx.post(f"{api}/work_pools/filter", json={}).json()
            assert {p["name"] for p in pools} >= set(serve.POOLS)
            deployed = httpx.post(f"{api}/deployments/filter", json={}).json()
            expected = {d["name"] for d in yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]}
            assert {d["name"] for d in deployed} == expected
            refresh = next(d for d in deployed if d["name"] == "refresh")
            assert refresh["schedules"][0]["schedule"]["cron"] == "0 2 * * *"
            assert refresh["global_concurrency_limit"]["limit"] == 1
            again = serve.start()  # already running: the same processes, nothing new
            assert [p.pid for p in again.processes] == [p.pid for p in served.processes]

            _run_ingest_and_render(Deployments(api, served.home), root, tmp_path / "faults")
            with temporary_settings({PREFECT_API_URL: api}):
                _check_lineage(root, prefect_reads)
        finally:
            stopped = serve.stop()
        assert stopped == ["worker-vinci-gpu", "worker-vinci-cpu", "server"]
        assert not any(p.alive() for p in served.processes)
        assert bystander.poll() is None  # not ours: untouched
        assert serve.stop() == []  # nothing left to stop
    finally:
        bystander.kill()
        bystander.wait()


def _run_ingest_and_render(deployments: Deployments, root: str, fault_state: Path) -> None:
    ingest = deployments.run("ingest/ingest", {"config": DEMO, "data_root": root, "workers": 2})
    assert deployments.state(ingest) == "Completed"
    assert [r["state"]["name"] for r in deployments.task_runs(ingest, "ingest-shard")] == ["Completed"] * 3

    # shard 2 fails on every attempt: its retries run out and the run fails; shards 0 and 1 finish
    render_params = {"config": RENDER, "data_root": root}
    permanent = {faults.ENV: "render.shard.2=error*99", faults.STATE_ENV: str(fault_state / "a")}
    failed = deployments.run("render/render", render_params, env=permanent)
    assert deployments.state(failed) == "Failed"
    shards = deployments.task_runs(failed, "render-shard")
    assert [r["state"]["name"] for r in shards] == ["Completed", "Completed", "Failed"]
    assert shards[2]["run_count"] == 3  # the first attempt and two retries with backoff
    assert faults.fired(permanent[faults.ENV], fault_state / "a") == {"render.shard.2=error": 3}

    # the re-run resumes: finished shards come from the cache, shard 2 hits a transient fault once, is retried
    # and the run ends Completed
    transient = {faults.ENV: "render.shard.2=oserror", faults.STATE_ENV: str(fault_state / "b")}
    resumed = deployments.run("render/render", render_params, env=transient)
    assert deployments.state(resumed) == "Completed"
    shards = deployments.task_runs(resumed, "render-shard")
    assert [r["state"]["name"] for r in shards] == ["Cached", "Cached", "Completed"]
    assert shards[2]["run_count"] == 2  # failed once, then succeeded on the retry
    assert faults.fired(transient[faults.ENV], fault_state / "b") == {"render.shard.2=oserror": 1}

    rerun = deployments.run("ingest/ingest", {"config": DEMO, "data_root": root, "workers": 2})
    assert deployments.state(rerun) == "Completed"
    assert [r["state"]["name"] for r in deployments.task_runs(rerun, "ingest-shard")] == ["Cached"] * 3


def _check_lineage(root: str, reads) -> None:
    ingest_uri = DataRoot(root).latest("ingest").uri
    render_uri = DataRoot(root).latest("render").uri
    found = reads.materializations(wait_for=[asset_key(ingest_uri), asset_key(render_uri)])
    assert found[asset_key(ingest_uri)]["upstream"] == ["demo://demo"]
    assert found[asset_key(render_uri)]["upstream"] == [asset_key(ingest_uri)]
    assert found[asset_key(render_uri)]["payload"]["rows"] == 24
    assert {"group": "total", "name": "rows", "count": 24} in reads.artifact("render-summary")
    assert asset_key(f"{render_uri}/manifest.json") in reads.artifact("render-output")
