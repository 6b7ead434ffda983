"""`make serve` / `make stop` (vinci/serve.py): a real Prefect server on loopback with both work pools, every
deployment of prefect.yaml and a worker per pool; a second start finds the running set; stop ends exactly those
processes and leaves others alone."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml

from vinci import serve

pytestmark = pytest.mark.prefect
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_starts_server_pools_deployments_workers_and_stop_ends_exactly_them(tmp_path, monkeypatch):
    monkeypatch.setenv("VINCI_SERVE_DIR", str(tmp_path / "serve"))
    bystander = subprocess.Popen(["sleep", "300"], start_new_session=True)
    try:
        served = serve.start(port=_free_port())
        try:
            assert [p.name for p in served.processes] == ["server", "worker-vinci-cpu", "worker-vinci-gpu"]
            assert all(p.alive() for p in served.processes)
            api = served.api_url
            assert httpx.get(f"{api}/health").status_code == 200
            pools = httpx.post(f"{api}/work_pools/filter", json={}).json()
            assert {p["name"] for p in pools} >= set(serve.POOLS)
            deployments = httpx.post(f"{api}/deployments/filter", json={}).json()
            expected = {d["name"] for d in yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]}
            assert {d["name"] for d in deployments} == expected
            again = serve.start()  # already running: the same processes, nothing new
            assert [p.pid for p in again.processes] == [p.pid for p in served.processes]
        finally:
            stopped = serve.stop()
        assert stopped == ["worker-vinci-gpu", "worker-vinci-cpu", "server"]
        assert not any(p.alive() for p in served.processes)
        assert bystander.poll() is None  # not ours: untouched
        assert serve.stop() == []  # nothing left to stop
    finally:
        bystander.kill()
        bystander.wait()
