"""The render stage on a real ingest dataset: every row kept, images replaced, failures typed, resume, versions."""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pydantic import BaseModel

from renderers.result import ERROR_KINDS
from storage import DataRoot, InputRecord
from storage.query import scan, sql
from tasks.executor import run_local
from tasks.registry import build_stage
from tasks.render_stage import RenderStage
from tasks.stage import Stage, version_name
from vinci.version import code_version

ENGINE = {"sandbox_workers": 2, "browser_workers": 1}
BROWSER_READY = (Path(__file__).resolve().parents[2] / "render" / "browser_worker.py").exists()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, Any]:
    """Ingest 60 demo rows plus a folder with a broken .py and an .svg that is not XML, then render them."""
    tmp = tmp_path_factory.mktemp("render")
    broken = tmp / "broken"
    broken.mkdir()
    (broken / "unclosed.py").write_text("import matplotlib.pyplot as plt\nplt.plot([1, 2]\n")
    (broken / "notxml.svg").write_text("this is a drawing, honestly\n")
    root = str(tmp / "data")
    sources = [
        {"adapter": "demo", "size": 60, "seed": 4},
        {"adapter": "folder", "name": "broken", "path": str(broken)},
    ]
    ingest = run_local(build_stage("ingest", {"sources": sources, "shard_rows": 20}, root), workers=1, progress=False)
    stage = build_stage("render", {"engine": ENGINE}, root)
    manifest = run_local(stage, progress=False)
    return {"root": root, "ingest": ingest, "manifest": manifest, "stage": stage}


def test_every_row_is_rendered_or_kept_with_its_failure(rendered):
    root, ingest, manifest = rendered["root"], rendered["ingest"], rendered["manifest"]
    before = scan("ingest", root).collect()
    after = scan("render", root).collect()
    assert manifest.rows == after.height == before.height == ingest.rows == 62
    assert manifest.rejected == 0 and manifest.shards == ingest.shards
    assert sorted(after["id"]) == sorted(before["id"])
    assert after.columns[-4:] == ["render_ok", "error_kind", "render_error", "render_ms"]
    assert after["render_ok"].null_count() == 0 and after["render_ms"].null_count() == 0

    for row in after.filter(after["render_ok"]).to_dicts():
        assert row["error_kind"] is None and row["render_error"] is None
        assert row["image"]["path"] == f"{row['id']}.png"
        with Image.open(io.BytesIO(row["image"]["bytes"])) as image:
            image.load()
            assert image.size == (row["image_width"], row["image_height"])
    failed = after.filter(~after["render_ok"]).to_dicts()
    assert failed and all(r["error_kind"] in ERROR_KINDS and r["render_error"] for r in failed)

    by_source_id = {r["source_id"]: r for r in after.filter(after["source"] == "broken").to_dicts()}
    assert by_source_id["unclosed.py"]["error_kind"] == "syntax" and by_source_id["unclosed.py"]["image"] is None
    assert by_source_id["notxml.svg"]["error_kind"] == "syntax"

    ok_languages = set(after.filter(after["render_ok"])["language"])
    assert {"python", "svg", "latex", "asymptote", "smiles"} <= ok_languages
    if BROWSER_READY:
        assert {"html", "mermaid"} <= ok_languages


def test_manifest_counts_lineage_and_schema(rendered):
    manifest, ingest = rendered["manifest"], rendered["ingest"]
    counters = manifest.extra["counters"]
    assert counters["failed_syntax"] >= 2 and counters["rendered_python"] > 0
    assert sum(counters.values()) == manifest.rows
    assert manifest.extra["schema_stages"] == ["render"]
    assert manifest.upstream == [{"stage": "ingest", "version": ingest.version, "uri": ingest.uri}]
    (record,) = manifest.inputs
    assert record.kind == "dataset" and record.fingerprint == f"ingest:{ingest.version}" and record.uri == ingest.uri
    assert "engine" not in rendered["stage"].identity()


def test_failures_are_queryable_with_sql(rendered):
    frame = sql("SELECT language, error_kind, count(*) AS n FROM render GROUP BY ALL", rendered["root"])
    assert frame["n"].sum() == rendered["manifest"].rows
    assert ("python", "syntax") in set(zip(frame["language"], frame["error_kind"], strict=True))


def test_a_second_run_resumes_and_other_options_make_a_new_version(rendered, monkeypatch):
    import renderers.engine

    root, manifest = rendered["root"], rendered["manifest"]
    parts = [Path(manifest.uri, f) for f in manifest.files]
    stamps = [p.stat().st_mtime_ns for p in parts]
    monkeypatch.setattr(renderers.engine, "RenderEngine", lambda *a: pytest.fail("a render engine was started"))
    stage = build_stage("render", {"engine": {**ENGINE, "max_jobs_per_worker": 7}}, root)  # pools: same version
    again = run_local(stage, progress=False)
    assert again.version == manifest.version and again.rows == manifest.rows
    assert [p.stat().st_mtime_ns for p in parts] == stamps  # no shard was redone

    other = build_stage("render", {"engine": ENGINE, "options": {"dpi": 50}}, root)
    assert version_name(other, other.inputs(), code_version(other.code_modules)) != manifest.version
    assert DataRoot(root).latest("render").version == manifest.version


def test_missing_upstream_is_a_clear_error(tmp_path):
    stage = build_stage("render", {}, str(tmp_path))
    with pytest.raises(FileNotFoundError, match="no finished 'ingest' dataset"):
        stage.inputs()


class ThreadedStage(Stage):
    """A stage that asks for threads; records where its shards ran and whether it was closed."""

    name = "threaded"
    executor = "threads"
    code_modules = ("tasks.stage",)

    def __init__(self, config, root, fail: bool = False):
        super().__init__(config, root)
        self.fail = fail
        self.ran: list[tuple[int, str]] = []
        self.closed = 0

    def inputs(self) -> list[InputRecord]:
        return [InputRecord(name="nothing", kind="test", fingerprint=f"fail={self.fail}")]

    def shard_specs(self, version) -> list[dict[str, Any]]:
        return [{"i": i} for i in range(6)]

    def process(self, spec):
        self.ran.append((os.getpid(), threading.current_thread().name))
        if self.fail and spec["i"] == 3:
            raise RuntimeError("shard 3 broke")
        return iter(())

    def close(self) -> None:
        self.closed += 1


class NoConfig(BaseModel):
    pass


def test_threads_executor_runs_shards_in_this_process_and_closes_the_stage(tmp_path):
    stage = ThreadedStage(NoConfig(), str(tmp_path))
    manifest = run_local(stage, workers=2, progress=False)
    assert manifest.shards == 6 and stage.closed == 1
    assert {pid for pid, _ in stage.ran} == {os.getpid()}
    threads = {name for _, name in stage.ran}
    assert all(name.startswith("shard") for name in threads) and 1 <= len(threads) <= 4

    failing = ThreadedStage(NoConfig(), str(tmp_path), fail=True)
    with pytest.raises(RuntimeError, match="shard 3 broke"):
        run_local(failing, workers=2, progress=False)
    assert failing.closed == 1


def test_render_stage_runs_in_threads():
    assert RenderStage.executor == "threads" and Stage.executor == "processes"
