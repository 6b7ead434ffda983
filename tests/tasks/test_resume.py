"""SIGKILL an ingest run midway, run it again: the same dataset as an uninterrupted run, nothing recomputed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from storage import DataRoot

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONFIG = """
sources:
  - adapter: demo
    size: {size}
    seed: 3
shard_rows: 50
"""


def vinci(*args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "VINCI_PROGRESS": "0"}
    return subprocess.Popen(
        [sys.executable, "-m", "vinci.cli", *args],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # so the kill takes the whole run: pool workers, Prefect's temporary server
        **kwargs,
    )


def finish(proc: subprocess.Popen, timeout: float = 600) -> str:
    out, _ = proc.communicate(timeout=timeout)
    text = out.decode(errors="replace")
    assert proc.returncode == 0, text[-3000:]
    return text


def markers(root: str) -> dict[str, tuple[int, int]]:
    """(inode, mtime_ns) of every shard file and completion marker written so far."""
    found = {}
    for path in Path(root, "ingest").rglob("*"):
        if path.name.startswith("."):  # a writer's temporary file, swept when the run resumes
            continue
        if path.suffix == ".parquet" or path.parent.name == "_shards":
            try:
                st = path.stat()
            except FileNotFoundError:  # renamed or swept while we looked (the run is live)
                continue
            found[str(path.relative_to(root))] = (st.st_ino, st.st_mtime_ns)
    return found


def kill_midway(args: list[str], root: str, total_shards: int, at_least: int) -> dict[str, tuple[int, int]]:
    proc = vinci(*args)
    deadline = time.monotonic() + 600
    try:
        while time.monotonic() < deadline:
            done = [p for p in markers(root) if "/_shards/" in p]
            if len(done) >= at_least:
                break
            if proc.poll() is not None:
                pytest.fail(f"run ended before it could be killed:\n{proc.stdout.read().decode()[-3000:]}")
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    state = markers(root)
    done = [p for p in state if "/_shards/" in p]
    assert 0 < len(done) < total_shards, f"kill did not land midway: {len(done)}/{total_shards} shards done"
    return state


def dataset(root: str) -> tuple[str, pl.DataFrame, dict[str, bytes]]:
    version = DataRoot(root).latest("ingest")
    manifest = version.manifest()
    frame = pl.read_parquet([version.path(f) for f in manifest.files])
    files = {f: Path(version.path(f)).read_bytes() for f in manifest.files}
    return manifest.version, frame, files


def check_same_as_uninterrupted(killed_root: str, clean_root: str, before: dict[str, tuple[int, int]]) -> None:
    v1, resumed, files1 = dataset(killed_root)
    v2, clean, files2 = dataset(clean_root)
    assert v1 == v2
    assert resumed["id"].n_unique() == resumed.height  # no duplicates
    assert sorted(resumed["id"]) == sorted(clean["id"])  # nothing lost
    assert files1 == files2  # byte-identical shards
    after = markers(killed_root)
    finished_before = {p for p in before if "/_shards/" in p}
    for marker in finished_before:
        part = marker.replace("_shards/", "").replace(".json", ".parquet")
        assert after[marker] == before[marker], f"{marker} was rewritten"
        assert after[part] == before[part], f"{part} was recomputed"


@pytest.mark.slow  # make test: tests/reliability/test_kill_resume.py kills every stage at injected points
def test_sigkill_local_run_then_resume(tmp_path):
    size, shards = 4000, 80
    (tmp_path / "demo.yaml").write_text(CONFIG.format(size=size))
    killed, clean = str(tmp_path / "killed"), str(tmp_path / "clean")
    args = ["ingest", "--config", str(tmp_path / "demo.yaml"), "--local", "--workers", "1"]
    before = kill_midway([*args, "--data-root", killed], killed, shards, at_least=5)
    finish(vinci(*args, "--data-root", killed))
    finish(vinci(*args, "--data-root", clean))
    check_same_as_uninterrupted(killed, clean, before)


@pytest.mark.slow  # make test: the pipeline flow is killed and resumed in tests/reliability/test_kill_resume.py
@pytest.mark.prefect
def test_sigkill_prefect_run_then_resume(tmp_path):
    size, shards = 4000, 80
    (tmp_path / "demo.yaml").write_text(CONFIG.format(size=size))
    killed, clean = str(tmp_path / "killed"), str(tmp_path / "clean")
    args = ["ingest", "--config", str(tmp_path / "demo.yaml"), "--workers", "1"]
    before = kill_midway([*args, "--data-root", killed], killed, shards, at_least=5)
    log = finish(vinci(*args, "--data-root", killed))
    assert "Cached" in log  # finished shards came back from Prefect's result cache
    finish(vinci(*args, "--data-root", clean, "--local"))
    check_same_as_uninterrupted(killed, clean, before)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_repeated_kills_at_seeded_random_points(tmp_path, seed):
    """Three SIGKILLs at seeded random points of one larger run, then a clean finish (`make test-slow`)."""
    import random

    size, shard_rows = 20000, 100
    shards = size // shard_rows
    config = tmp_path / "demo.yaml"
    config.write_text(f"sources:\n  - adapter: demo\n    size: {size}\n    seed: {seed}\nshard_rows: {shard_rows}\n")
    killed, clean = str(tmp_path / "killed"), str(tmp_path / "clean")
    args = ["ingest", "--config", str(config), "--local", "--workers", "2"]
    before: dict[str, tuple[int, int]] = {}
    for at in sorted(random.Random(seed).sample(range(5, shards - 40), 3)):
        state = kill_midway([*args, "--data-root", killed], killed, shards, at_least=at)
        before = {**state, **before}  # the first sighting of every finished shard
    finish(vinci(*args, "--data-root", killed))
    finish(vinci(*args, "--data-root", clean))
    check_same_as_uninterrupted(killed, clean, before)
