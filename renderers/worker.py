"""A warm sandbox worker: `python -m renderers.worker SLOT UID|-`, frames on stdin/stdout.

At start it imports everything the sandbox renderers use (matplotlib and friends, RDKit, Indigo, cairosvg),
draws one figure so fonts are loaded, becomes a child subreaper and says it is ready. Then, for each job frame it
forks a confined child (renderers/jobs.py) and answers with one result frame that also reports its own memory use,
so the pool can recycle it when it grows.
"""

from __future__ import annotations

import os
import shutil
import sys
import time

from renderers import protocol
from renderers.jobs import become_subreaper, run_job
from renderers.registry import languages, renderer


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _prepare_home() -> str:
    for var in ("HOME", "MPLCONFIGDIR", "TEXMFVAR", "XDG_CACHE_HOME"):
        path = os.environ.get(var)
        if path:
            os.makedirs(path, exist_ok=True)
    mpl = os.environ.get("MPLCONFIGDIR")
    cache = os.environ.get("VINCI_MPL_CACHE")
    if mpl and cache and os.path.isdir(cache):
        for name in os.listdir(cache):
            if name.startswith("fontlist"):
                shutil.copy(os.path.join(cache, name), os.path.join(mpl, name))
    scratch = os.environ.get("TMPDIR") or "/tmp"
    jobs_root = os.path.join(scratch, "jobs")
    os.makedirs(jobs_root, exist_ok=True)
    os.chmod(jobs_root, 0o711)
    if os.geteuid() == 0:
        # jobs run as another uid: they may write only their own work dir, never the shared scratch areas
        for shared in {scratch, "/dev/shm"} if os.environ.get("VINCI_SANDBOX") == "bwrap" else {scratch}:
            if os.path.isdir(shared):
                os.chmod(shared, 0o755)
    return jobs_root


def _isolate_network() -> None:
    """Without bwrap but as root: move this worker into an empty network namespace."""
    import ctypes

    clone_newnet = 0x40000000
    if ctypes.CDLL(None, use_errno=True).unshare(clone_newnet) != 0:
        print(f"render worker: could not unshare the network (errno {ctypes.get_errno()})", file=sys.stderr)


def _uid_can_run_python(uid: int) -> bool:
    """Can a job running as `uid` read this interpreter's files? (Not when Python lives under a private home.)"""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            for path in {sys.base_prefix, sys.prefix, os.path.dirname(os.__file__), sys.executable}:
                if not os.access(path, os.R_OK):
                    os._exit(1)
            os.listdir(os.path.dirname(os.__file__))
            os._exit(0)
        except BaseException:  # noqa: BLE001
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def main(argv: list[str]) -> int:
    slot = int(argv[0])
    uid = None if argv[1] == "-" else int(argv[1])
    proto_in, proto_out = protocol.take_stdio()
    started = time.monotonic()
    jobs_root = _prepare_home()
    whole_namespace = os.environ.get("VINCI_SANDBOX") == "bwrap"
    if not whole_namespace and os.geteuid() == 0:
        _isolate_network()
    if uid is not None and not _uid_can_run_python(uid):
        print(
            f"render worker: uid {uid} cannot read the Python installation ({sys.base_prefix}); "
            "jobs keep the worker's uid (no per-job uid, no process-count limit)",
            file=sys.stderr,
        )
        uid = None
    become_subreaper()
    for language in languages("sandbox"):
        renderer(language).warm()
    protocol.write_frame(
        proto_out,
        {"ready": True, "pid": os.getpid(), "slot": slot, "warm_s": round(time.monotonic() - started, 3)},
    )
    return protocol.serve(proto_in, proto_out, lambda job: run_job(job, uid, whole_namespace, jobs_root), _rss_mb)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
