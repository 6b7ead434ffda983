"""The `merge` flow on a real temporary Prefect server, and the pipeline handing its checkpoint to SFT."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from prefect import flow

import flows.pipeline as pipeline_module
from flows.lineage import asset_key

pytestmark = pytest.mark.prefect

ROOT = Path(__file__).resolve().parents[2]
MERGE_RECIPE = str(ROOT / "training/recipes/merge/tiny-cpu.yaml")
SFT_RECIPE = str(ROOT / "training/recipes/sft/tiny-cpu.yaml")


def test_merge_flow_writes_the_checkpoint_its_summary_and_lineage(prefect_api, tmp_path):
    from flows.merge import merge

    root = str(tmp_path / "data")
    summary = merge(config="tiny-cpu", data_root=root)
    out = Path(summary["checkpoint"])
    assert summary["stage"] == "merge" and (out / "merge.yaml").is_file() and (out / "_done.json").is_file()
    assert summary["tensors_merged"] == 26
    rows = {r["field"]: r["value"] for r in prefect_api.artifact("merge-summary")}
    assert rows["checkpoint"] == str(out) and rows["scale"] == "0.5"
    key = asset_key(str(out))
    found = prefect_api.materializations(wait_for=[key])
    upstream = sorted(asset_key(summary[name]) for name in ("vlm", "base", "coder"))
    assert found[key]["upstream"] == upstream and found[key]["name"] == f"merge/{out.name}"
    assert found[key]["payload"]["tensors_merged"] == 26


def _recording_sft(calls: list):
    @flow(name="sft")
    def sft(config=None, data_root=None, workers=None, progress=None, overrides=None):
        calls.append(overrides)
        return {"stage": "sft", "checkpoint": "unused"}

    return sft


def test_pipeline_starts_sft_from_the_merge_only_when_it_has_one(prefect_server, tmp_path, monkeypatch):
    calls: list = []
    monkeypatch.setitem(pipeline_module.FLOWS, "sft", _recording_sft(calls))
    root = str(tmp_path / "data")
    with_merge = tmp_path / "with-merge.yaml"
    with_merge.write_text(yaml.safe_dump({"stages": {"sft": SFT_RECIPE, "merge": MERGE_RECIPE}}))
    results = pipeline_module.pipeline(config=str(with_merge), data_root=root)
    assert list(results) == ["merge", "sft"]  # pipeline order, not the config's
    assert calls == [{"model": {"path": results["merge"]["checkpoint"]}}]
    without = tmp_path / "without.yaml"
    without.write_text(yaml.safe_dump({"stages": {"sft": SFT_RECIPE}}))
    pipeline_module.pipeline(config=str(without), data_root=root)
    assert calls[1] is None  # no merge entry: SFT's recipe is left as it is
