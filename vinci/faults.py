"""Fault injection for drills and tests: make a named point of a run fail on purpose, a set number of times.

Points are dotted names checked by the code at the places where real runs fail: `<stage>.plan`,
`<stage>.shard.<index>` (at the start of a shard, in whichever process runs it), `<stage>.write.<index>.rejected`
(between a shard's rejected file and its rows), `<stage>.write.<index>.rows` (after the rows, before the
completion marker), `<stage>.survey.<index>` and `<stage>.decide` (two-phase stages), `<stage>.finalize`.
`VINCI_FAULTS` lists what to inject, separated by `;`:

    VINCI_FAULTS="render.shard.1=oserror"          # shard 1 of render raises OSError once (a transient fault)
    VINCI_FAULTS="ingest.shard.*=kill*2"           # the first two ingest shards to start SIGKILL their process
    VINCI_FAULTS="dedup.finalize=error*99"         # finalize fails every time (a permanent fault)

Actions: `oserror` (OSError: transient I/O, what retries are for), `error` (RuntimeError), `kill` (SIGKILL of
the process that reached the point: a crashed worker). `*N` fires the entry N times in all (default 1), counted
across processes in `VINCI_FAULTS_STATE` (a folder; without it each process counts for itself). Without
`VINCI_FAULTS` nothing is read and `inject` costs one environment lookup.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import signal
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

ENV = "VINCI_FAULTS"
STATE_ENV = "VINCI_FAULTS_STATE"
ACTIONS = ("oserror", "error", "kill")


class InjectedFault(RuntimeError):
    """A permanent fault injected on purpose (`error`)."""


@dataclass(frozen=True)
class Fault:
    pattern: str
    action: str
    times: int = 1

    @property
    def key(self) -> str:
        return hashlib.blake2b(f"{self.pattern}={self.action}*{self.times}".encode(), digest_size=8).hexdigest()


_fired_here: dict[str, int] = {}


def parse(text: str) -> list[Fault]:
    """`point=action[*times]` entries separated by `;`; a malformed entry is an error, not ignored."""
    faults = []
    for entry in filter(None, (e.strip() for e in text.split(";"))):
        pattern, sep, rest = entry.partition("=")
        action, _, times = rest.partition("*")
        action = action.strip()
        if not sep or not pattern.strip() or action not in ACTIONS:
            raise ValueError(f"{ENV}: bad entry {entry!r}; expected point=action[*times], action one of {ACTIONS}")
        try:
            count = int(times) if times else 1
        except ValueError:
            raise ValueError(f"{ENV}: bad count in {entry!r}") from None
        faults.append(Fault(pattern.strip(), action, count))
    return faults


def inject(point: str) -> None:
    """Fail here if `VINCI_FAULTS` asks for it (see the module docstring); otherwise do nothing."""
    text = os.environ.get(ENV)
    if not text:
        return
    for fault in parse(text):
        if fnmatchcase(point, fault.pattern) and _take(fault):
            _fire(fault, point)


def _take(fault: Fault) -> bool:
    """Count one firing of `fault` if it has any left (atomically across processes when a state folder is set)."""
    state = os.environ.get(STATE_ENV)
    if not state:
        used = _fired_here.get(fault.key, 0)
        if used >= fault.times:
            return False
        _fired_here[fault.key] = used + 1
        return True
    folder = Path(state)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{fault.key}.count", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.seek(0)
        used = int(fh.read().strip() or 0)
        if used >= fault.times:
            return False
        fh.seek(0)
        fh.truncate()
        fh.write(str(used + 1))
        fh.flush()
        os.fsync(fh.fileno())
        return True


def fired(fault_text: str, state: str | os.PathLike[str]) -> dict[str, int]:
    """How often each entry of `fault_text` has fired so far, from a state folder (for tests and drills)."""
    out = {}
    for fault in parse(fault_text):
        path = Path(state) / f"{fault.key}.count"
        out[f"{fault.pattern}={fault.action}"] = int(path.read_text().strip() or 0) if path.exists() else 0
    return out


def _fire(fault: Fault, point: str) -> None:
    message = f"injected fault at {point} ({fault.pattern}={fault.action})"
    if fault.action == "oserror":
        raise OSError(message)
    if fault.action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    raise InjectedFault(message)
