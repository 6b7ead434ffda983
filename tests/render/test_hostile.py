"""Hostile code is contained, and the pool keeps serving after each attempt.

Each case runs in the real sandbox (bubblewrap when the machine allows it) through a one-worker engine, so the
same warm worker must survive every attack; after each one a normal chart must still render.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import uuid
from pathlib import Path

import pytest

from renderers import EngineConfig, RenderEngine, RenderOptions

CHART = "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [2, 1, 3])\nplt.title('still serving')\n"
QUICK = RenderOptions(timeout_s=4, memory_mb=512)
SECRET = f"hunter2-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def engine():
    os.environ["VINCI_TEST_SECRET"] = SECRET  # in the parent's environment: jobs must not see it
    eng = RenderEngine(EngineConfig(sandbox_workers=1, max_jobs_per_worker=1000))
    eng.warm_up("sandbox")
    yield eng
    eng.close()
    os.environ.pop("VINCI_TEST_SECRET", None)


def still_serving(engine: RenderEngine) -> None:
    result = engine.render(CHART, "python")
    assert result.ok, result.error_message
    assert result.width == 640 and result.height == 480


def attack(engine: RenderEngine, code: str, language: str = "python", options: RenderOptions = QUICK):
    result = engine.render(code, language, options)
    still_serving(engine)
    return result


def marker_processes(marker: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                    found.append(int(pid))
            except OSError:
                pass
    return found


def test_infinite_loop_times_out(engine):
    result = attack(engine, "while True:\n    pass\n")
    assert result.error_kind == "timeout"


def test_process_ignoring_sigterm_is_killed(engine):
    code = "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True:\n    pass\n"
    assert attack(engine, code).error_kind == "timeout"


def test_fork_bomb_is_capped_and_swept(engine):
    marker = f"bomb-{uuid.uuid4().hex}"
    code = (
        "import os, time, sys\n"
        f"sys.argv[0] = {marker!r}\n"
        "while True:\n"
        "    try:\n"
        "        os.fork()\n"
        "    except OSError:\n"
        "        time.sleep(0.01)\n"
    )
    result = attack(engine, code)
    assert result.error_kind in ("timeout", "runtime", "memory")
    assert marker_processes(marker) == []


def test_detached_background_process_is_killed(engine):
    marker = f"daemon-{uuid.uuid4().hex}"
    code = (
        "import subprocess, sys\n"
        f"args = [sys.executable, '-c', 'import time; time.sleep(600)', {marker!r}]\n"
        "subprocess.Popen(args, start_new_session=True)\n" + CHART
    )
    result = attack(engine, code)
    assert result.ok, result.error_message
    assert result.diagnostics.get("killed_leftover_processes", 0) >= 1
    assert marker_processes(marker) == []


@pytest.mark.parametrize(
    "code",
    ["x = bytearray(16 * 1024**3)\n", "blocks = []\nwhile True:\n    blocks.append(bytearray(50 * 1024**2))\n"],
    ids=["one-huge-allocation", "growing"],
)
def test_memory_bomb(engine, code):
    assert attack(engine, code).error_kind == "memory"


def test_disk_fill_stops_at_the_file_size_limit(engine):
    code = "with open('fill.bin', 'wb') as fh:\n    while True:\n        fh.write(b'0' * 2**20)\n"
    result = attack(engine, code, options=RenderOptions(timeout_s=10, max_file_mb=8))
    assert result.error_kind == "runtime" and "File too large" in result.error_message


def test_many_files_stop_at_the_private_tmpfs(engine):
    code = (
        "i = 0\nwhile True:\n    with open(f'f{i}.bin', 'wb') as fh:\n        fh.write(b'0' * 2**20 * 32)\n    i += 1\n"
    )
    result = attack(engine, code, options=RenderOptions(timeout_s=20, max_file_mb=48))
    assert result.error_kind in ("runtime", "timeout")
    assert "No space left" in (result.error_message or "") or result.error_kind == "timeout"


def test_writes_outside_the_work_dir_fail(engine, tmp_path):
    target = tmp_path / "escaped.txt"
    for path in (str(target), "/usr/escaped.txt", "/etc/escaped.txt", "../../escaped.txt"):
        code = f"open({path!r}, 'w').write('x')\n"
        result = attack(engine, code)
        assert result.error_kind == "runtime", (path, result.error_message)
    assert not target.exists()
    assert not Path("/usr/escaped.txt").exists() and not Path("/etc/escaped.txt").exists()


def test_environment_secrets_are_not_visible(engine):
    code = "import os\nraise RuntimeError(repr(dict(os.environ)))\n"
    result = attack(engine, code)
    assert result.error_kind == "runtime"
    assert SECRET not in result.error_message
    assert "VINCI_TEST_SECRET" not in result.error_message
    assert "AWS_" not in result.error_message


def test_files_outside_the_sandbox_are_not_readable(engine, tmp_path):
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(SECRET)
    project_file = Path(__file__).resolve().parents[2] / "README.md"
    for path in (secret_file, project_file, Path("/root/.bashrc"), Path("/etc/shadow")):
        code = f"print(open({str(path)!r}).read())\nraise RuntimeError('read it')\n"
        result = attack(engine, code)
        assert result.error_kind == "runtime"
        assert "read it" not in result.error_message, f"{path} was readable from a job"
        assert SECRET not in result.error_message


def test_no_network(engine):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    connections: list[object] = []

    def accept() -> None:
        for _ in range(40):
            with contextlib.suppress(OSError):
                connections.append(server.accept())

    thread = threading.Thread(target=accept)
    thread.start()
    code = f"import socket, urllib.request\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
    result = attack(engine, code)
    code2 = "import urllib.request\nurllib.request.urlopen('https://pypi.org/simple/', timeout=2)\n"
    result2 = attack(engine, code2)
    thread.join()
    server.close()
    assert result.error_kind == "runtime" and result2.error_kind == "runtime"
    assert connections == []


def test_output_flood_is_capped(engine):
    code = "import os\nfor _ in range(200):\n    print('x' * 100_000)\nos.write(1, b'y' * 10**7)\n" + CHART
    result = attack(engine, code)
    assert result.ok, result.error_message
    assert result.diagnostics["stdout_chars"] >= 200 * 100_000
    endless = "while True:\n    print('x' * 10_000)\n"
    assert attack(engine, endless).error_kind == "timeout"


def test_a_forged_result_frame_only_harms_its_own_job(engine):
    # the job writes garbage on every file descriptor it can find, including the result pipe
    code = (
        "import os\n"
        "for fd in range(3, 64):\n"
        "    try:\n"
        "        os.write(fd, b'VR' + b'\\xff' * 64)\n"
        "    except OSError:\n"
        "        pass\n" + CHART
    )
    started = engine.stats()["pools"]["sandbox"]["started"]
    result = engine.render(code, "python", QUICK)
    assert result.error_kind in (None, "runtime", "bad_image")
    still_serving(engine)
    assert engine.stats()["pools"]["sandbox"]["started"] == started  # the worker itself was never disturbed


def test_latex_shell_escape_is_disabled(engine, tmp_path):
    pwned = tmp_path / "pwned"
    doc = (
        "\\documentclass{standalone}\n\\begin{document}\n"
        f"\\immediate\\write18{{touch {pwned}}}x\n\\end{{document}}\n"
    )
    result = attack(engine, doc, "latex", RenderOptions(timeout_s=20))
    assert result.ok, result.error_message  # \write18 is just text output to the log without shell escape
    assert not pwned.exists()


def test_latex_cannot_input_files_by_absolute_path(engine):
    doc = "\\documentclass{standalone}\n\\begin{document}\n\\input{/etc/passwd}\n\\end{document}\n"
    result = attack(engine, doc, "latex", RenderOptions(timeout_s=20))
    assert result.error_kind == "syntax"
    assert "root:" not in (result.error_message or "")


def test_the_same_warm_worker_served_every_attack_it_could(engine):
    stats = engine.stats()
    assert stats["sandbox_mode"] == "bwrap" or os.environ.get("VINCI_SANDBOX") == "none"
    pool = stats["pools"]["sandbox"]
    # attacks are contained inside their job: the worker itself is replaced only when a job outlives its deadline
    assert pool["alive"] == 1 and pool["started"] <= 3
