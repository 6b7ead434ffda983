"""Kill-and-resume across the data stages and the pipeline flow.

Each stage runs as `vinci stage NAME --local --workers 1` (shards in the run's own process) with a SIGKILL injected
at a seeded random point (`vinci/faults.py`: the start of a shard, between a shard's rejected file and its rows,
after the rows but before the marker, a survey, the decision, finalize), then runs again. The result must equal an
uninterrupted run: the same version, the same ids, the same content, no duplicates, nothing lost, and no shard that
had finished before the kill rewritten. The pipeline flow is killed the same way in its render stage and resumed
through Prefect. `VINCI_KILL_SEEDS` (`make test-reliability`) runs more seeds.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
from PIL import Image

from storage import DataRoot
from vinci import faults

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STAGES = ("ingest", "repair", "filter", "render", "dedup")
DEMO = {"sources": [{"adapter": "demo", "size": 20, "seed": 11}], "shard_rows": 5}
BROWSER = ("html", "mermaid")  # Chromium's anti-aliasing differs slightly from one render to the next
SEEDS = [int(s) for s in os.environ.get("VINCI_KILL_SEEDS", "0").split(",")]


def vinci(args: list[str], env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run `vinci ARGS` in its own session; once it exits (or is killed), end whatever it left in that session
    (a killed run's temporary Prefect server outlives it and would hold a pipe open)."""
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "vinci.cli", *args],
            cwd=PROJECT_ROOT,
            env={**os.environ, "VINCI_PROGRESS": "0", **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            proc.wait(timeout=timeout)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.seek(0)
        return subprocess.CompletedProcess(proc.args, proc.returncode, log.read().decode(errors="replace"))


def stage_args(stage: str, root: Path, configs: Path) -> list[str]:
    return ["stage", stage, "--local", "--workers", "1", "--data-root", str(root), "--config", str(configs / stage)]


@pytest.fixture(scope="module")
def configs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("configs")
    (folder / "ingest").write_text(yaml.safe_dump(DEMO))
    for stage in STAGES[1:]:
        shutil.copy(PROJECT_ROOT / "configs" / stage / "demo.yaml", folder / stage)
    stages = {stage: str(folder / stage) for stage in STAGES}
    (folder / "pipeline.yaml").write_text(yaml.safe_dump({"stages": stages}))
    return folder


@pytest.fixture(scope="module")
def reference(tmp_path_factory, configs) -> Path:
    """The uninterrupted chain, stage by stage."""
    root = tmp_path_factory.mktemp("reference") / "data"
    for stage in STAGES:
        done = vinci(stage_args(stage, root, configs))
        assert done.returncode == 0, done.stdout[-3000:]
    return root


def files_written(root: Path, stage: str) -> dict[str, tuple[int, int]]:
    """(inode, mtime_ns) of every shard file and completion marker of the stage."""
    found = {}
    for path in (root / stage).rglob("*"):
        if path.is_file() and not path.name.startswith(".") and (path.suffix == ".parquet" or "_shards" in path.parts):
            st = path.stat()
            found[str(path.relative_to(root))] = (st.st_ino, st.st_mtime_ns)
    return found


def finished_shards(written: dict[str, tuple[int, int]]) -> list[str]:
    return [p for p in written if "/_shards/" in p]


def kill_points(stage: str, shards: int, rng: random.Random) -> str:
    index = rng.randrange(shards)
    points = [f"{stage}.shard.{index}", f"{stage}.write.{index}.rejected", f"{stage}.write.{index}.rows"]
    points += [f"{stage}.finalize"]
    if stage == "dedup":
        points += [f"{stage}.survey.{index}", f"{stage}.decide"]
    return rng.choice(points)


def frame(root: Path, stage: str) -> tuple[str, pl.DataFrame, pl.DataFrame]:
    version = DataRoot(str(root)).latest(stage)
    manifest = version.manifest()
    rows = pl.read_parquet([version.path(f) for f in manifest.files]).sort("id")
    rejected = [version.path(f) for f in manifest.rejected_files]
    return manifest.version, rows, (pl.read_parquet(rejected).sort("id") if rejected else pl.DataFrame())


def assert_same_dataset(resumed_root: Path, reference_root: Path, stage: str) -> None:
    v1, rows, rejected = frame(resumed_root, stage)
    v2, ref_rows, ref_rejected = frame(reference_root, stage)
    assert v1 == v2, f"{stage}: a different version"
    assert rows["id"].n_unique() == rows.height, f"{stage}: duplicate rows"
    assert rows["id"].to_list() == ref_rows["id"].to_list(), f"{stage}: rows lost or added"
    assert rejected.height == ref_rejected.height, f"{stage}: rejections differ"
    if rejected.height:
        assert rejected.select("id", "reason").equals(ref_rejected.select("id", "reason")), f"{stage}: rejections"
    exact = [c for c in rows.columns if c not in ("render_ms", "image")]
    assert rows.select(exact).equals(ref_rows.select(exact)), f"{stage}: row content differs"
    for got, want, language in zip(rows["image"], ref_rows["image"], rows["language"], strict=True):
        if got == want:
            continue
        assert language in BROWSER, f"{stage}: a {language} image differs"
        a, b = (np.asarray(Image.open(io.BytesIO(i["bytes"])).convert("L"), dtype=int) for i in (got, want))
        assert a.shape == b.shape and np.mean(a != b) < 0.01


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("stage", STAGES)
def test_stage_killed_at_a_seeded_point_resumes_to_the_uninterrupted_dataset(stage, seed, reference, configs, tmp_path):
    root = tmp_path / "data"
    for upstream in STAGES[: STAGES.index(stage)]:  # the same inputs as the reference run
        shutil.copytree(reference / upstream, root / upstream)
    shards = DataRoot(str(reference)).latest(stage).manifest().shards
    point = kill_points(stage, shards, random.Random(f"{seed}-{stage}"))
    env = {faults.ENV: f"{point}=kill", faults.STATE_ENV: str(tmp_path / "faults")}
    killed = vinci(stage_args(stage, root, configs), env=env)
    assert killed.returncode == -signal.SIGKILL, f"{point}: the run was not killed\n{killed.stdout[-2000:]}"
    assert faults.fired(env[faults.ENV], tmp_path / "faults") == {f"{point}=kill": 1}
    before = files_written(root, stage)

    resumed = vinci(stage_args(stage, root, configs))
    assert resumed.returncode == 0, resumed.stdout[-3000:]
    assert_same_dataset(root, reference, stage)
    after = files_written(root, stage)
    for marker in finished_shards(before):  # finished before the kill: neither recomputed nor rewritten
        part = marker.replace("_shards/", "").replace(".json", ".parquet")
        assert after[marker] == before[marker], f"{point}: {marker} was rewritten"
        if part in before:
            assert after[part] == before[part], f"{point}: {part} was recomputed"


@pytest.mark.slow  # 70-80 s; in make test-reliability (stage kills and test_serve's resume stay in make test)
@pytest.mark.prefect
@pytest.mark.parametrize("seed", SEEDS)
def test_pipeline_flow_killed_in_render_resumes_through_prefect(reference, configs, tmp_path, seed):
    root = tmp_path / "data"
    for upstream in ("ingest", "repair", "filter"):  # finished before: the flow must find them, not redo them
        shutil.copytree(reference / upstream, root / upstream)
    shards = DataRoot(str(reference)).latest("render").manifest().shards
    point = f"render.write.{random.Random(seed).randrange(shards)}.rows"
    args = ["pipeline", "--config", str(configs / "pipeline.yaml"), "--data-root", str(root), "--workers", "1"]
    env = {faults.ENV: f"{point}=kill", faults.STATE_ENV: str(tmp_path / "faults")}
    killed = vinci(args, env=env)
    assert killed.returncode == -signal.SIGKILL, killed.stdout[-3000:]
    assert not DataRoot(str(root)).version("render", frame(reference, "render")[0]).is_finished()
    before = {stage: files_written(root, stage) for stage in STAGES}

    resumed = vinci(args)
    assert resumed.returncode == 0, resumed.stdout[-3000:]
    for stage in STAGES:
        assert_same_dataset(root, reference, stage)
    for stage in ("ingest", "repair", "filter"):  # finished before the kill: found again, not rewritten
        assert files_written(root, stage) == before[stage], stage
    after = files_written(root, "render")
    for marker in finished_shards(before["render"]):
        assert after[marker] == before["render"][marker], marker
