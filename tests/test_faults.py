"""vinci/faults.py: injected faults fire at their points, the set number of times, counted across processes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from vinci import faults


def test_nothing_happens_without_the_variable(monkeypatch):
    monkeypatch.delenv(faults.ENV, raising=False)
    faults.inject("render.shard.0")


def test_parse_rejects_malformed_entries():
    assert faults.parse("render.shard.1=oserror; ingest.*=kill*3") == [
        faults.Fault("render.shard.1", "oserror", 1),
        faults.Fault("ingest.*", "kill", 3),
    ]
    for bad in ("render.shard.1", "x=explode", "=oserror", "x=error*two"):
        with pytest.raises(ValueError, match="VINCI_FAULTS"):
            faults.parse(bad)


def test_a_fault_fires_its_count_then_stops_across_processes(monkeypatch, tmp_path):
    spec = "render.shard.*=oserror*2"
    monkeypatch.setenv(faults.ENV, spec)
    monkeypatch.setenv(faults.STATE_ENV, str(tmp_path))
    faults.inject("ingest.shard.0")  # another point: untouched
    with pytest.raises(OSError, match="injected fault at render.shard.3"):
        faults.inject("render.shard.3")
    # the second firing happens in another process, which sees the shared count
    code = "from vinci import faults\ntry:\n    faults.inject('render.shard.4')\nexcept OSError:\n    print('fired')\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "fired"
    faults.inject("render.shard.5")  # used up
    assert faults.fired(spec, tmp_path) == {"render.shard.*=oserror": 2}


def test_kill_ends_the_process_that_reaches_the_point(tmp_path):
    env = {faults.ENV: "dedup.finalize=kill", faults.STATE_ENV: str(tmp_path)}
    code = "from vinci import faults\nfaults.inject('dedup.finalize')\nprint('survived')\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**env, "PATH": ""})
    assert proc.returncode == -9 and "survived" not in proc.stdout


def test_permanent_errors_raise_every_time_within_their_count(monkeypatch):
    monkeypatch.setenv(faults.ENV, "plan.x=error*99")
    monkeypatch.delenv(faults.STATE_ENV, raising=False)
    for _ in range(3):
        with pytest.raises(faults.InjectedFault):
            faults.inject("plan.x")
