"""One render job inside a worker: fork, confine the child, run the renderer, collect the result, clean up.

The child (untrusted code runs only here) starts a new session, drops to the worker slot's own uid when the
worker may, lowers its resource limits (CPU time, address space, file size, open files, processes, no core
dumps), works in a fresh directory and writes one result frame to a pipe. The parent reads that pipe against a
deadline while watching the child through a pidfd, then kills the child's process group and every process the
job left behind (the whole pid namespace under bwrap; otherwise everything with the slot's uid or reparented to
the worker, which is a child subreaper), and removes the work directory.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import resource
import select
import shutil
import signal
import sys
import tempfile
import time
import traceback
from typing import Any

from renderers import protocol
from renderers.image import normalize
from renderers.registry import renderer
from renderers.result import RenderFailure, RenderOptions

PR_SET_CHILD_SUBREAPER = 36
OUTPUT_CAP = 64 << 10


class CappedWriter(io.TextIOBase):
    """sys.stdout/sys.stderr for jobs: keeps the first bytes, counts and drops the rest."""

    def __init__(self, cap: int = OUTPUT_CAP):
        self.cap = cap
        self.kept: list[str] = []
        self.size = 0

    def write(self, text: str) -> int:
        if self.size < self.cap:
            self.kept.append(text[: self.cap - self.size])
        self.size += len(text)
        return len(text)

    def getvalue(self) -> str:
        return "".join(self.kept)


def become_subreaper() -> None:
    with contextlib.suppress(OSError, AttributeError):  # non-Linux: no subreaper, the process-group kill remains
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _lower(limit: int, soft: int, hard: int | None = None) -> None:
    cur_soft, cur_hard = resource.getrlimit(limit)
    hard = soft if hard is None else hard
    if cur_hard != resource.RLIM_INFINITY:
        hard = min(hard, cur_hard)
        soft = min(soft, hard)
    resource.setrlimit(limit, (soft, hard))


def _vm_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[0]) * resource.getpagesize()


def confine(options: RenderOptions, uid: int | None) -> None:
    """Child-side: new session, own uid, lowered limits."""
    os.setsid()
    if uid is not None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    cpu = int(options.timeout_s) + 1
    _lower(resource.RLIMIT_CORE, 0)
    _lower(resource.RLIMIT_CPU, cpu, cpu + 1)
    _lower(resource.RLIMIT_AS, _vm_bytes() + (options.memory_mb << 20))
    _lower(resource.RLIMIT_FSIZE, options.max_file_mb << 20)
    _lower(resource.RLIMIT_NOFILE, 256)
    if uid is not None:  # counted per uid, so only meaningful with the slot's own uid
        _lower(resource.RLIMIT_NPROC, options.max_processes)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead of killing


def _close_other_fds(keep: int) -> None:
    for entry in os.listdir("/proc/self/fd"):
        fd = int(entry)
        if fd > 2 and fd != keep:
            with contextlib.suppress(OSError):
                os.close(fd)


def _child(job: dict[str, Any], options: RenderOptions, workdir: str, out_fd: int, uid: int | None) -> None:
    header: dict[str, Any]
    png = b""
    try:
        _close_other_fds(out_fd)  # the worker's protocol pipes must be out of the job's reach
        os.set_inheritable(out_fd, False)
        confine(options, uid)
        os.chdir(workdir)
        for var in ("HOME", "TMPDIR", "XDG_CACHE_HOME"):
            os.environ[var] = workdir
        os.environ["TEXMFVAR"] = os.path.join(workdir, ".texmf-var")
        tempfile.tempdir = None
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        sys.stdout = CappedWriter()
        sys.stderr = CappedWriter()
        module = renderer(job["language"])
        produced = module.run(job["payload"], options, workdir)
        extra: dict[str, Any] | None = None
        if isinstance(produced, tuple):  # (image, notes for the diagnostics), e.g. python's instrumentation log
            produced, extra = produced
        png, width, height, notes = normalize(produced, options)
        if extra:
            notes.update(extra)
        header = {"ok": True, "width": width, "height": height, "diagnostics": notes}
        if notes.get("error_kind"):
            header = {**header, "ok": False, "kind": notes.pop("error_kind"), "message": notes.pop("message", "")}
    except RenderFailure as exc:
        header = {"ok": False, "kind": exc.kind, "message": exc.message}
        png = exc.image or b""
    except MemoryError:
        header = {"ok": False, "kind": "memory", "message": "MemoryError: the job ran out of its memory limit"}
    except BaseException as exc:  # noqa: BLE001 - anything else is the job failing, reported as runtime
        tail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        header = {"ok": False, "kind": "runtime", "message": tail[:2000]}
    try:
        out = getattr(sys, "stdout", None)
        if isinstance(out, CappedWriter) and out.size:
            header.setdefault("diagnostics", {})["stdout_chars"] = out.size
        protocol.write_frame(out_fd, header, png)
    finally:
        os._exit(0)


def _collect(read_fd: int, pidfd: int, deadline: float, cap: int) -> tuple[bytes, str | None]:
    """Read the child's pipe until it closes, the child exits, the deadline passes or the cap is hit."""
    buf = bytearray()
    exited = False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return bytes(buf), "timeout"
        ready, _, _ = select.select([read_fd, pidfd], [], [], left)
        if read_fd in ready:
            chunk = os.read(read_fd, 1 << 20)
            if not chunk:
                return bytes(buf), None
            buf += chunk
            if len(buf) > cap:
                return bytes(buf), "too_large"
            continue
        if pidfd in ready:
            if exited:  # exited and nothing more is readable right now: done (orphans may hold the pipe)
                return bytes(buf), None
            exited = True
            deadline = min(deadline, time.monotonic() + 0.5)


