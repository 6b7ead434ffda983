"""Watching a render engine's worker processes from /proc during a soak (benchmarks/render_soak.py).

`Watch(engine).sample(renders, phase)` records, for every live worker of every pool, the resident memory (VmRSS and
PSS) of its long-lived processes (bwrap + the warm sandbox worker; the browser worker with its Playwright driver and
Chromium), the transient job children of sandbox workers apart, and processes of the run outside every live
worker's tree. `child_subreaper()` makes the calling process adopt every orphan of its descendants, so
`Watch.leftovers()` finds anything a worker left running after `close()`.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from renderers import RenderEngine
from renderers.process_tree import descendants as tree

PR_SET_CHILD_SUBREAPER, PR_GET_CHILD_SUBREAPER = 36, 37
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
WORKER_MODULES = {"sandbox": b"renderers.worker", "browser": b"renderers.browser_worker"}
NAMES = (b"renderers.worker", b"renderers.browser_worker", b"bwrap", b"chromium")


@dataclass
class Proc:
    pid: int
    ppid: int
    state: str
    start: int  # clock ticks after boot
    rss_kb: int
    cmdline: bytes


def processes() -> dict[int, Proc]:
    found: dict[int, Proc] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdline = fh.read()
        except OSError:
            continue
        # fields after the name: state ppid ... starttime is stat field 22 (index 19 here), rss pages field 24
        found[int(entry)] = Proc(
            int(entry), int(fields[1]), fields[0].decode(), int(fields[19]), int(fields[21]) * PAGE_KB, cmdline
        )
    return found


def now_ticks() -> int:
    with open("/proc/uptime") as fh:
        return int(float(fh.read().split()[0]) * CLK_TCK)


def vm_rss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return 0  # a zombie or kernel thread has no VmRSS line


def pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def meminfo_mb() -> dict[str, float]:
    out = {}
    with open("/proc/meminfo") as fh:
        for line in fh:
            key, value = line.split(":", 1)
            if key in ("MemAvailable", "Shmem"):
                out[key] = round(int(value.split()[0]) / 1024, 1)
    return out


def children_of(procs: dict[int, Proc]) -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for p in procs.values():
        children.setdefault(p.ppid, []).append(p.pid)
    return children


@contextlib.contextmanager
def child_subreaper():
    """Make this process adopt every orphan of its descendants while the block runs (Linux), then restore."""
    libc = ctypes.CDLL(None, use_errno=True)
    previous = ctypes.c_int(0)
    libc.prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(previous), 0, 0, 0)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    try:
        yield
    finally:
        libc.prctl(PR_SET_CHILD_SUBREAPER, previous.value, 0, 0, 0)


class Watch:
    """Memory samples of the engine's workers, every process they ever had, and what is left after close."""

    def __init__(self, engine: RenderEngine, journal: Path | None = None, since_ticks: int | None = None):
        self.engine = engine
        self.journal = journal  # every sample is also appended here as it is taken (a killed run keeps its curve)
        if journal is not None:
            journal.parent.mkdir(parents=True, exist_ok=True)
            journal.write_text("")
        self.t0 = time.monotonic()
        self.t0_ticks = now_ticks() - 1 if since_ticks is None else since_ticks  # processes of the run start later
        self.seen: dict[int, tuple[int, bytes]] = {}  # pid -> (start ticks, cmdline) of every worker-tree process
        self.worker_pids: set[int] = set()
        self.samples: list[dict[str, Any]] = []
        self.adopted_zombies = 0

    def _workers(self) -> list[tuple[str, Any]]:
        found = []
        with self.engine._lock:
            pools = dict(self.engine._pools)
        for kind, pool in pools.items():
            with pool._lock:
                found += [(kind, w) for w in pool._all]
        return found

    def sample(self, renders: int, phase: str) -> dict[str, Any]:
        procs = processes()
        children = children_of(procs)
        workers = []
        for kind, worker in sorted(self._workers(), key=lambda kw: (kw[0], kw[1].slot)):
            self.worker_pids.add(worker.proc.pid)
            pids = [p for p in tree(children, worker.proc.pid) if p in procs]
            main = _worker_process(procs, pids, WORKER_MODULES[kind])
            # a sandbox worker's job children are forks of it (transient by design): counted apart
            jobs = set(tree(children, main)) - {main} if kind == "sandbox" and main else set()
            resident = [p for p in pids if p not in jobs]
            for p in pids:
                self.seen[p] = (procs[p].start, procs[p].cmdline[:200])
            rss = sum(vm_rss_kb(p) or 0 for p in resident)
            workers.append(
                {
                    "pool": kind,
                    "slot": worker.slot,
                    "pid": worker.proc.pid,
                    "jobs": worker.jobs,
                    "processes": len(resident),
                    "rss_mb": round(rss / 1024, 1),
                    "pss_mb": round(sum(pss_kb(p) for p in resident) / 1024, 1),
                    "worker_rss_mb": round((vm_rss_kb(main) or 0) / 1024, 1) if main else None,
                    "reported_rss_mb": worker.rss_mb,  # what the worker last told the pool (recycling uses it)
                    "jobs_rss_mb": round(sum(procs[p].rss_kb for p in jobs) / 1024, 1),
                }
            )
        # processes of this run outside every live worker's tree: a worker still starting, or one a retired worker
        # left behind (as this process is a subreaper, orphans land under it): counted in the sum, listed apart
        me = os.getpid()
        attached = {p for w in workers for p in tree(children, w["pid"])}
        unattached = [
            p
            for p in tree(children, me)
            if p != me and p not in attached and procs[p].state != "Z" and procs[p].start >= self.t0_ticks
        ]
        for p in unattached:
            self.seen[p] = (procs[p].start, procs[p].cmdline[:200])
        unattached_rss = sum(vm_rss_kb(p) or 0 for p in unattached) / 1024
        record = {
            "renders": renders,
            "phase": phase,
            "t_s": round(time.monotonic() - self.t0, 2),
            "rss_mb": round(sum(w["rss_mb"] for w in workers) + unattached_rss, 1),
            "pss_mb": round(sum(w["pss_mb"] for w in workers) + sum(pss_kb(p) for p in unattached) / 1024, 1),
            "jobs_rss_mb": round(sum(w["jobs_rss_mb"] for w in workers), 1),
            "worker_processes": sum(w["processes"] for w in workers) + len(unattached),
            "unattached": [f"{p} {_printable(procs[p].cmdline)[:80]}" for p in unattached],
            "unattached_rss_mb": round(unattached_rss, 1),
            "workers": workers,
            "pools": self.engine.stats()["pools"],
            "host": meminfo_mb(),
        }
        self.samples.append(record)
        if self.journal is not None:
            with self.journal.open("a") as fh:
                fh.write(json.dumps(record) + "\n")
        self.reap(procs)
        return record

    def reap(self, procs: dict[int, Proc] | None = None) -> None:
        """Collect orphans that died after being re-parented to this process (a subreaper must wait for them)."""
        procs = procs or processes()
        me = os.getpid()
        for p in procs.values():
            if p.ppid == me and p.state == "Z" and p.start >= self.t0_ticks and p.pid not in self.live_worker_pids():
                with contextlib.suppress(ChildProcessError):
                    if os.waitpid(p.pid, os.WNOHANG)[0]:
                        self.adopted_zombies += 1

    def live_worker_pids(self) -> set[int]:
        return {w.proc.pid for _, w in self._workers()}

    def leftovers(self, wait_s: float = 10.0) -> dict[str, Any]:
        """Processes of this run still alive after close: descendants of this process (every orphan comes here),
        any worker-tree process ever sampled, and (reported apart) worker-like processes started since the run
        began that are neither (they may belong to another program on this machine)."""
        deadline = time.monotonic() + wait_s
        while True:
            self.reap()
            procs = processes()
            me = os.getpid()
            ours = [
                p
                for p in procs.values()
                if p.state != "Z"
                and p.pid != me
                and p.start >= self.t0_ticks
                and (me in _ancestors(procs, p.pid) or self.seen.get(p.pid, (None,))[0] == p.start)
            ]
            if not ours or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        others = [
            p
            for p in procs.values()
            if p.state != "Z" and p.start >= self.t0_ticks and p not in ours and any(n in p.cmdline for n in NAMES)
        ]

        def describe(p: Proc) -> str:
            return f"{p.pid} {_printable(p.cmdline)}"

        return {
            "ours": [describe(p) for p in ours],
            "other_worker_like": [describe(p) for p in others],
            "adopted_zombies_reaped": self.adopted_zombies,
            "processes_seen": len(self.seen),
        }


def _worker_process(procs: dict[int, Proc], pids: list[int], module: bytes) -> int | None:
    """The warm worker itself in a worker's tree: the top-most python running `module` (bwrap's own command line
    names the module too, and the worker's job children are forks of it)."""
    candidates = {
        p for p in pids if module in procs[p].cmdline and not procs[p].cmdline.split(b"\0", 1)[0].endswith(b"bwrap")
    }
    return next((p for p in pids if p in candidates and procs[p].ppid not in candidates), None)


def _printable(cmdline: bytes) -> str:
    return cmdline.replace(b"\0", b" ")[:160].decode(errors="replace").strip()


def _ancestors(procs: dict[int, Proc], pid: int) -> list[int]:
    out = []
    while pid in procs and procs[pid].ppid not in (0, pid) and len(out) < 64:
        pid = procs[pid].ppid
        out.append(pid)
    return out
