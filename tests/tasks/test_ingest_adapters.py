"""Each adapter on small fixtures laid out like the real sources, plus the bad rows every source can hold."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from schemas import sample_id
from storage.query import scan
from tasks.executor import run_local
from tasks.ingest import IngestConfig, IngestStage


def png(size=(32, 24), color=(10, 120, 200)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def ingest(root: str, *sources: dict, shard_rows: int = 4, **extra) -> tuple[pl.DataFrame, pl.DataFrame, object]:
    cfg = IngestConfig.model_validate({"sources": list(sources), "shard_rows": shard_rows, **extra})
    manifest = run_local(IngestStage(cfg, root), workers=1, progress=False)
    return scan("ingest", root).collect(), scan("ingest", root, rejected=True).collect(), manifest


def reasons(rejected: pl.DataFrame) -> dict[str, str]:
    return dict(zip(rejected["source_id"].to_list(), rejected["reason"].to_list(), strict=True))


# --- MCD (VisCodex): mcd_598k.json = JSON array of {images, messages, category} + an image folder ----------------
def write_mcd(folder: Path) -> Path:
    (folder / "images").mkdir(parents=True)
    for name in ("chart_0.png", "web_0.png", "qa_0.png", "two_a.png", "two_b.png"):
        (folder / "images" / name).write_bytes(png())
    chart_answer = "Here is the code:\n```python\nimport matplotlib.pyplot as plt\nplt.plot([1, 2])\n```\nDone."
    records = [
        {
            "images": ["images/chart_0.png"],
            "messages": [
                {"role": "user", "content": "<image>\nWrite matplotlib code that reproduces this chart."},
                {"role": "assistant", "content": chart_answer},
            ],
            "category": "chart",
        },
        {
            "images": ["images/web_0.png"],
            "messages": [
                {"role": "user", "content": "<image>Turn this screenshot into HTML."},
                {"role": "assistant", "content": "```html\n<!DOCTYPE html><html><body>Hi</body></html>\n```"},
            ],
            "category": "HTML",
        },
        {
            "images": ["images/qa_0.png"],
            "messages": [
                {"role": "user", "content": "<image>Why?"},
                {"role": "assistant", "content": "Because."},
            ],
            "category": "QA",
        },
        {
            "images": [],
            "messages": [
                {"role": "user", "content": "Sort a list"},
                {"role": "assistant", "content": "sorted(x)"},
            ],
            "category": "algorithm",
        },
        {
            "images": ["images/chart_0.png"],
            "messages": [{"role": "user", "content": "<image>?"}, {"role": "assistant", "content": "x"}],
            "category": "poetry",
        },
        {
            "images": ["images/two_a.png", "images/two_b.png"],
            "messages": [
                {"role": "user", "content": "<image><image>"},
                {"role": "assistant", "content": "```python\nx=1\n```"},
            ],
            "category": "chart",
        },
        {
            "images": ["images/missing.png"],
            "messages": [
                {"role": "user", "content": "<image>"},
                {"role": "assistant", "content": "```python\nx=1\n```"},
            ],
            "category": "chart",
        },
    ]
    path = folder / "mcd_598k.json"
    path.write_text(json.dumps(records, indent=1))
    return path


def test_mcd_adapter_maps_categories_code_and_images(tmp_path, data_root):
    path = write_mcd(tmp_path / "mcd")
    rows, rejected, manifest = ingest(data_root, {"adapter": "mcd", "name": "mcd", "path": str(path)}, shard_rows=3)
    assert rows.height == 2
    chart = rows.filter(pl.col("source_id") == "mcd_598k.json#0").to_dicts()[0]
    assert chart["domain"] == "chart" and chart["language"] == "python"
    assert chart["code"] == "import matplotlib.pyplot as plt\nplt.plot([1, 2])"
    assert chart["instruction"] == "Write matplotlib code that reproduces this chart."
    assert chart["image"]["bytes"] == png() and chart["image"]["path"] == "images/chart_0.png"
    assert (chart["image_width"], chart["image_height"]) == (32, 24)
    assert json.loads(chart["meta"]) == {"category": "chart"}
    assert chart["id"] == sample_id("mcd", "mcd_598k.json#0")
    web = rows.filter(pl.col("source_id") == "mcd_598k.json#1").to_dicts()[0]
    assert web["domain"] == "web" and web["language"] == "html" and web["code"].startswith("<!DOCTYPE html>")
    assert reasons(rejected) == {
        "mcd_598k.json#2": "category_excluded",
        "mcd_598k.json#3": "category_excluded",
        "mcd_598k.json#4": "category_unknown",
        "mcd_598k.json#5": "multiple_images",
        "mcd_598k.json#6": "image_missing",
    }
    assert manifest.rejected_by_reason == {
        "category_excluded": 2,
        "category_unknown": 1,
        "image_missing": 1,
        "multiple_images": 1,
    }
    # the JSON array was staged into JSONL chunks during the run and removed when it finished
    assert not (Path(manifest.uri) / "_staging").exists()


def test_mcd_images_can_stay_inside_the_zip(tmp_path, data_root):
    path = write_mcd(tmp_path / "mcd")
    archive = tmp_path / "mcd_images.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for img in (tmp_path / "mcd" / "images").iterdir():
            zf.write(img, f"images/{img.name}")
    for img in (tmp_path / "mcd" / "images").iterdir():
        img.unlink()
    rows, _, _ = ingest(data_root, {"adapter": "mcd", "name": "mcd", "path": str(path), "image_root": str(archive)})
    assert rows.height == 2 and rows["image"].struct.field("bytes").is_not_null().all()


# --- Hugging Face-style Parquet with an Image column (DaTikZ / UniSVG / WebCode2M layouts) ------------------------
def test_parquet_with_hf_image_struct(tmp_path, data_root):
    image_type = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    table = pa.table(
        {
            "caption": ["a circle", "a square", "broken"],
            "code": [
                "\\begin{tikzpicture}\\draw (0,0) circle (1);\\end{tikzpicture}",
                "\\tikz\\draw (0,0) rectangle (1,1);",
                "x",
            ],
            "image": pa.array(
                [
                    {"bytes": png(), "path": None},
                    {"bytes": png((5, 5)), "path": "sq.png"},
                    {"bytes": b"not a png", "path": None},
                ],
                image_type,
            ),
            "origin": ["arxiv", "tex.se", "arxiv"],
        }
    )
    folder = tmp_path / "datikz" / "data"
    folder.mkdir(parents=True)
    pq.write_table(table.slice(0, 2), folder / "train-00000-of-00002.parquet", row_group_size=1)
    pq.write_table(table.slice(2), folder / "train-00001-of-00002.parquet")
    rows, rejected, _ = ingest(
        data_root,
        {"adapter": "table", "name": "datikz", "path": str(tmp_path / "datikz"), "language": "tikz"},
        shard_rows=1,
    )
    assert rows.height == 2 and set(rows["language"]) == {"latex"} and set(rows["domain"]) == {"latex"}
    assert sorted(rows["source_id"]) == [
        "data/train-00000-of-00002.parquet#0",
        "data/train-00000-of-00002.parquet#1",
    ]
    assert rows.filter(pl.col("image_width") == 5)["image"].struct.field("path").to_list() == ["sq.png"]
    assert reasons(rejected) == {"data/train-00001-of-00002.parquet#0": "image_undecodable"}


# --- Web2Code-style LLaVA JSON: [{id, image, conversations: [{from, value}]}] --------------------------------------
def test_llava_style_conversations_with_image_paths(tmp_path, data_root):
    folder = tmp_path / "web2code"
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "p1.png").write_bytes(png())
    records = [
        {
            "id": "web2code-1",
            "image": "images/p1.png",
            "conversations": [
                {"from": "human", "value": "<image>\nWrite the HTML for this page."},
                {"from": "gpt", "value": "```html\n<html><body><h1>Title</h1></body></html>\n```"},
            ],
        }
    ]
    (folder / "web2code.json").write_text(json.dumps(records))
    rows, _, _ = ingest(data_root, {"adapter": "table", "name": "web2code", "path": str(folder / "web2code.json")})
    row = rows.to_dicts()[0]
    assert row["source_id"] == "web2code-1" and row["language"] == "html" and row["domain"] == "web"
    assert row["code"] == "<html><body><h1>Title</h1></body></html>"
    assert row["instruction"] == "Write the HTML for this page."


# --- JSONL with bad lines, byte-range shards ------------------------------------------------------------------------
def test_jsonl_shards_by_lines_and_rejects_bad_records(tmp_path, data_root):
    lines = [json.dumps({"svg": f'<svg xmlns="http://www.w3.org/2000/svg" width="{i + 1}"/>'}) for i in range(7)]
    lines.insert(3, "{not json")
    lines.insert(5, "")
    lines.append(json.dumps(["not", "an", "object"]))
    path = tmp_path / "icons.jsonl"
    path.write_text("\n".join(lines))  # no trailing newline
    rows, rejected, manifest = ingest(
        data_root, {"adapter": "table", "name": "icons", "path": str(path), "language": "svg"}, shard_rows=3
    )
    assert rows.height == 7 and set(rows["domain"]) == {"svg"}
    assert reasons(rejected) == {"icons.jsonl#3": "record_malformed", "icons.jsonl#9": "record_malformed"}
    assert manifest.shards == 4
    assert rows["id"].n_unique() == 7


# --- CSV: the shared SMILES sample (id,name,smiles) ----------------------------------------------------------------
def test_csv_of_smiles(shared_data, data_root):
    rows, rejected, _ = ingest(
        data_root,
        {
            "adapter": "table",
            "name": "esol",
            "path": str(shared_data / "molecules" / "smiles.csv"),
            "language": "smiles",
        },
        shard_rows=50,
    )
    assert rows.height == 150 and rejected.height == 0
    assert set(rows["domain"]) == {"science"}
    assert rows["source_id"].str.starts_with("esol_").all()


# --- Folder of code files with sibling images (ChartMimic layout) --------------------------------------------------
def test_shared_charts_every_file_is_a_row_or_a_reasoned_rejection(shared_data, data_root):
    files = sorted(p.name for p in (shared_data / "charts").iterdir())
    rows, rejected, manifest = ingest(
        data_root,
        {"adapter": "folder", "name": "chartmimic", "path": str(shared_data / "charts"), "domain": "chart"},
        shard_rows=50,
    )
    assert rows.height + rejected.height == len({Path(f).stem for f in files})
    accounted = []
    for frame in (rows, rejected):
        for meta in frame["meta"]:
            accounted += json.loads(meta)["files"]
    assert sorted(accounted) == files
    counters = manifest.extra["counters"]
    assert counters["files_seen"] == len(files) == counters["files_in_rows"] + counters.get("files_in_rejections", 0)
    bar = rows.filter(pl.col("source_id") == "bar_14.py").to_dicts()[0]
    assert bar["subdomain"] == "bar" and bar["image"]["path"] == "bar_14.png"
    assert bar["code"] == (shared_data / "charts" / "bar_14.py").read_text()
    assert bar["image"]["bytes"] == (shared_data / "charts" / "bar_14.png").read_bytes()


def test_folder_edge_cases(tmp_path, data_root, shared_data):
    folder = tmp_path / "mixed"
    (folder / "sub").mkdir(parents=True)
    (folder / "ok.py").write_text("import matplotlib.pyplot as plt\nplt.plot([1])\n")
    (folder / "ok.png").write_bytes(png())
    (folder / "pdf_only.py").write_text("print('hi')\n")
    (folder / "pdf_only.pdf").write_bytes((shared_data / "charts" / "bar_14.pdf").read_bytes())
    (folder / "orphan.png").write_bytes(png())
    (folder / "latin1.py").write_bytes("# caf\xe9\nprint(1)\n".encode("latin-1"))
    (folder / "empty.py").write_text("   \n\n")
    (folder / "nul.py").write_bytes(b"print(1)\x00\x00")
    (folder / "huge.py").write_text("x = 1\n" * 50)
    (folder / "badimg.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    (folder / "badimg.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (folder / "both.py").write_text("x=1\n")
    (folder / "both.html").write_text("<p>x</p>")
    (folder / "sub" / "icon.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg"><rect width="4" height="4"/></svg>'
    )
    (folder / ".hidden.py").write_text("ignored")
    rows, rejected, manifest = ingest(
        data_root,
        {"adapter": "folder", "name": "mixed", "path": str(folder)},
        limits={"max_code_chars": 200},
    )
    assert sorted(rows["source_id"]) == ["ok.py", "pdf_only.py", "sub/icon.svg"]
    pdf_row = rows.filter(pl.col("source_id") == "pdf_only.py").to_dicts()[0]
    assert pdf_row["image"]["path"] == "pdf_only.png" and pdf_row["image_width"] > 100
    assert rows.filter(pl.col("source_id") == "sub/icon.svg")["domain"].to_list() == ["svg"]
    assert reasons(rejected) == {
        "orphan": "no_code_file",
        "latin1.py": "code_not_utf8",
        "empty.py": "code_empty",
        "nul.py": "code_binary",
        "huge.py": "code_too_long",
        "badimg.svg": "image_undecodable",
        "both": "ambiguous_code_files",
    }
    latin = rejected.filter(pl.col("source_id") == "latin1.py").to_dicts()[0]
    assert "caf" in latin["code"] and latin["rejected_by"] == "ingest" and latin["reason_detail"]
    assert latin["id"] == sample_id("mixed", "latin1.py")
    counters = manifest.extra["counters"]
    assert counters["files_seen"] == 14 == counters["files_in_rows"] + counters["files_in_rejections"]


# --- limits on images ----------------------------------------------------------------------------------------------
def test_image_limits_and_decompression_bombs(tmp_path, data_root):
    folder = tmp_path / "imgs"
    folder.mkdir()
    bomb = io.BytesIO()
    Image.new("1", (12000, 12000)).save(bomb, "PNG")  # 144 Mpx, a few kB on disk
    cases = {
        "bomb": bomb.getvalue(),
        "wide": png((400, 300)),
        "fine": png((40, 30)),
        "big": png((60, 60)) + b"\0" * 60_000,
    }
    for name, data in cases.items():
        (folder / f"{name}.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
        (folder / f"{name}.png").write_bytes(data)
    rows, rejected, _ = ingest(
        data_root,
        {"adapter": "folder", "name": "imgs", "path": str(folder)},
        limits={"max_image_pixels": 100_000, "max_image_bytes": 50_000, "max_row_bytes": 10_000_000},
    )
    assert rows["source_id"].to_list() == ["fine.svg"]
    assert reasons(rejected) == {
        "bomb.svg": "image_too_many_pixels",
        "wide.svg": "image_too_many_pixels",
        "big.svg": "image_too_large",
    }


def test_row_size_limit(tmp_path, data_root):
    folder = tmp_path / "rows"
    folder.mkdir()
    (folder / "a.py").write_text("x = 1\n" * 100)
    (folder / "a.png").write_bytes(png((50, 50)))
    _, rejected, _ = ingest(
        data_root, {"adapter": "folder", "name": "rows", "path": str(folder)}, limits={"max_row_bytes": 300}
    )
    assert reasons(rejected) == {"a.py": "row_too_large"}


# --- the demo generator as a source -------------------------------------------------------------------------------
def test_demo_source_covers_every_domain_and_language(data_root):
    rows, rejected, manifest = ingest(data_root, {"adapter": "demo", "size": 120, "seed": 7}, shard_rows=40)
    assert rejected.height == 0 and rows.height == 120
    assert set(rows["domain"]) == {"chart", "web", "svg", "latex", "science"}
    assert set(rows["language"]) == {"python", "html", "svg", "latex", "mermaid", "asymptote", "smiles"}
    assert rows["instruction"].str.len_chars().min() > 40
    assert rows["source_id"].to_list()[:2] == ["7-0", "7-1"]
    kinds = {json.loads(m)["kind"] for m in rows["meta"]}
    assert len([k for k in kinds if k.startswith("chart/")]) >= 10


def test_unknown_inputs_fail_clearly(tmp_path, data_root):
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        ingest(data_root, {"adapter": "folder", "name": "x", "path": str(tmp_path / "nope")})
    (tmp_path / "obj.json").write_text('{"a": 1}')
    rows, rejected, _ = ingest(data_root, {"adapter": "table", "name": "x", "path": str(tmp_path / "obj.json")})
    assert rows.height == 0 and reasons(rejected) == {"obj.json": "file_unreadable"}
    assert "expected a JSON array" in rejected["reason_detail"][0]
