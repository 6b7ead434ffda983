"""Without bubblewrap the sandbox is weaker but limits, timeouts, sweeps and (as root) the network cut hold."""

from __future__ import annotations

import logging
import os
import uuid

import pytest

from renderers import EngineConfig, RenderEngine, RenderOptions
from renderers import sandbox as sandbox_module
from renderers.sandbox import Sandbox

CHART = "import matplotlib.pyplot as plt\nplt.bar(['a', 'b'], [3, 5])\n"
QUICK = RenderOptions(timeout_s=4, memory_mb=512)


@pytest.fixture(scope="module")
def engine():
    eng = RenderEngine(EngineConfig(sandbox_workers=1), sandbox=Sandbox("none", os.geteuid() == 0, "test"))
    eng.warm_up("sandbox")
    yield eng
    eng.close()


def test_detect_warns_when_forced_off(monkeypatch, caplog):
    monkeypatch.setenv("VINCI_SANDBOX", "none")
    sandbox_module.detect.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="vinci.render"):
            found = sandbox_module.detect()
        assert found.mode == "none"
        assert "VINCI_SANDBOX=none" in caplog.text and "resource limits" in caplog.text
    finally:
        sandbox_module.detect.cache_clear()


def test_limits_and_sweeps_without_bwrap(engine):
    assert engine.render(CHART, "python").ok
    assert engine.render("while True:\n    pass\n", "python", QUICK).error_kind == "timeout"
    assert engine.render("x = bytearray(16 * 1024**3)\n", "python", QUICK).error_kind == "memory"
    marker = f"orphan-{uuid.uuid4().hex}"
    code = (
        "import subprocess, sys\n"
        f"args = [sys.executable, '-c', 'import time; time.sleep(600)', {marker!r}]\n"
        "subprocess.Popen(args, start_new_session=True)\n" + CHART
    )
    result = engine.render(code, "python", QUICK)
    assert result.ok and result.diagnostics.get("killed_leftover_processes", 0) >= 1
    leftovers = [p for p in os.listdir("/proc") if p.isdigit() and _cmdline_has(p, marker)]
    assert leftovers == []
    assert engine.render(CHART, "python").ok


@pytest.mark.skipif(os.geteuid() != 0, reason="the fallback cuts the network only when running as root")
def test_network_is_cut_as_root(engine):
    code = "import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=2)\n"
    result = engine.render(code, "python", QUICK)
    assert result.error_kind == "runtime" and "unreachable" in result.error_message.lower()


def _cmdline_has(pid: str, marker: str) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return marker.encode() in fh.read()
    except OSError:
        return False
