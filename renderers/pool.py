"""A pool of warm worker processes of one kind, shared by the threads of the calling process.

Workers start lazily (one per slot, up to the pool size), announce themselves with a `ready` frame, then answer
one result frame per job frame. A worker is replaced when it dies, misses a deadline, sends garbage, has served
`max_jobs` jobs or has grown past `max_rss_mb`. Each worker runs in its own session, so killing it kills
everything it started.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from renderers import protocol
from renderers.sandbox import Sandbox, UidLease, worker_command

log = logging.getLogger("vinci.render")
GRACE_S = 10.0  # beyond a job's own timeout, for the worker to kill, sweep and answer
START_ATTEMPTS = 2  # consecutive failed starts after which the pool stops trying for a while
GIVE_UP_S = 60.0  # how long it then fails jobs at once instead of starting doomed workers


class WorkerStartError(RuntimeError):
    pass


@dataclass(eq=False)
class Worker:
    slot: int
    proc: subprocess.Popen
    log_path: str
    scratch: str | None = None  # a temporary folder of the worker's own (unsandboxed mode), removed with it
    lease: UidLease | None = None  # the uid its jobs run as, held while the worker lives
    jobs: int = 0
    rss_mb: float = 0.0
    started: float = field(default_factory=time.monotonic)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - a process that survives SIGKILL
            log.error("render worker %s did not die", self.proc.pid)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        if self.scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)
        if self.lease is not None:
            self.lease.release()
            self.lease = None

    def log_tail(self, n: int = 2000) -> str:
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - n))
                return fh.read().decode(errors="replace")
        except OSError:
            return ""


class WorkerPool:
    def __init__(
        self,
        kind: str,
        module: str,
        size: int,
        sandbox: Sandbox,
        *,
        tmp_mb: int = 1024,
        max_jobs: int = 500,
        max_rss_mb: float = 3072,
        startup_timeout_s: float = 120,
        extra_env: dict[str, str] | None = None,
        extra_ro: tuple[str, ...] = (),
    ):
        self.kind = kind
        self.module = module
        self.size = max(1, size)
        self.sandbox = sandbox
        self.tmp_mb = tmp_mb
        self.max_jobs = max_jobs
        self.max_rss_mb = max_rss_mb
        self.startup_timeout_s = startup_timeout_s
        self.extra_env = extra_env or {}
        self.extra_ro = extra_ro
        self._idle: queue.LifoQueue[Worker] = queue.LifoQueue()
        self._free_slots: queue.Queue[int] = queue.Queue()
        for slot in range(self.size):
            self._free_slots.put(slot)
        self._all: set[Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._log_dir = tempfile.mkdtemp(prefix=f"vinci-{kind}-workers-")
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"render-{kind}-spawner")
        self.started_workers = 0
        self.recycled_workers = 0
        self._start_failures = 0
        self._given_up_until = 0.0
        self._last_start_error = ""

    # -- lifecycle --------------------------------------------------------------------------------------
    def _popen(self, argv: list[str], env: dict, cwd: str, log_path: str) -> subprocess.Popen:
        with open(log_path, "wb") as log_file:
            return subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log_file,
                env=env,
                cwd=cwd,
                start_new_session=True,
            )

    def _spawn(self, slot: int) -> Worker:
        lease = UidLease.acquire() if self.kind == "sandbox" and self.sandbox.privileged else None
        uid = lease.uid if lease else None
        argv, env, cwd = worker_command(
            self.sandbox if self.kind == "sandbox" else Sandbox("none", self.sandbox.privileged),
            self.module,
            [str(slot), "-" if uid is None else str(uid)],
            tmp_mb=self.tmp_mb,
            extra_ro=self.extra_ro,
            extra_env=self.extra_env,
        )
        log_path = os.path.join(self._log_dir, f"worker-{slot}-{self.started_workers}.log")
        # bwrap's --die-with-parent fires when the *thread* that started it exits, so every worker is started
        # by this pool's one long-lived spawner thread, never by a short-lived request thread
        try:
            proc = self._spawner.submit(self._popen, argv, env, cwd, log_path).result()
        except BaseException:
            if lease:
                lease.release()
            raise
        worker = Worker(slot, proc, log_path, scratch=cwd if cwd != "/" else None, lease=lease)
        try:
            header, _ = protocol.read_frame(proc.stdout.fileno(), time.monotonic() + self.startup_timeout_s)
            if not header.get("ready"):
                raise protocol.ProtocolError(f"unexpected first frame {header}")
        except protocol.ProtocolError as exc:
            worker.kill()
            message = f"{self.kind} render worker failed to start ({exc}); its log:\n{worker.log_tail()}"
            with self._lock:
                self._start_failures += 1
                self._last_start_error = message
                if self._start_failures >= START_ATTEMPTS:
                    self._given_up_until = time.monotonic() + GIVE_UP_S
            raise WorkerStartError(message) from None
        self.started_workers += 1
        self._start_failures = 0
        with self._lock:
            self._all.add(worker)
        log.debug("%s worker %d ready in %.1fs", self.kind, proc.pid, header.get("warm_s", 0))
        return worker

    def _acquire(self) -> Worker:
        while True:
            if self._closed:
                raise RuntimeError("the render pool is closed")
            if time.monotonic() < self._given_up_until:
                raise WorkerStartError(
                    f"{self.kind} render workers failed to start {self._start_failures} times in a row; not retried "
                    f"for {GIVE_UP_S:.0f}s. Last failure: {self._last_start_error}"
                )
            try:
                return self._idle.get_nowait()
            except queue.Empty:
                pass
            try:
                slot = self._free_slots.get_nowait()
            except queue.Empty:
                try:
                    return self._idle.get(timeout=1.0)
                except queue.Empty:
                    continue
            try:
                return self._spawn(slot)
            except BaseException:
                self._free_slots.put(slot)
                raise

    def _retire(self, worker: Worker) -> None:
        worker.kill()
        with self._lock:
            self._all.discard(worker)
        self._free_slots.put(worker.slot)

    def _release(self, worker: Worker) -> None:
        if self._closed or worker.jobs >= self.max_jobs or worker.rss_mb > self.max_rss_mb:
            self.recycled_workers += not self._closed
            self._retire(worker)
        else:
            self._idle.put(worker)

    def warm_up(self, n: int | None = None) -> None:
        """Start up to `n` workers now (in parallel) instead of on first use."""
        n = min(n or self.size, self.size)
        started: list[Worker] = []
        errors: list[BaseException] = []

        def start() -> None:
            try:
                slot = self._free_slots.get_nowait()
            except queue.Empty:
                return
            try:
                started.append(self._spawn(slot))
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                self._free_slots.put(slot)
                errors.append(exc)

        threads = [threading.Thread(target=start) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for worker in started:
            self._idle.put(worker)
        if errors:
            raise errors[0]

    def close(self) -> None:
        self._closed = True
        with self._lock:
            workers = list(self._all)
            self._all.clear()
        for worker in workers:
            with contextlib.suppress(OSError, ValueError):
                protocol.write_frame(worker.proc.stdin.fileno(), {"op": "exit"})
            worker.kill()
        self._spawner.shutdown(wait=False)
        shutil.rmtree(self._log_dir, ignore_errors=True)

    # -- jobs ---------------------------------------------------------------------------------------------
    def run(self, job: dict[str, Any], blob: bytes, timeout_s: float) -> tuple[dict[str, Any], bytes]:
        """Send one job to a free worker and wait for its answer (never longer than timeout + grace)."""
        worker = self._acquire()
        deadline = time.monotonic() + timeout_s + GRACE_S
        try:
            protocol.write_frame(worker.proc.stdin.fileno(), job, blob)
            header, image = protocol.read_frame(worker.proc.stdout.fileno(), deadline)
        except protocol.FrameTimeout:
            self._retire(worker)
            return {"ok": False, "kind": "timeout", "message": "the render worker stopped answering; replaced"}, b""
        except (protocol.ProtocolError, OSError) as exc:
            tail = worker.log_tail(600)
            self._retire(worker)
            message = f"the render worker failed ({exc}); replaced. Log tail: {tail}"
            return {"ok": False, "kind": "sandbox", "message": message[:2000]}, b""
        worker.jobs += 1
        worker.rss_mb = float(header.get("rss_mb") or 0.0)
        self._release(worker)
        return header, image

    def stats(self) -> dict[str, Any]:
        with self._lock:
            alive = len(self._all)
        return {
            "kind": self.kind,
            "size": self.size,
            "alive": alive,
            "started": self.started_workers,
            "recycled": self.recycled_workers,
        }
