"""`vinci render PATH... --out DIR` and `vinci stage NAME` as a user types them."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import polars as pl
from PIL import Image
from typer.testing import CliRunner

from tasks.render_files import collect, unique_names
from vinci.cli import app

runner = CliRunner()
COLUMNS = ["path", "image", "language", "ok", "error_kind", "error", "ms", "width", "height"]


def run(*args: str):
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def smiles_file(shared_data: Path, path: Path, n: int = 4) -> list[dict]:
    with open(shared_data / "molecules" / "smiles.csv", newline="") as fh:
        molecules = list(csv.DictReader(fh))[:n]
    lines = ["# a few ESOL molecules", ""]
    lines += [f"{m['smiles']}\t{m['name']}" for m in molecules]
    path.write_text("\n".join(lines) + "\n")
    return molecules


def test_render_charts_svg_folder_and_smiles(shared_data, tmp_path):
    charts = sorted((shared_data / "charts").glob("*.py"))[:2]
    icons = tmp_path / "icons"
    (icons / "nested").mkdir(parents=True)
    svgs = sorted((shared_data / "svg").glob("*.svg"))[:4]
    for i, svg in enumerate(svgs):
        shutil.copy(svg, icons / ("nested" if i % 2 else "") / svg.name)
    (icons / "README.txt").write_text("not code\n")
    molecules = smiles_file(shared_data, tmp_path / "esol.smi")
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n")
    out = tmp_path / "out"

    code, output = run(
        "render", *charts, icons, tmp_path / "esol.smi", notes, "--out", out, "-w", "2", "--timeout", "60"
    )
    assert code == 0, output
    assert f"skipped {notes}: unknown extension '.txt'" in output
    assert "python     2/2 rendered" in output and "svg        4/4 rendered" in output
    assert "smiles     4/4 rendered" in output

    results = pl.read_parquet(out / "results.parquet")
    assert results.columns == COLUMNS and results.height == 2 + 4 + 4
    assert results["ok"].all() and results["error_kind"].null_count() == results.height
    smiles_rows = results.filter(pl.col("language") == "smiles")
    assert list(smiles_rows["path"]) == [f"{tmp_path / 'esol.smi'}#{n}" for n in (3, 4, 5, 6)]
    safe = [m["name"] for m in molecules if " " not in m["name"]]
    assert all(f"esol-{name}.png" in set(smiles_rows["image"]) for name in safe)
    for row in results.to_dicts():
        with Image.open(out / row["image"]) as image:
            assert image.size == (row["width"], row["height"])
    assert {p.name for p in out.glob("*.png")} == set(results["image"])
    assert set(results.filter(pl.col("language") == "python")["image"]) == {f"{c.stem}.png" for c in charts}


def test_same_stems_do_not_overwrite_and_failures_are_reported(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "logo.svg").write_text(
            f'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><text y="20">{folder}</text></svg>'
        )
    (tmp_path / "broken.svg").write_text("no markup here")
    out = tmp_path / "out"
    code, output = run("render", tmp_path / "a", tmp_path / "b", tmp_path / "broken.svg", "--out", out, "-w", "1")
    assert code == 1, output
    assert "svg        2/3 rendered; failed: syntax 1" in output
    results = pl.read_parquet(out / "results.parquet")
    assert sorted(results["image"].drop_nulls()) == ["logo-2.png", "logo.png"]
    assert (out / "logo.png").read_bytes() != (out / "logo-2.png").read_bytes()
    broken = results.filter(~pl.col("ok")).to_dicts()[0]
    assert broken["image"] is None and broken["error_kind"] == "syntax" and broken["error"]

    code, output = run("render", tmp_path / "nothing.xyz", "--out", out)
    assert code == 2 and "nothing to render" in output


def test_names_and_collection_rules(tmp_path):
    assert unique_names(["a", "a", "A", "b", "a"]) == ["a.png", "a-2.png", "A-3.png", "b.png", "a-4.png"]
    (tmp_path / "m.smi").write_text("CCO ethanol\n  \n# skip\nc1ccccc1 benzene ring\nC/C=C/C trans-2-butene\nN ../x\n")
    items, skipped = collect([tmp_path / "m.smi", tmp_path / "missing.py"])
    assert [(i.path.rsplit("#", 1)[1], i.code, i.stem) for i in items] == [
        ("1", "CCO", "m-ethanol"),
        ("4", "c1ccccc1", "m-4"),
        ("5", "C/C=C/C", "m-trans-2-butene"),
        ("6", "N", "m-6"),
    ]
    assert skipped == [f"skipped {tmp_path / 'missing.py'}: no such file"]


def test_stage_command_runs_any_registered_stage(tmp_path):
    data_root = str(tmp_path / "data")
    code, output = run("stage", "polish", "--data-root", data_root)
    assert code == 2 and "unknown stage 'polish'" in output and "ingest, repair, filter, render, dedup" in output
    code, output = run("stage", "render", "--local", "--data-root", data_root)
    assert code == 2 and "no finished 'filter' dataset" in output  # the demo render config reads filter

    (tmp_path / "ingest.yaml").write_text(json.dumps({"sources": [{"adapter": "demo", "size": 8, "seed": 5}]}))
    code, output = run("stage", "ingest", "--config", tmp_path / "ingest.yaml", "--local", "--data-root", data_root)
    assert code == 0 and "8 rows" in output, output
    (tmp_path / "render.yaml").write_text(json.dumps({"engine": {"sandbox_workers": 2, "browser_workers": 1}}))
    code, output = run(
        "stage", "render", "-c", tmp_path / "render.yaml", "--local", "--data-root", data_root, "--json", "-w", "2"
    )
    assert code == 0, output
    summary = json.loads(output[output.index("{") :])
    assert summary["stage"] == "render" and summary["rows"] == 8
    assert sum(summary["counters"].values()) == 8


def test_html_files_load_the_files_beside_them_and_nothing_else(tmp_path):
    from PIL import Image

    site = tmp_path / "site"
    site.mkdir()
    Image.new("RGB", (40, 40), (255, 0, 0)).save(site / "red.png")
    (tmp_path / "outside.png").write_bytes((site / "red.png").read_bytes())
    (site / "page.html").write_text(
        '<body style="margin:0"><img src="red.png" width="200" height="100">'
        '<img src="../outside.png" width="200" height="100"></body>'
    )
    out = tmp_path / "out"
    code, output = run("render", site / "page.html", "--out", out, "-w", "1")
    assert code == 0, output
    shot = Image.open(out / "page.png").convert("RGB")
    assert shot.getpixel((100, 50)) == (255, 0, 0)  # the sibling image loaded
    assert shot.getpixel((300, 50)) != (255, 0, 0)  # the file outside the page's folder did not
