"""`make serve` / `make stop`: a local Prefect server on loopback, the work pools, every deployment, and workers.

    make serve     # python -m vinci.serve start
    make stop      # python -m vinci.serve stop
    python -m vinci.serve status

`start` launches `prefect server start` on 127.0.0.1 (port `VINCI_SERVE_PORT`, default 4200) with its own
`PREFECT_HOME` under the state folder (`VINCI_SERVE_DIR`, default `.serve/` in the project), waits until the API
answers, creates the `vinci-cpu` and `vinci-gpu` process pools, deploys everything in prefect.yaml from this
checkout, and starts one process worker per pool. Each process runs in its own session; the state file records
its pid and its kernel start time, so `stop` signals exactly the processes `start` launched (a reused pid is
recognised and left alone): SIGTERM to each process group, SIGKILL to what is still there after a grace period.
Logs go to the state folder. Running `start` twice finds the running set and does nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
POOLS = ("vinci-cpu", "vinci-gpu")
STATE = "serve.json"


@dataclass
class Proc:
    name: str
    pid: int
    started: int  # kernel start time (clock ticks since boot): tells a reused pid apart

    def alive(self) -> bool:
        return _start_time(self.pid) == self.started


@dataclass
class Served:
    api_url: str
    home: str
    processes: list[Proc] = field(default_factory=list)


def _start_time(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[19]) if fields[0] != "Z" else None  # field 22 of stat; a zombie counts as gone


def state_dir() -> Path:
    return Path(os.environ.get("VINCI_SERVE_DIR") or PROJECT / ".serve")


def _read_state(folder: Path) -> Served | None:
    path = folder / STATE
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    return Served(data["api_url"], data["home"], [Proc(**p) for p in data["processes"]])


def _write_state(folder: Path, served: Served) -> None:
    tmp = folder / (STATE + ".tmp")
    tmp.write_text(json.dumps(asdict(served), indent=2) + "\n")
    tmp.replace(folder / STATE)


def _env(api_url: str, home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PREFECT_API_URL=api_url,
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        VINCI_PROJECT_DIR=str(PROJECT),
    )
    return env


def _prefect() -> str:
    return str(Path(sys.executable).with_name("prefect"))


def _spawn(name: str, args: list[str], env: dict[str, str], folder: Path) -> Proc:
    log = (folder / f"{name}.log").open("ab")
    proc = subprocess.Popen(
        args,
        cwd=PROJECT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    log.close()
    started = _start_time(proc.pid)
    if started is None:
        raise RuntimeError(f"{name} exited at once; see {folder / f'{name}.log'}")
    return Proc(name, proc.pid, started)


def _wait_healthy(api_url: str, timeout_s: float, server: Proc, log: Path) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not server.alive():
            raise RuntimeError(f"the Prefect server exited; see {log}")
        try:
            if httpx.get(f"{api_url}/health", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the Prefect server did not answer within {timeout_s:.0f} s; see {log}")


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(args, cwd=PROJECT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


def start(port: int | None = None, timeout_s: float = 180.0, deploy: bool = True) -> Served:
    """Start (or find running) the server, pools, deployments and workers; returns what runs."""
    folder = state_dir()
    folder.mkdir(parents=True, exist_ok=True)
    running = _read_state(folder)
    if running and all(p.alive() for p in running.processes):
        return running
    if running:  # partly dead: clear what is left before starting again
        stop()
    port = port or int(os.environ.get("VINCI_SERVE_PORT", "4200"))
    api_url = f"http://127.0.0.1:{port}/api"
    home = folder / "prefect-home"
    env = _env(api_url, home)
    served = Served(api_url, str(home))
    prefect = _prefect()
    try:
        server = _spawn("server", [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env, folder)
        served.processes.append(server)
        _write_state(folder, served)  # from here on `stop` can clean up, whatever fails next
        _wait_healthy(api_url, timeout_s, server, folder / "server.log")
        for pool in POOLS:
            _run([prefect, "work-pool", "create", pool, "--type", "process", "--overwrite"], env, f"creating {pool}")
        if deploy:
            _run([prefect, "--no-prompt", "deploy", "--all"], env, "prefect deploy --all")
        for pool in POOLS:
            worker = _spawn(f"worker-{pool}", [prefect, "worker", "start", "--pool", pool], env, folder)
            served.processes.append(worker)
            _write_state(folder, served)
    except BaseException:
        stop()
        raise
    return served


def stop(grace_s: float = 20.0) -> list[str]:
    """Stop exactly the processes `start` launched (and their children); returns their names."""
    folder = state_dir()
    served = _read_state(folder)
    if served is None:
        return []
    live = [p for p in reversed(served.processes) if p.alive()]  # workers first, the server last
    for proc in live:
        _signal_group(proc, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(p.alive() for p in live):
        time.sleep(0.2)
    for proc in live:
        if proc.alive():
            _signal_group(proc, signal.SIGKILL)
    (folder / STATE).unlink(missing_ok=True)
    return [p.name for p in live]


def _signal_group(proc: Proc, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)  # started with a new session: its group id is its pid


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    command = args[0] if args else "status"
    if command == "start":
        served = start()
        print(f"Prefect server at {served.api_url} (UI: {served.api_url.removesuffix('/api')})")
        print(f"pools {', '.join(POOLS)}; workers: {', '.join(p.name for p in served.processes[1:])}")
        print(f"use it:  export PREFECT_API_URL={served.api_url}; prefect deployment run ingest/ingest")
        print("stop it: make stop")
        return 0
    if command == "stop":
        stopped = stop()
        print(f"stopped {', '.join(stopped)}" if stopped else "nothing was running")
        return 0
    if command == "status":
        served = _read_state(state_dir())
        if served is None:
            print("not running")
            return 1
        for p in served.processes:
            print(f"{p.name:<18} pid {p.pid:<8} {'running' if p.alive() else 'gone'}")
        return 0
    print(f"usage: python -m vinci.serve start|stop|status (got {command!r})", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
