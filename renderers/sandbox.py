"""The sandbox a render worker lives in, and how strong it is on this machine.

Preferred (`bwrap`): bubblewrap gives the worker its own pid, network, IPC and UTS namespaces, a read-only view of
only what rendering needs (system dirs, the Python install, the render package, TeX and font data), a private
size-capped tmpfs for work, and a cleared environment. When the caller is root, bwrap runs privileged (no user
namespace) so the worker can give every job its own unprivileged uid: that makes the process-count limit real and
keeps jobs away from root-owned files. Without root, bwrap runs in a user namespace and jobs keep the caller's uid.

Fallback (`none`, when bwrap is missing or cannot start): the worker runs unconfined, with a warning; when root,
it still moves into a fresh network namespace and jobs still drop to their own uid; resource limits, timeouts
and process-group kills apply either way.
"""

from __future__ import annotations

import fcntl
import functools
import logging
import os
import random
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("vinci.render")

RENDER_PACKAGE = Path(__file__).resolve().parent
UID_BASE = int(os.environ.get("VINCI_SANDBOX_UID_BASE", "64000"))
UID_RANGE = 1024
LEASE_DIR = os.environ.get("VINCI_UID_LEASE_DIR", "/tmp/vinci-uid-leases")
ETC_ENTRIES = (
    "fonts",
    "texmf",
    "alternatives",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "papersize",
    "ghostscript",
    "ImageMagick-6",
    "mime.types",
)
VAR_ENTRIES = ("/var/lib/texmf", "/var/cache/fontconfig")
SANDBOX_HOME = "/tmp/home"


@dataclass(frozen=True)
class Sandbox:
    mode: str  # "bwrap" | "none"
    privileged: bool  # jobs can be given their own uid
    reason: str = ""