def _uid_of(pid: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("Uid:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _ppid_of(pid: str) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def sweep(uid: int | None, whole_namespace: bool) -> int:
    """Kill every process a job left behind; returns how many were killed."""
    me = os.getpid()
    killed = 0
    for _ in range(50):
        found = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) in (me, 1):
                continue
            if whole_namespace or (uid is not None and _uid_of(entry) == uid) or _ppid_of(entry) == me:
                try:
                    os.kill(int(entry), signal.SIGKILL)
                    found += 1
                except (ProcessLookupError, PermissionError):
                    pass
        while True:  # reap what was reparented to us
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
        killed += found
        if not found:
            break
        time.sleep(0.01)
    return killed


def _classify(status: int, timed_out: bool) -> tuple[str, str]:
    if timed_out:
        return "timeout", "the job did not finish within its time limit and was killed"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU:
            return "timeout", "the job used up its CPU-time limit"
        if sig == signal.SIGKILL:
            return "memory", "the job was killed (SIGKILL), most likely for exceeding memory"
        return "runtime", f"the job crashed with signal {signal.Signals(sig).name}"
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
    return "runtime", f"the job exited with status {code} before reporting a result"


def run_job(job: dict[str, Any], uid: int | None, whole_namespace: bool, jobs_root: str) -> tuple[dict, bytes]:
    """Run one job in a confined child; returns (result header, PNG bytes)."""
    options = RenderOptions.model_validate(job.get("options") or {})
    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="job-", dir=jobs_root)
    if uid is not None:
        os.chown(workdir, uid, uid)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, reports through the pipe
        os.close(read_fd)
        _child(job, options, workdir, write_fd, uid)
        os._exit(70)
    os.close(write_fd)
    pidfd = os.pidfd_open(pid)
    cap = (options.max_file_mb << 20) + (1 << 20)
    try:
        data, problem = _collect(read_fd, pidfd, started + options.timeout_s, cap)
    finally:
        os.close(read_fd)
        os.close(pidfd)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    leftovers = sweep(uid, whole_namespace)
    shutil.rmtree(workdir, ignore_errors=True)

    header: dict[str, Any]
    png = b""
    if problem == "too_large":
        header = {"ok": False, "kind": "bad_image", "message": f"the job's output exceeded {cap} bytes"}
    else:
        try:
            header, png = protocol.read_frame_bytes(data, max_blob=cap)
        except protocol.ProtocolError:
            kind, message = _classify(status, problem == "timeout")
            header = {"ok": False, "kind": kind, "message": message}
    if leftovers:
        header.setdefault("diagnostics", {})["killed_leftover_processes"] = leftovers
    header["elapsed"] = round(time.monotonic() - started, 4)
    return header, png
