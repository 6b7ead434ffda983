"""The reward worker: the scorer (render pools + vision encoder) in its own process, on its own GPU if wanted.

The paper runs the reward on dedicated GPUs so that policy GPUs are not blocked by DINOv2; here a recipe says

    reward: {worker: spawn, worker_device: "7"}      # start one beside the trainer, encoder on GPU 7
    reward: {worker: "10.0.0.5:7788"}                # use one already running (all ranks may share it)

and the trainer talks to it through `RemoteScorer`, which has the scorer's interface (`score`, `config`,
`encoder_name`). Requests carry the target as PNG bytes and the completion text; answers are the per-rollout
results. The wire is `multiprocessing.connection` with an authentication key (`VINCI_REWARD_AUTHKEY`), one thread
per client; encoder calls are serialised by the scorer.

    python -m training.rewards.worker --listen 127.0.0.1:7788 --config reward.json
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import asdict
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Connection, Listener
from typing import Any

from training.rewards.scorer import RewardConfig, RewardResult, RewardScorer, Rollout

log = logging.getLogger(__name__)

AUTHKEY_ENV = "VINCI_REWARD_AUTHKEY"
READY = "VINCI_REWARD_WORKER_READY"
STARTUP_TIMEOUT_S = 900.0


class RewardWorkerError(RuntimeError):
    pass


def parse_address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise RewardWorkerError(f"reward worker address {text!r} is not HOST:PORT")
    return host or "127.0.0.1", int(port)


def _png(image: Any) -> bytes | None:
    if image is None or isinstance(image, bytes | bytearray):
        return bytes(image) if image is not None else None
    if isinstance(image, dict):
        return image.get("bytes")
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def _handle(conn: Connection, scorer: RewardScorer) -> None:
    try:
        while True:
            try:
                op, payload = conn.recv()
            except EOFError:
                return
            try:
                if op == "info":
                    conn.send(("ok", {"encoder": scorer.encoder_name, "config": scorer.config.model_dump(mode="json")}))
                elif op == "score":
                    results = scorer.score([Rollout(**r) for r in payload])
                    conn.send(("ok", [asdict(r) for r in results]))
                elif op == "close":
                    conn.send(("ok", None))
                    return
                else:
                    conn.send(("error", f"unknown request {op!r}"))
            except Exception as exc:  # noqa: BLE001 - report to the client, keep serving
                log.exception("reward request failed")
                conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def serve(config: RewardConfig, host: str, port: int, authkey: bytes) -> None:
    """Serve until killed; prints `READY host port` on stdout when the encoder and pools are up."""
    with RewardScorer(config) as scorer:
        scorer.engine.warm_up()
        with Listener((host, port), authkey=authkey) as listener:
            bound_host, bound_port = listener.address
            print(f"{READY} {bound_host} {bound_port} {scorer.encoder_name}", flush=True)
            while True:
                try:
                    conn = listener.accept()
                except (AuthenticationError, OSError, EOFError) as exc:  # a client with a wrong key, a dropped one
                    log.warning("refused a reward client: %s", exc)
                    continue
                threading.Thread(target=_handle, args=(conn, scorer), daemon=True).start()


class RemoteScorer:
    """A reward worker seen from the trainer: same `score(rollouts)` as `RewardScorer`."""

    def __init__(self, address: tuple[str, int], authkey: bytes, config: RewardConfig, process=None):
        self.config = config
        self.address = address
        self.process = process
        self._lock = threading.Lock()
        try:
            self._conn = Client(address, authkey=authkey)
        except (OSError, EOFError, AuthenticationError) as exc:
            raise RewardWorkerError(f"cannot reach the reward worker at {address[0]}:{address[1]}: {exc}") from exc
        self.encoder_name = self._call("info", None)["encoder"]

    def _call(self, op: str, payload: Any) -> Any:
        with self._lock:
            try:
                self._conn.send((op, payload))
                status, answer = self._conn.recv()
            except (OSError, EOFError) as exc:
                raise RewardWorkerError(f"the reward worker went away: {exc}") from exc
        if status != "ok":
            raise RewardWorkerError(f"the reward worker failed: {answer}")
        return answer

    def score(self, rollouts: Sequence[Rollout]) -> list[RewardResult]:
        payload = [
            {"target": _png(r.target), "completion": r.completion, "instruction": r.instruction, "language": r.language}
            for r in rollouts
        ]
        out = []
        for item in self._call("score", payload):
            item["grid"] = tuple(item["grid"]) if item.get("grid") else None
            out.append(RewardResult(**item))
        return out

    def close(self) -> None:
        with contextlib.suppress(RewardWorkerError):
            self._call("close", None)
        self._conn.close()
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> RemoteScorer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def spawn_worker(config: RewardConfig, timeout_s: float = STARTUP_TIMEOUT_S) -> RemoteScorer:
    """Start a reward worker process on loopback (on `config.worker_device`) and connect to it."""
    authkey = secrets.token_hex(16)
    env = {**os.environ, AUTHKEY_ENV: authkey}
    if config.worker_device is not None:
        env["CUDA_VISIBLE_DEVICES"] = config.worker_device
    local = config.model_copy(update={"worker": None})
    cmd = [sys.executable, "-m", "training.rewards.worker", "--listen", "127.0.0.1:0"]
    cmd += ["--config", local.model_dump_json()]
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
    line = _wait_ready(process, timeout_s)
    _, host, port, _ = line.split(" ", 3)
    return RemoteScorer((host, int(port)), authkey.encode(), config, process=process)


def _wait_ready(process: subprocess.Popen, timeout_s: float) -> str:
    found: list[str] = []

    def read() -> None:
        for line in process.stdout:
            if line.startswith(READY):
                found.append(line.strip())
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout_s)
    if not found:
        process.kill()
        process.wait()
        raise RewardWorkerError(
            f"the reward worker did not start within {timeout_s:.0f} s (exit code {process.returncode}); "
            "see its log above"
        )
    return found[0]


def make_scorer(config: RewardConfig):
    """The scorer a recipe asks for: in-process, a spawned worker, or a running worker at HOST:PORT."""
    if config.worker is None:
        return RewardScorer(config)
    if config.worker == "spawn":
        return spawn_worker(config)
    key = os.environ.get(AUTHKEY_ENV)
    if not key:
        raise RewardWorkerError(f"set {AUTHKEY_ENV} to the key the reward worker at {config.worker} was started with")
    return RemoteScorer(parse_address(config.worker), key.encode(), config)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the ViRL reward (render pools + vision encoder).")
    parser.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (port 0: any free port)")
    parser.add_argument("--config", default="{}", help="RewardConfig as JSON, or a path to a JSON/YAML file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    key = os.environ.get(AUTHKEY_ENV)
    if not key:
        raise SystemExit(f"{AUTHKEY_ENV} must be set (the key clients authenticate with)")
    raw = args.config
    if not raw.lstrip().startswith("{"):
        from vinci.config import read_yaml

        data = read_yaml(raw)
    else:
        data = json.loads(raw)
    host, port = parse_address(args.listen)
    serve(RewardConfig(**data), host, port, key.encode())


if __name__ == "__main__":  # pragma: no cover
    main()