class UidLease:
    """An unprivileged uid held by one live worker on this machine (an flock on a file per uid).

    The process-count limit is counted per uid across the whole machine, so two workers must never share one:
    not two slots of a pool, and not two engines in different processes.
    """

    def __init__(self, uid: int, fd: int):
        self.uid = uid
        self._fd = fd

    @classmethod
    def acquire(cls) -> UidLease:
        os.makedirs(LEASE_DIR, mode=0o755, exist_ok=True)
        start = random.randrange(UID_RANGE)
        for i in range(UID_RANGE):
            uid = UID_BASE + (start + i) % UID_RANGE
            fd = os.open(os.path.join(LEASE_DIR, str(uid)), os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            return cls(uid, fd)
        raise RuntimeError(f"all {UID_RANGE} sandbox uids from {UID_BASE} are leased; are that many workers alive?")

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # closing drops the lock
            self._fd = -1


def is_root() -> bool:
    return os.geteuid() == 0


def base_env(mode: str) -> dict[str, str]:
    """The whole environment of a worker: nothing of the caller's (no secrets), only what renderers need."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": SANDBOX_HOME,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": "/tmp/mpl" if mode == "bwrap" else "",
        "XDG_CACHE_HOME": "/tmp/cache",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "NUMEXPR_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": str(RENDER_PACKAGE.parent),
        # kpathsea: no shell escape, no reading or writing outside the work dir by absolute or parent paths
        "shell_escape": "f",
        "openin_any": "p",
        "openout_any": "p",
        "TEXMFVAR": "/tmp/texmf-var",
        "VINCI_SANDBOX": mode,
    }


def _ro_binds() -> list[str]:
    paths = ["/usr"]
    for root in ("/bin", "/sbin", "/lib", "/lib64", "/lib32"):
        if os.path.exists(root) and not os.path.islink(root):
            paths.append(root)
    paths += [p for p in VAR_ENTRIES if os.path.exists(p)]
    paths += [os.path.join("/etc", e) for e in ETC_ENTRIES if os.path.lexists(os.path.join("/etc", e))]
    for prefix in {sys.base_prefix, sys.prefix, os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix)}:
        paths.append(prefix)
    paths.append(str(RENDER_PACKAGE))
    # the editable-install finder and .pth files live in site-packages (covered by sys.prefix)
    unique: list[str] = []
    for p in paths:
        p = os.path.normpath(p)
        if p not in unique and not any(p.startswith(u + os.sep) for u in unique):
            unique.append(p)
    return unique


def _parents(path: str) -> list[str]:
    parts = Path(path).parts[1:-1]
    return [os.path.join("/", *parts[: i + 1]) for i in range(len(parts))]


def bwrap_argv(
    command: list[str], *, tmp_mb: int, extra_ro: tuple[str, ...] = (), extra_env: dict[str, str] | None = None
) -> list[str]:
    """bwrap command line that runs `command` in the render sandbox."""
    argv = ["bwrap", "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net", "--unshare-ipc"]
    argv += ["--unshare-uts", "--unshare-cgroup-try", "--hostname", "render"]
    if not is_root():
        argv += ["--unshare-user"]
    made: set[str] = {"/"}
    for root in ("/bin", "/sbin", "/lib", "/lib64", "/lib32"):
        if os.path.islink(root):
            argv += ["--symlink", os.readlink(root), root]
            made.add(root)
    binds = _ro_binds() + [p for p in extra_ro if os.path.exists(p)]
    # a private /root and /home hide the real home directories; binds below may poke back through them
    argv += ["--perms", "0755", "--tmpfs", "/root", "--perms", "0755", "--tmpfs", "/home"]
    # the private /tmp comes before the binds, so that a project or venv living under /tmp stays visible
    argv += ["--perms", "1777", "--size", str(tmp_mb << 20), "--tmpfs", "/tmp"]
    made |= {"/root", "/home", "/tmp"}
    for path in sorted(binds, key=lambda p: (p.count(os.sep), p)):
        for parent in _parents(path):
            if parent not in made:
                argv += ["--perms", "0755", "--dir", parent]
                made.add(parent)
        argv += ["--ro-bind", path, path]
        made.add(path)
    argv += ["--proc", "/proc", "--dev", "/dev"]
    argv += ["--perms", "1777", "--size", str(64 << 20), "--tmpfs", "/dev/shm"]
    argv += ["--clearenv"]
    for key, value in (base_env("bwrap") | (extra_env or {})).items():
        argv += ["--setenv", key, value]
    argv += ["--chdir", "/tmp", "--"]
    return argv + command


@functools.cache
def detect() -> Sandbox:
    """Probe once per process which sandbox this machine allows (VINCI_SANDBOX=none forces the fallback)."""
    privileged = is_root()
    if os.environ.get("VINCI_SANDBOX", "").lower() == "none":
        return _fallback(privileged, "VINCI_SANDBOX=none")
    if shutil.which("bwrap") is None:
        return _fallback(privileged, "bubblewrap (bwrap) is not installed; run `make setup`")
    probe = bwrap_argv([sys.executable, "-c", "import renderers.protocol"], tmp_mb=16)
    try:
        proc = subprocess.run(probe, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return _fallback(privileged, f"bwrap could not start: {exc}")
    if proc.returncode != 0:
        return _fallback(privileged, f"bwrap failed on this machine: {proc.stderr.strip()[:300]}")
    return Sandbox("bwrap", privileged)


def _fallback(privileged: bool, reason: str) -> Sandbox:
    log.warning(
        "render sandbox: %s. Jobs run with resource limits, timeouts and process-group kills only; "
        "they can read files the worker can read%s.",
        reason,
        "" if privileged else " and may reach the network",
    )
    return Sandbox("none", privileged, reason)


def worker_command(
    sandbox: Sandbox,
    module: str,
    args: list[str],
    *,
    tmp_mb: int,
    extra_ro: tuple[str, ...] = (),
    extra_env: dict[str, str] | None = None,
) -> tuple[list[str], dict, str]:
    """(argv, env, cwd) that start `python -m module args` as a render worker in the sandbox."""
    command = [sys.executable, "-m", module, *args]
    extra_env = extra_env or {}
    if sandbox.mode == "bwrap":
        argv = bwrap_argv(command, tmp_mb=tmp_mb, extra_ro=extra_ro, extra_env=extra_env)
        return argv, {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, "/"
    workdir = tempfile.mkdtemp(prefix="vinci-render-")
    os.chmod(workdir, 0o755)
    env = base_env("none") | extra_env
    env |= {"HOME": workdir, "TMPDIR": workdir, "MPLCONFIGDIR": os.path.join(workdir, "mpl")}
    env["TEXMFVAR"] = os.path.join(workdir, "texmf-var")
    env["XDG_CACHE_HOME"] = os.path.join(workdir, "cache")
    return command, env, workdir
