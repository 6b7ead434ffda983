"""Lineage as Prefect assets, the per-dataset lock, and the render stage on a local Dask cluster, against a real
temporary Prefect server."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from PIL import Image
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowFilter, FlowFilterName

from flows.ingest import ingest
from flows.lineage import asset_key, run_upstream
from flows.render import render
from flows.stage import dataset_lock
from storage.query import scan

pytestmark = pytest.mark.prefect

DEMO = {"sources": [{"adapter": "demo", "size": 24, "seed": 5}], "shard_rows": 8}
RENDER = {"engine": {"sandbox_workers": 1, "browser_workers": 1}}
BROWSER = ("html", "mermaid")  # Chromium's anti-aliasing differs slightly from one render to the next


@pytest.fixture(scope="module")
def local_run(prefect_server, tmp_path_factory) -> tuple[str, dict, dict]:
    root = str(tmp_path_factory.mktemp("local") / "data")
    return root, ingest(config=DEMO, data_root=root, workers=1), render(config=RENDER, data_root=root, workers=2)


def test_each_stage_output_is_an_asset_materialized_from_its_inputs(local_run, prefect_api):
    root, ingested, rendered = local_run
    ingest_key, render_key = asset_key(ingested["uri"]), asset_key(rendered["uri"])
    assert ingest_key == Path(ingested["uri"]).as_uri() and ingest_key.startswith("file:///")
    found = prefect_api.materializations(wait_for=[ingest_key, render_key])
    assert found[ingest_key]["upstream"] == ["demo://demo"]  # the source
    assert found[render_key]["upstream"] == [ingest_key]  # the chain: source -> ingest -> render
    assert found[render_key]["name"] == f"render/{rendered['version']}"
    meta = found[render_key]["payload"]
    assert meta["rows"] == rendered["rows"] == 24 and meta["version"] == rendered["version"]
    assert json.loads(Path(meta["manifest"]).read_text())["rows"] == 24  # the run links to its manifest ...
    assert meta["files"] == 3 and all((Path(rendered["uri"]) / f).is_file() for f in meta["file_names"])  # and Parquet
    link = prefect_api.artifact("render-output")  # a link artifact: [label](file:///.../manifest.json)
    assert f"({asset_key(meta['manifest'])})" in link


def test_training_and_evaluation_runs_name_what_they_read(tmp_path):
    root = tmp_path / "data"
    run = root / "sft" / "tiny-abc"
    run.mkdir(parents=True)
    recipe = {"model": {"path": "vinci:tiny"}, "data": {"datasets": ["dedup@v1", "drafts@v2"]}}
    (run / "recipe.yaml").write_text(json.dumps(recipe))  # YAML is a superset of JSON
    assert [asset_key(r) for r in run_upstream(str(run))] == [
        "vinci://tiny",
        (root / "dedup" / "v1").resolve().as_uri(),
        (root / "drafts" / "v2").resolve().as_uri(),
    ]
    evaluation = root / "eval" / "demo-1"
    evaluation.mkdir(parents=True)
    sources = {"heldout": {"dataset": "dedup@v1"}, "chartmimic": {"path": str(tmp_path / "cm"), "samples": 3}}
    (evaluation / "recipe.yaml").write_text(json.dumps({"model": {"path": str(run)}, "sources": sources}))
    assert run_upstream(str(evaluation)) == [str(run), str((root / "dedup" / "v1").resolve()), str(tmp_path / "cm")]
    assert asset_key("Qwen/Qwen2.5-VL-7B-Instruct") == "hf://Qwen/Qwen2.5-VL-7B-Instruct"


def test_a_dataset_has_one_writer_at_a_time(prefect_server, tmp_path):
    root = str(tmp_path / "data")
    with dataset_lock(root, "render"):
        with pytest.raises(TimeoutError), dataset_lock(root, "render", timeout_seconds=2):
            pass
        with dataset_lock(root, "ingest", timeout_seconds=30):  # another dataset is not blocked
            pass
        with dataset_lock(str(tmp_path / "other"), "render", timeout_seconds=30):  # nor another data root
            pass
    with dataset_lock(root, "render", timeout_seconds=30):  # released when the holder finished
        pass
    # the message says how to free a stale slot
    with (
        pytest.raises(TimeoutError, match="--active-slots 0"),
        dataset_lock(root, "render"),
        dataset_lock(root, "render", timeout_seconds=1),
    ):
        pass


def _content(root: str) -> pl.DataFrame:
    frame = scan("render", root).collect().sort("id")
    return frame.select(
        "id",
        "language",
        "code",
        "render_ok",
        "error_kind",
        "image_width",
        "image_height",
        png=pl.col("image").struct.field("bytes"),
    )


def test_render_on_a_local_dask_cluster_gives_the_local_dataset(local_run, prefect_api, tmp_path):
    local_root, _, local_summary = local_run
    root = str(tmp_path / "data")
    ingest(config=DEMO, data_root=root, workers=1)
    state = render(config=RENDER, data_root=root, runner={"kind": "dask", "workers": 2}, return_state=True)
    summary = state.result()
    assert summary["shards"] == {"total": 3, "computed": 3, "skipped": 0, "cached": 0}
    assert (summary["rows"], summary["rejected"]) == (local_summary["rows"], local_summary["rejected"])
    assert summary["counters"] == local_summary["counters"]
    a, b = _content(local_root), _content(root)
    assert a.drop("png").equals(b.drop("png"))  # same ids, code, outcomes, sizes
    for row_a, row_b in zip(a.iter_rows(named=True), b.iter_rows(named=True), strict=True):
        if row_a["language"] not in BROWSER:
            assert row_a["png"] == row_b["png"], row_a["id"]  # sandbox renders are byte-identical
        elif row_a["png"] is not None:
            pa, pb = (
                np.asarray(Image.open(io.BytesIO(p)).convert("L"), dtype=int) for p in (row_a["png"], row_b["png"])
            )
            assert np.mean(pa != pb) < 0.01, row_a["id"]  # a few anti-aliased edge pixels at most
    (child,) = _flow_runs("render-on-dask")  # the shard tasks ran in the Dask subflow, one task run each
    assert prefect_api.task_states(child, "render-shard") == ["Completed"] * 3


def _flow_runs(flow_name: str) -> list:
    async def read():
        async with get_client() as client:
            return await client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])))

    return [run.id for run in asyncio.run(read())]
