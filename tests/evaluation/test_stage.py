"""The evaluate stage end to end: released benchmark layouts answered through an OpenAI-compatible endpoint on
loopback (the oracle stands in for a model: it answers what the test registers for each image), scored with the
real metrics, judged, reported, found again when finished and resumed after an interruption; held-out rows of a
pipeline dataset minus what the model's lineage trained on; and the tiny model generating for real."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from PIL import Image

import renderers
from evaluation.heldout import benchmark_of, lineage_ids, load_heldout
from evaluation.recipe import BenchmarkSource, load_eval_recipe
from evaluation.scoring import table3
from evaluation.stage import run_evaluation
from storage.query import sql

MOLECULES = {"ethanol": ("CCO", "```smiles\nCCO\n```"), "benzene": ("c1ccccc1", "c1ccccc1O")}


def _charts(shared: Path, folder: Path, oracle) -> list[str]:
    folder.mkdir()
    names = []
    for script in sorted(shared.glob("charts/bar_*.py"))[:2]:
        shutil.copy(script, folder / script.name)
        shutil.copy(script.with_suffix(".png"), folder / f"{script.stem}.png")
        names.append(script.stem)
    first = folder / f"{names[0]}.py"
    oracle.answer((folder / f"{names[0]}.png").read_bytes(), f"Here it is:\n```python\n{first.read_text()}\n```")
    return names  # the second chart gets the oracle's empty answer: a failed sample


def _chemdraw(folder: Path, oracle) -> Path:
    folder.mkdir()
    with (folder / "test.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "image", "smiles"])
        for name, (smiles, answer) in MOLECULES.items():
            result = renderers.render(smiles, "smiles")
            assert result.ok, result.error_message
            (folder / f"{name}.png").write_bytes(result.image)
            writer.writerow([name, f"{name}.png", smiles])
            oracle.answer(result.image, answer)
    return folder / "test.csv"


def _unisvg(folder: Path, rows, oracle) -> Path:
    folder.mkdir()
    records = []
    for row, answer in zip(rows[:2], (rows[0]["code"], rows[2]["code"]), strict=True):
        (folder / f"{row['source_id']}.png").write_bytes(row["image"]["bytes"])
        records.append({"id": row["source_id"], "image": f"{row['source_id']}.png", "svg": row["code"]})
        oracle.answer(row["image"]["bytes"], f"```svg\n{answer}\n```")  # right, then a wrong colour
    (folder / "isvgen.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return folder / "isvgen.jsonl"


def _recipe(oracle, sources) -> dict:
    return {
        "name": "oracle",
        "model": {"path": "oracle-model"},
        "generation": {"backend": "openai", "endpoint": oracle.url, "concurrency": 2, "max_new_tokens": 64},
        "benchmarks": sources,
        "judge": {"endpoint": oracle.url, "model": "judge-model"},
        "chunk_size": 1,
        "worst_examples": 2,
    }


def _values(summary) -> dict[tuple[str, str], float | None]:
    return {(r["benchmark"], r["metric"]): r["value"] for r in summary["table"]}


def test_released_benchmarks_scored_judged_reported_and_resumed(shared_data, tmp_path, oracle_endpoint, toy_svg_rows):
    oracle = oracle_endpoint
    charts = _charts(shared_data, tmp_path / "charts", oracle)
    sources = [
        {"name": "chartmimic", "path": str(tmp_path / "charts")},
        {"name": "chemdraw", "path": str(_chemdraw(tmp_path / "chem", oracle))},
        {"name": "unisvg", "path": str(_unisvg(tmp_path / "svg", toy_svg_rows, oracle))},
    ]
    root = str(tmp_path / "data")
    summary = run_evaluation(_recipe(oracle, sources), root)
    assert summary["cached"] is False and summary["samples"] == {"chartmimic": 2, "chemdraw": 2, "unisvg": 2}
    assert oracle.generation_requests == 6

    values = _values(summary)
    # ChartMimic: one chart answered with its own script, one empty answer (counts 0 in every mean)
    rows = pl.read_parquet(Path(summary["run"]) / "scores" / "chartmimic.parquet").sort("id")
    assert rows["id"].to_list() == sorted(charts) and rows["executed"].to_list() == [True, False]
    assert rows["low_level"][0] > 70 and rows["low_level"][1] == 0
    assert values[("ChartMimic", "Exec rate")] == 50.0
    assert values[("ChartMimic", "Low-level")] == pytest.approx(rows["low_level"][0] / 2, abs=0.01)
    # the judge saw only the chart that rendered: 80 for it, 0 for the failed one
    assert oracle.judge_requests == 1 and values[("ChartMimic", "High-level")] == 40.0
    # ChemDraw: both answers are molecules, one of them the wrong one
    assert values[("ChemDraw", "Exec rate")] == 100.0
    assert 50.0 < values[("ChemDraw", "Tanimoto")] < 100.0
    # UniSVG: SSIM of a perfect and a wrong-colour answer; LPIPS / CLIP were given no weights
    assert 50.0 < values[("UniSVG", "SSIM")] < 100.0
    assert values[("UniSVG", "Score")] is None and "not run" in summary["benchmarks"]["unisvg"]["note"]

    run = Path(summary["run"])
    per_sample = pl.read_parquet(run / "per_sample.parquet")
    assert per_sample.height == 6 and set(per_sample["benchmark"]) == {"chartmimic", "chemdraw", "unisvg"}
    assert per_sample.filter(pl.col("id") == "ethanol")["primary"].item() == 100.0
    # `vinci query` sees the newest evaluation as the table `eval`
    by_benchmark = sql('SELECT benchmark, avg("primary") AS mean FROM eval GROUP BY benchmark ORDER BY 1', root)
    assert by_benchmark["benchmark"].to_list() == ["chartmimic", "chemdraw", "unisvg"]
    html = (run / "report.html").read_text()
    assert "ChartMimic" in html and "data:image/png;base64" in html
    assert {Path(p).name for p in summary["plots"]} >= {"benchmarks.png", "distributions.png", "worst-chemdraw.png"}
    assert yaml.safe_load((run / "recipe.yaml").read_text())["model"]["path"] == "oracle-model"

    # finished: found again without a request; a faster batch size is the same evaluation
    again = run_evaluation(_recipe(oracle, sources), root, {"generation": {"batch_size": 2}})
    assert again["cached"] is True and again["run"] == summary["run"] and oracle.generation_requests == 6

    # interrupted after the first chemdraw answer: the re-run asks only for the missing one
    (run / "_done.json").unlink()
    (run / "answers" / "chemdraw" / "part-00001.parquet").unlink()
    resumed = run_evaluation(_recipe(oracle, sources), root)
    assert oracle.generation_requests == 7 and resumed["table"] == summary["table"]


def test_table3_lays_out_every_benchmark_and_says_what_did_not_run():
    rows = table3(
        {
            "image2struct": {"rendering_success_rate": 50.0, "ems": 12.345},
            "chartmimic": {"exec_rate": 100.0, "low_level": 80.0, "high_level": None, "high_level_note": "not run: x"},
            "design2code": {"block_match": 0.5, "text": 0.5, "position": 1.0, "color": 0.0, "clip": None},
        }
    )
    assert [(r["benchmark"], r["metric"]) for r in rows] == [
        ("ChartMimic", "Exec rate"),
        ("ChartMimic", "Low-level"),
        ("ChartMimic", "High-level"),
        ("Design2Code", "Low-level"),
        ("Design2Code", "High-level"),
        ("Image2Struct-LaTeX", "Rendering success"),
        ("Image2Struct-LaTeX", "EMS"),
    ]
    values = {(r["benchmark"], r["metric"]): r for r in rows}
    assert values[("ChartMimic", "High-level")]["value"] is None
    assert values[("ChartMimic", "High-level")]["note"] == "not run: x"
    assert values[("Design2Code", "Low-level")]["value"] == 50.0
    assert values[("Image2Struct-LaTeX", "EMS")]["value"] == 12.35


def test_recipe_refuses_a_released_benchmark_without_a_path_and_unknown_fields():
    with pytest.raises(ValueError, match="needs `path`"):
        BenchmarkSource(name="chartmimic")
    with pytest.raises(ValueError, match="extra"):
        load_eval_recipe({"name": "x", "model": {"path": "m"}, "benchmarks": [{"name": "heldout"}], "bogus": 1})
    demo = load_eval_recipe("demo")
    assert demo.model.path == "virl:latest" and demo.benchmarks[0].name == "heldout"
    assert load_eval_recipe("paper").weights.fingerprint == "rdkit"


def test_heldout_rows_skip_what_the_model_lineage_trained_on(tmp_path, dedup_writer, toy_svg_rows, tiny_model):
    root = dedup_writer(str(tmp_path / "data"), toy_svg_rows)
    ids = sorted(r["id"] for r in toy_svg_rows)
    sft, virl = tmp_path / "sft-run", tmp_path / "virl-run"
    for folder, name, trained, base in ((sft, "train_ids", ids[0], "vinci:tiny"), (virl, "rl_ids", ids[1], sft)):
        folder.mkdir()
        pq.write_table(pa.table({"id": [trained]}), folder / f"{name}.parquet")
        (folder / "recipe.yaml").write_text(yaml.safe_dump({"model": {"path": str(base)}}))
    excluded, walked = lineage_ids(str(virl))
    assert excluded == {ids[0], ids[1]} and walked == [str(virl), str(sft)]

    groups, info = load_heldout(BenchmarkSource(name="heldout", per_language=1), root, str(virl))
    assert list(groups) == ["unisvg"] and [s.id for s in groups["unisvg"]] == [ids[2]]
    assert info["excluded_ids"] == 2 and info["rows"] == {"unisvg": 1}
    assert groups["unisvg"][0].instruction and Image.open(io.BytesIO(groups["unisvg"][0].image))

    assert benchmark_of("python", "chart") == "chartmimic" and benchmark_of("python", "science") == "visual"
    assert benchmark_of("mermaid", "science") == "visual" and benchmark_of("latex", "latex") == "image2struct"

    # the tiny model generates for real (transformers) on the held-out rows of its own (empty) lineage
    recipe = {
        "name": "tiny",
        "model": {"path": str(tiny_model), "dtype": "float32"},
        "generation": {"backend": "transformers", "max_new_tokens": 8, "batch_size": 2},
        "benchmarks": [{"name": "heldout", "per_language": 2}],
    }
    summary = run_evaluation(recipe, root)
    assert summary["samples"] == {"unisvg": 2}
    answers = pq.read_table(Path(summary["run"]) / "answers" / "unisvg" / "part-00000.parquet").to_pydict()
    assert answers["id"] == ids[:2] and all(isinstance(a, str) for a in answers["answer"])
    assert _values(summary)[("UniSVG", "SSIM")] is not None
