"""Hostile render samples for soak runs: the attacks of tests/render/test_hostile.py (and a few of
tests/render/test_browser.py), each rewritten so that it *always* ends as a typed failure, and each with a check that
its result leaked nothing.

    corpus = HostileCorpus.create(tmp_dir)      # a secret in the environment and in a file, a loopback listener
    sample = corpus.samples(timeout_s=3)[0]      # HostileSample(kind, language, code, options, expected, ...)
    result = engine.render(sample.code, sample.language, sample.options)
    assert result.error_kind in sample.expected and sample.breach(result) is None
    corpus.leftovers(); corpus.close()          # connections that reached the listener, marker processes alive

Where an attack in the tests draws a chart afterwards to prove the job survived (a detached daemon, an output flood,
a forged result frame, `\\write18`), the soak version fails instead (raises, spins or draws nothing), so that "every
hostile sample ends as a typed failure" is a statement about the engine, not about the attack. Escapes are
self-reported: a job that tries to write, read or connect outside lists what it managed in its error message, and
`breach()` turns a non-empty list into a finding.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from renderers import RenderOptions, RenderResult

SECRET_ENV = "VINCI_SOAK_SECRET"
ROOT = Path(__file__).resolve().parent.parent


def _no_breach(result: RenderResult) -> str | None:
    return None


@dataclass(frozen=True)
class HostileSample:
    kind: str
    language: str
    code: str
    options: RenderOptions
    expected: tuple[str, ...]  # typed failure kinds this attack may end as (never None: it must fail)
    breach: Callable[[RenderResult], str | None] = field(default=_no_breach, compare=False, repr=False)


def _reported(prefix: str) -> Callable[[RenderResult], str | None]:
    """The job raises `RuntimeError('<prefix> [...]')` listing what it managed; anything listed is a breach."""

    def check(result: RenderResult) -> str | None:
        message = result.error_message or ""
        marker = f"{prefix} ["
        if marker not in message:
            return None  # it failed before reporting (fine: it reached nothing)
        listed = message.split(marker, 1)[1].split("]", 1)[0].strip()
        return f"{prefix} {listed}" if listed else None

    return check


def _absent(*needles: str) -> Callable[[RenderResult], str | None]:
    def check(result: RenderResult) -> str | None:
        message = result.error_message or ""
        found = [n for n in needles if n and n in message]
        return f"leaked {found}" if found else None

    return check


class HostileCorpus:
    """Shared state of one soak run's attacks: the secrets they must not see and the listener they must not reach."""

    def __init__(self, work: Path, secret: str, listener: socket.socket):
        self.work = work
        self.secret = secret
        self.token = uuid.uuid4().hex[:12]  # in every marker process's command line
        self.secret_file = work / "secret.txt"
        self.pwned = work / "pwned"
        self.escaped = work / "escaped.txt"
        self._listener = listener
        self.port = listener.getsockname()[1]
        self.connections: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="soak-listener", daemon=True)
        self._thread.start()

    @classmethod
    def create(cls, work: str | Path) -> HostileCorpus:
        work = Path(work)
        work.mkdir(parents=True, exist_ok=True)
        secret = f"hunter2-{uuid.uuid4().hex}"
        (work / "secret.txt").write_text(secret)
        os.environ[SECRET_ENV] = secret  # in the parent's environment: jobs must not see it
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        listener.settimeout(0.2)
        return cls(work, secret, listener)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, addr = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            self.connections.append(f"{addr[0]}:{addr[1]}")
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()
        os.environ.pop(SECRET_ENV, None)

    def marker(self, kind: str) -> str:
        return f"soak-{kind}-{self.token}"

    def marker_processes(self) -> list[int]:
        """Live (not zombie) processes whose command line carries one of this corpus's markers."""
        needle = f"-{self.token}".encode()
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    if needle not in fh.read():
                        continue
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    if fh.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                        continue
            except OSError:
                continue
            if int(entry) != os.getpid():
                found.append(int(entry))
        return found

    def leftovers(self) -> dict[str, list]:
        """What the attacks left on the host: connections to the listener, files, marker processes."""
        files = [str(p) for p in (self.pwned, self.escaped, Path("/usr/escaped.txt"), Path("/etc/escaped.txt"))]
        return {
            "connections": list(self.connections),
            "files": [p for p in files if os.path.exists(p)],
            "marker_processes": self.marker_processes(),
        }

    # -- the attacks ------------------------------------------------------------------------------------------------
    def samples(self, timeout_s: float = 3.0, memory_mb: int = 512) -> list[HostileSample]:
        """One sample per attack kind; `timeout_s` is every job's limit (disk attacks get a little more)."""
        quick = RenderOptions(timeout_s=timeout_s, memory_mb=memory_mb)
        disk = RenderOptions(timeout_s=max(timeout_s, 5.0), memory_mb=memory_mb, max_file_mb=8)
        tmpfs = RenderOptions(timeout_s=max(timeout_s, 5.0), memory_mb=memory_mb, max_file_mb=48)
        latex = RenderOptions(timeout_s=max(timeout_s, 20.0), memory_mb=memory_mb)
        port = self.port
        fork_marker, daemon_marker = self.marker("fork_bomb"), self.marker("daemon")
        base = f"http://127.0.0.1:{port}"
        return [
            HostileSample("infinite_loop", "python", "while True:\n    pass\n", quick, ("timeout",)),
            HostileSample(
                "sigterm_ignoring",
                "python",
                "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True:\n    pass\n",
                quick,
                ("timeout",),
            ),
            HostileSample(
                "fork_bomb",
                "python",
                "import os, sys, time\n"
                f"sys.argv[0] = {fork_marker!r}\n"
                "while True:\n"
                "    try:\n"
                "        os.fork()\n"
                "    except OSError:\n"
                "        time.sleep(0.01)\n",
                quick,
                ("timeout", "runtime", "memory"),
            ),
            HostileSample(
                "detached_daemon",
                "python",
                "import subprocess, sys\n"
                f"args = [sys.executable, '-c', 'import time; time.sleep(600)', {daemon_marker!r}]\n"
                "subprocess.Popen(args, start_new_session=True)\n"
                "raise RuntimeError('left a daemon behind')\n",
                quick,
                ("runtime",),
            ),
            HostileSample("memory_one_huge", "python", "x = bytearray(16 * 1024**3)\n", quick, ("memory",)),
            HostileSample(
                "memory_growing",
                "python",
                "blocks = []\nwhile True:\n    blocks.append(bytearray(50 * 1024**2))\n",
                quick,
                ("memory", "timeout"),  # on a loaded machine the wall clock can come first
            ),
            HostileSample(
                "disk_fill",
                "python",
                "with open('fill.bin', 'wb') as fh:\n    while True:\n        fh.write(b'0' * 2**20)\n",
                disk,
                ("runtime",),
            ),
            HostileSample(
                "many_files",
                "python",
                "i = 0\nwhile True:\n    with open(f'f{i}.bin', 'wb') as fh:\n        fh.write(b'0' * 2**20 * 32)\n"
                "    i += 1\n",
                tmpfs,
                ("runtime", "timeout"),
            ),
            HostileSample(
                "write_outside",
                "python",
                "done = []\n"
                f"for path in ({str(self.escaped)!r}, '/usr/escaped.txt', '/etc/escaped.txt', '../../escaped.txt'):\n"
                "    try:\n"
                "        open(path, 'w').write('x')\n"
                "        done.append(path)\n"
                "    except OSError:\n"
                "        pass\n"
                "raise RuntimeError(f'wrote {done}')\n",
                quick,
                ("runtime",),
                _reported("wrote"),
            ),
            HostileSample(
                "env_secrets",
                "python",
                "import os\nraise RuntimeError(repr(dict(os.environ)))\n",
                quick,
                ("runtime",),
                _absent(self.secret, SECRET_ENV, "AWS_"),
            ),
            HostileSample(
                "read_outside",
                "python",
                "got = []\n"
                f"for path in ({str(self.secret_file)!r}, {str(ROOT / 'README.md')!r}, '/root/.bashrc', "
                "'/etc/shadow'):\n"
                "    try:\n"
                "        open(path).read(16)\n"
                "        got.append(path)\n"
                "    except OSError:\n"
                "        pass\n"
                "raise RuntimeError(f'read {got}')\n",
                quick,
                ("runtime",),
                lambda r: _reported("read")(r) or _absent(self.secret)(r),
            ),
            HostileSample(
                "network",
                "python",
                "import socket, urllib.request\n"
                "reached = []\n"
                f"for probe in (lambda: socket.create_connection(('127.0.0.1', {port}), timeout=1),\n"
                "              lambda: urllib.request.urlopen('https://pypi.org/simple/', timeout=1)):\n"
                "    try:\n"
                "        probe()\n"
                "        reached.append(probe.__name__)\n"
                "    except OSError:\n"
                "        pass\n"
                "raise RuntimeError(f'reached {reached}')\n",
                quick,
                ("runtime",),
                _reported("reached"),
            ),
            HostileSample(
                "output_flood",
                "python",
                "import os\nfor _ in range(200):\n    print('x' * 100_000)\nos.write(1, b'y' * 10**7)\n"
                "while True:\n    print('x' * 10_000)\n",
                quick,
                ("timeout",),
            ),
            HostileSample(
                "forged_result_frame",
                "python",
                "import os\n"
                "for fd in range(3, 64):\n"
                "    try:\n"
                "        os.write(fd, b'VR' + b'\\xff' * 64)\n"
                "    except OSError:\n"
                "        pass\n",
                quick,
                ("runtime", "bad_image", "no_output"),
            ),
            HostileSample(
                "latex_shell_escape",
                "latex",
                "\\documentclass{standalone}\n\\begin{document}\n"
                f"\\immediate\\write18{{touch {self.pwned}}}x\n"
                '\\input{|"id"}\n\\end{document}\n',
                latex,
                ("syntax",),
            ),
            HostileSample(
                "latex_absolute_input",
                "latex",
                "\\documentclass{standalone}\n\\begin{document}\n\\input{/etc/passwd}\n\\end{document}\n",
                latex,
                ("syntax",),
                _absent("root:"),
            ),
            HostileSample(
                "html_endless_script", "html", "<p>spin</p><script>while (true) {}</script>", quick, ("timeout",)
            ),
            HostileSample(
                "html_memory_bomb",
                "html",
                "<script>let a = []; while (true) a.push(new Array(1e6).fill(1));</script>",
                quick,
                ("memory", "timeout"),
            ),
            HostileSample(
                "html_network_probe",
                "html",
                f'<img src="{base}/img"><script src="{base}/script.js"></script>'
                f'<script>fetch("{base}/fetch").catch(() => {{}}); new WebSocket("ws://127.0.0.1:{port}/ws");'
                "setTimeout(() => { while (true) {} }, 0);</script>",
                quick,
                ("timeout",),
            ),
        ]


@contextlib.contextmanager
def hostile_corpus(work: str | Path) -> Iterator[HostileCorpus]:
    corpus = HostileCorpus.create(work)
    try:
        yield corpus
    finally:
        corpus.close()
