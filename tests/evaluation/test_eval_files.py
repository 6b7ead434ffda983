"""`vinci eval` on prediction/reference folders: pairing by stem, missing predictions counted as failures, the
per-sample Parquet, and each benchmark's summary (UniSVG, ChemDraw, Image2Struct here; ChartMimic in its own test)."""

from __future__ import annotations

import json
import shutil

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from evaluation.files import score_files
from evaluation.loaders import BenchmarkError
from vinci.cli import app


def test_unisvg_folders_with_a_missing_prediction(shared_data, tmp_path):
    ref, pred = tmp_path / "ref", tmp_path / "pred"
    ref.mkdir(), pred.mkdir()
    icons = sorted((shared_data / "svg").glob("*.svg"))[:3]
    for icon in icons:
        shutil.copy(icon, ref / icon.name)
    for icon in icons[:2]:  # the third has no prediction
        (pred / f"{icon.stem}.txt").write_text(f"Here:\n```svg\n{icon.read_text()}\n```\n")
    (pred / "stray.svg").write_text("<svg/>")
    summary = score_files("unisvg", pred, ref, tmp_path / "out" / "scores.parquet")
    assert summary["n"] == 3 and summary["missing_predictions"] == 1 and summary["unmatched_predictions"] == 1
    assert summary["ssim"] == pytest.approx(2 / 3, abs=1e-6)  # two perfect, one missing (0)
    table = pq.read_table(tmp_path / "out" / "scores.parquet").to_pylist()
    assert [r["id"] for r in table] == [i.stem for i in icons] and table[2]["missing_prediction"]


def test_chemdraw_through_the_cli(tmp_path):
    ref, pred = tmp_path / "ref", tmp_path / "pred"
    ref.mkdir(), pred.mkdir()
    for name, smiles in {"ethanol": "CCO", "benzene": "c1ccccc1", "acid": "CC(=O)O"}.items():
        (ref / f"{name}.smi").write_text(smiles + "\n")
    (pred / "ethanol.smi").write_text("OCC")  # the same molecule, written differently
    (pred / "benzene.txt").write_text("```smiles\nC1CC1(\n```")  # not a molecule
    result = CliRunner().invoke(app, ["eval", "chemdraw", "--pred", str(pred), "--ref", str(ref)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["n"] == 3 and summary["fingerprint"] == "rdkit"
    assert summary["exec_rate"] == pytest.approx(100 / 3) and summary["tanimoto"] == pytest.approx(100 / 3)
    args = ["eval", "chemdraw", "--pred", str(pred), "--ref", str(ref), "--fingerprint", "morgan2"]
    morgan = CliRunner().invoke(app, args)
    assert morgan.exit_code == 0 and json.loads(morgan.output)["fingerprint"] == "morgan2"
    bad = CliRunner().invoke(app, [*args[:-1], "ecfp9"])
    assert bad.exit_code == 2 and "ecfp9" in bad.output


def test_image2struct_self_scores_one(shared_data, tmp_path):
    tex = min((shared_data / "tikz").glob("*.tex"), key=lambda p: p.stat().st_size)
    ref, pred = tmp_path / "ref", tmp_path / "pred"
    ref.mkdir(), pred.mkdir()
    shutil.copy(tex, ref / tex.name)
    shutil.copy(tex, pred / tex.name)
    summary = score_files("image2struct", pred, ref)
    assert summary["rendering_success_rate"] == 100.0 and summary["ems"] == pytest.approx(100.0)


def test_clear_errors(tmp_path):
    with pytest.raises(BenchmarkError, match="scores chartmimic, unisvg"):
        score_files("mmmu", tmp_path, tmp_path)
    with pytest.raises(BenchmarkError, match="not a folder"):
        score_files("unisvg", tmp_path / "nope", tmp_path)
    with pytest.raises(BenchmarkError, match="no \\*.svg reference files"):
        score_files("unisvg", tmp_path, tmp_path)
    result = CliRunner().invoke(app, ["eval", "unisvg", "--pred", str(tmp_path), "--ref", str(tmp_path)])
    assert result.exit_code == 2 and "no *.svg reference files" in result.output
    (tmp_path / "a.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>')
    args = ["eval", "unisvg", "--pred", str(tmp_path), "--ref", str(tmp_path), "--clip", str(tmp_path / "no-clip")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "no-clip" in result.output


def test_design2code_pages_get_the_reference_folders_images(shared_data):
    from evaluation.files import page_assets

    assets = page_assets(shared_data / "web")
    assert set(assets) == {"rick.jpg"} and assets["rick.jpg"].endswith("web/rick.jpg")
    assert page_assets(None) == {}
