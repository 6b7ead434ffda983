"""`vinci export`: a real dataset to TRL, EasyR1 and ms-swift files, read back with the readers those tools use."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import datasets
import pyarrow.parquet as pq
import pytest
from PIL import Image
from pydantic import BaseModel
from typer.testing import CliRunner

from schemas import sample_id
from storage import DatasetNotFound, InputRecord
from storage import filesystem as fsys
from tasks.stage import Stage, finalize_stage, plan_stage, run_shard, shard_jobs
from training.conversation import answer
from training.export import ExportError, export_dataset, image_extension, output_schema
from training.prompts import direct_instruction, format_answer, refine_instruction
from vinci.cli import app

runner = CliRunner()
DRAFT = "import matplotlib.pyplot as plt\nplt.bar([1, 2], [3, 1])\n"


def _image(fmt: str, size: tuple[int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buf, format=fmt)
    return buf.getvalue()


def _row(n: int, domain: str, language: str, split: str, image: dict | None, **extra: Any) -> dict[str, Any]:
    row = {
        "id": sample_id("unit", str(n)),
        "domain": domain,
        "subdomain": None,
        "language": language,
        "task": "direct",
        "instruction": direct_instruction(language, key=str(n)),
        "code": f"code {n}",
        "draft_code": None,
        "image": image,
        "image_width": None,
        "image_height": None,
        "source": "unit",
        "source_id": str(n),
        "split": split,
        "meta": None,
    }
    return {**row, **extra}


def _bytes(fmt: str, size: tuple[int, int]) -> dict[str, Any]:
    return {"bytes": _image(fmt, size), "path": None}


# Two input shards; rows 4-6 have no usable image, row 7's answer holds a literal `<image>`.
SHARDS: list[list[dict[str, Any]]] = [
    [
        _row(0, "chart", "python", "train", _bytes("PNG", (40, 30)), code="import matplotlib.pyplot as plt\n"),
        _row(1, "svg", "svg", "validation", _bytes("JPEG", (20, 10)), code="<svg xmlns='x'/>"),
        _row(
            2,
            "chart",
            "python",
            "train",
            _bytes("PNG", (32, 32)),
            task="refine",
            draft_code=DRAFT,
            instruction=refine_instruction("python", DRAFT, key="2"),
            code="import matplotlib.pyplot as plt\nplt.bar([1, 2], [1, 3])\n",
        ),
    ],
    [
        _row(3, "web", "html", "test", _bytes("WEBP", (16, 12)), code="<html><body>hi</body></html>"),
        _row(4, "latex", "latex", "train", None),  # no image at all
        _row(5, "svg", "svg", "train", {"bytes": None, "path": "elsewhere.png"}),  # a path but no bytes
        _row(6, "svg", "svg", "train", {"bytes": b"this is not an image", "path": None}),
        # the answer carries EasyR1's / ms-swift's placeholder literally: ms-swift would pair it with an image
        _row(7, "science", "mermaid", "train", _bytes("PNG", (8, 8)), code='flowchart TD\n    A["<image>"] --> B'),
    ],
]
ROWS = {r["id"]: r for shard in SHARDS for r in shard}


def _size(row: dict[str, Any]) -> tuple[int, int] | None:
    data = (row["image"] or {}).get("bytes")
    try:
        return Image.open(io.BytesIO(data)).size if data else None
    except OSError:
        return None


SIZES = {i: _size(r) for i, r in ROWS.items() if _size(r)}  # rows with a decodable image
WITH_IMAGES = set(SIZES)
MS_SWIFT_KEPT = {i for i in WITH_IMAGES if "<image>" not in ROWS[i]["code"]}


class RowsConfig(BaseModel):
    shards: int = len(SHARDS)


class RowsStage(Stage):
    """A stage whose shards are the rows above: a real finished dataset (plan, shards, manifest, LATEST)."""

    name = "exportsrc"
    config: RowsConfig

    def inputs(self) -> list[InputRecord]:
        return [InputRecord(name="rows", kind="test", fingerprint="export-rows-v1")]

    def shard_specs(self, version) -> list[dict[str, Any]]:
        return [{"index": i} for i in range(self.config.shards)]

    def process(self, spec):
        yield from SHARDS[spec["index"]]


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> tuple[str, str]:
    """(data root, version folder) of the finished test dataset."""
    root = str(tmp_path_factory.mktemp("data"))
    stage = RowsStage(RowsConfig(), root)
    plan = plan_stage(stage)
    for job in shard_jobs(plan):
        run_shard(stage, job)
    manifest = finalize_stage(stage, plan)
    assert manifest.rows == len(ROWS) and manifest.rejected == 0
    return root, manifest.uri


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["export", *args])
    return result.exit_code, result.output


def load_parquet(files: list[str], tmp_path: Path) -> datasets.Dataset:
    return datasets.load_dataset("parquet", data_files=files, split="train", cache_dir=str(tmp_path / "hf"))


def datasets_metadata(features: datasets.Features, tmp_path: Path) -> dict:
    """The `huggingface` metadata `datasets` itself writes for these features."""
    path = tmp_path / "reference.parquet"
    datasets.Dataset.from_dict({k: [] for k in features}, features=features).to_parquet(str(path))
    return json.loads(pq.read_schema(path).metadata[b"huggingface"])


TURNS = datasets.List({"role": datasets.Value("string"), "content": datasets.Value("string")})
KEYS = {k: datasets.Value("string") for k in ("id", "domain", "language", "task")}
IMAGES = datasets.List(datasets.Image())


def check_images(ds: datasets.Dataset) -> None:
    for row in ds:
        assert len(row["images"]) == 1
        image = row["images"][0]
        assert isinstance(image, Image.Image) and image.size == SIZES[row["id"]]


def test_trl_prompt_completion_loads_with_datasets(source, tmp_path):
    root, _ = source
    out = tmp_path / "trl"
    summary = export_dataset("exportsrc", "trl", str(out), data_root=root)
    assert summary["counts"] == {
        "read": len(ROWS),
        "filtered_by_split": 0,
        "rows": len(WITH_IMAGES),
        "skipped": 3,
        "skipped_by_reason": {"bad_image": 1, "no_image_bytes": 2},
    }
    assert summary["files"] == ["part-00000.parquet", "part-00001.parquet"]
    assert summary["source"]["stage"] == "exportsrc" and summary["source"]["rows"] == len(ROWS)
    assert json.loads((out / "export.json").read_text()) == summary
    assert summary["columns"] == ["id", "domain", "language", "task", "images", "prompt", "completion"]
    assert sorted(os.listdir(out)) == ["export.json", "part-00000.parquet", "part-00001.parquet"]

    ds = load_parquet([str(out / f) for f in summary["files"]], tmp_path)
    assert ds.features["images"] == IMAGES
    assert sorted(ds["id"]) == sorted(WITH_IMAGES)
    check_images(ds)
    for row in ds:
        src = ROWS[row["id"]]
        assert row["prompt"] == [{"role": "user", "content": src["instruction"]}]
        assert row["completion"] == [{"role": "assistant", "content": format_answer(src["code"], src["language"])}]
        assert row["completion"][0]["content"].startswith("```") and row["completion"][0]["content"].endswith("```")
    refine = next(r for r in ds if r["task"] == "refine")
    assert DRAFT.strip() in refine["prompt"][0]["content"]

    features = datasets.Features({**KEYS, "images": IMAGES, "prompt": TURNS, "completion": TURNS})
    written = json.loads(pq.read_schema(out / "part-00000.parquet").metadata[b"huggingface"])
    assert written == datasets_metadata(features, tmp_path)
    # as TRL's scripts load a dataset folder: export.json is not mistaken for data
    assert datasets.load_dataset(str(out), split="train", cache_dir=str(tmp_path / "hf")).num_rows == len(WITH_IMAGES)


def test_trl_messages_style_from_a_version_folder_via_cli(source, tmp_path):
    _, uri = source
    out = tmp_path / "trl-messages"
    code, output = run("--format", "trl", "--trl-style", "messages", uri, str(out), "--json")
    assert code == 0, output
    summary = json.loads(output[output.index("{") :])
    assert summary["trl_style"] == "messages" and summary["columns"][-1] == "messages"
    ds = load_parquet([str(out / f) for f in summary["files"]], tmp_path)
    check_images(ds)
    for row in ds:
        src = ROWS[row["id"]]
        assert row["messages"] == [
            {"role": "user", "content": src["instruction"]},
            {"role": "assistant", "content": answer(src)},
        ]
    features = datasets.Features({**KEYS, "images": IMAGES, "messages": TURNS})
    assert pq.read_schema(out / summary["files"][0]).metadata == output_schema("trl", "messages").metadata
    assert json.loads(output_schema("trl", "messages").metadata[b"huggingface"]) == datasets_metadata(
        features, tmp_path
    )


def test_easyr1_problem_answer_images(source, tmp_path):
    root, _ = source
    out = tmp_path / "easyr1"
    code, output = run("--format", "easyr1", "exportsrc", str(out), "--data-root", root, "--progress")
    assert code == 0, output
    assert f"{len(WITH_IMAGES)} rows from exportsrc" in output and "no_image_bytes" in output
    summary = json.loads((out / "export.json").read_text())
    assert summary["columns"] == ["problem", "answer", "images", "id", "domain", "language", "task"]
    assert summary["files"] == ["data/part-00000.parquet", "data/part-00001.parquet"]
    # the way EasyR1 loads a folder: every file in it through one reader
    ds = datasets.load_dataset("parquet", data_dir=str(out / "data"), split="train", cache_dir=str(tmp_path / "hf"))
    assert sorted(ds["id"]) == sorted(WITH_IMAGES)
    check_images(ds)
    for row in ds:
        src = ROWS[row["id"]]
        assert row["problem"] == "<image>" + src["instruction"] and row["problem"].count("<image>") == 1
        assert row["answer"] == format_answer(src["code"], src["language"])
    features = datasets.Features(
        {"problem": datasets.Value("string"), "answer": datasets.Value("string")} | {"images": IMAGES, **KEYS}
    )
    written = json.loads(pq.read_schema(out / summary["files"][0]).metadata[b"huggingface"])
    assert written == datasets_metadata(features, tmp_path)


def test_ms_swift_jsonl_and_image_files(source, tmp_path):
    root, _ = source
    out = tmp_path / "swift"
    code, output = run("--format", "ms-swift", "exportsrc", str(out), "--data-root", root)
    assert code == 0, output
    summary = json.loads((out / "export.json").read_text())
    assert summary["counts"]["skipped_by_reason"] == {"bad_image": 1, "image_token_in_text": 1, "no_image_bytes": 2}
    assert summary["files"] == ["data.jsonl"] and summary["images"]["written"] == len(MS_SWIFT_KEPT)
    ds = datasets.load_dataset(
        "json", data_files=str(out / "data.jsonl"), split="train", cache_dir=str(tmp_path / "hf")
    )
    assert sorted(ds["id"]) == sorted(MS_SWIFT_KEPT)
    extensions = set()
    for row in ds:
        src = ROWS[row["id"]]
        text = "".join(m["content"] for m in row["messages"])
        assert text.count("<image>") == len(row["images"]) == 1
        assert row["messages"] == [
            {"role": "user", "content": "<image>" + src["instruction"]},
            {"role": "assistant", "content": answer(src)},
        ]
        path = Path(row["images"][0])
        assert path.is_absolute() and path.parent == out / "images" / row["id"][:2] and path.stem == row["id"]
        with Image.open(path) as image:
            assert image.size == SIZES[row["id"]]
            assert path.suffix == {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}[image.format]
        extensions.add(path.suffix)
        assert {row["language"], row["domain"], row["task"]} == {src["language"], src["domain"], src["task"]}
    assert extensions == {".png", ".jpg", ".webp"}
    assert not [p for p in out.rglob("*") if ".tmp-" in p.name]


def test_split_filter_and_skip_counts(source, tmp_path):
    root, _ = source
    out = tmp_path / "val"
    summary = export_dataset("exportsrc", "trl", str(out), split="validation", data_root=root)
    assert summary["counts"]["rows"] == 1 and summary["counts"]["skipped"] == 0
    assert summary["counts"]["filtered_by_split"] == len(ROWS) - 1
    assert summary["files"] == ["part-00000.parquet"]  # the second input shard has no validation rows
    train = export_dataset("exportsrc", "easyr1", str(tmp_path / "train"), split="train", data_root=root)
    expected = {i for i in WITH_IMAGES if ROWS[i]["split"] == "train"}
    assert train["counts"]["rows"] == len(expected) and train["rows_by_task"] == {"direct": 2, "refine": 1}
    assert train["counts"]["skipped_by_reason"] == {"bad_image": 1, "no_image_bytes": 2}
    ds = load_parquet([str(tmp_path / "train" / f) for f in train["files"]], tmp_path)
    assert set(ds["id"]) == expected

    code, output = run("--format", "trl", "exportsrc", str(tmp_path / "x"), "--split", "dev", "--data-root", root)
    assert code == 2 and "unknown split 'dev'" in output


def test_out_must_be_empty_unless_overwrite(source, tmp_path):
    root, _ = source
    out = tmp_path / "out"
    export_dataset("exportsrc", "trl", str(out), data_root=root)
    with pytest.raises(ExportError, match="not empty.*--overwrite"):
        export_dataset("exportsrc", "trl", str(out), data_root=root)
    code, output = run("--format", "trl", "exportsrc", str(out), "--data-root", root)
    assert code == 2 and "not empty" in output

    # --overwrite replaces the earlier export, stale shards included
    summary = export_dataset("exportsrc", "trl", str(out), split="validation", overwrite=True, data_root=root)
    assert sorted(os.listdir(out)) == ["export.json", "part-00000.parquet"] and summary["counts"]["rows"] == 1
    code, output = run("--format", "ms-swift", "exportsrc", str(out), "--overwrite", "--data-root", root)
    assert code == 0, output
    assert sorted(os.listdir(out)) == ["data.jsonl", "export.json", "images"]

    # ... but never deletes what an export did not write
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ExportError, match="notes.txt"):
        export_dataset("exportsrc", "trl", str(out), overwrite=True, data_root=root)
    assert (out / "notes.txt").read_text() == "mine" and (out / "export.json").exists()


def test_clear_errors(source, tmp_path):
    root, uri = source
    code, output = run("--format", "parquet", "exportsrc", str(tmp_path / "a"), "--data-root", root)
    assert code == 2 and "unknown format 'parquet'" in output and "trl" in output
    code, output = run("--format", "trl", "nosuchstage", str(tmp_path / "a"), "--data-root", root)
    assert code == 2 and "no finished 'nosuchstage' dataset" in output and "exportsrc" in output
    code, output = run("--format", "trl", str(tmp_path / "missing"), str(tmp_path / "a"))
    assert code == 2 and "does not exist" in output
    with pytest.raises(DatasetNotFound, match="no manifest.json"):
        export_dataset(str(tmp_path), "trl", str(tmp_path / "a"))
    with pytest.raises(DatasetNotFound, match="has not finished"):
        export_dataset("exportsrc@0123456789abcdef", "trl", str(tmp_path / "a"), data_root=root)
    version = os.path.basename(uri)
    pinned = export_dataset(f"exportsrc@{version}", "trl", str(tmp_path / "b"), data_root=root)
    assert pinned["source"]["version"] == version and pinned["source"]["uri"] == uri
    with pytest.raises(ExportError, match="overlaps"):
        export_dataset(uri, "trl", os.path.join(uri, "export"))
    with pytest.raises(ExportError, match="local folder"):
        export_dataset(uri, "ms-swift", "s3://bucket/export")
    assert not (tmp_path / "a").exists()


def test_image_extension_sniffs_bytes():
    assert image_extension(_image("PNG", (2, 2))) == "png"
    assert image_extension(_image("JPEG", (2, 2))) == "jpg"
    assert image_extension(_image("WEBP", (2, 2))) == "webp"
    assert image_extension(_image("GIF", (2, 2))) == "gif"
    assert image_extension(_image("BMP", (2, 2))) == "bmp"
    assert image_extension(_image("TIFF", (2, 2))) == "tiff"
    assert image_extension(b"<svg/>") is None
    assert image_extension(b"") is None


def test_parquet_export_to_object_storage(source, s3_env, tmp_path):
    root, _ = source
    out = f"{s3_env}/exports/trl"
    summary = export_dataset("exportsrc", "trl", out, data_root=root)
    assert summary["out"] == out and summary["files"] == ["part-00000.parquet", "part-00001.parquet"]
    assert sorted(fsys.list_names(out)) == ["export.json", "part-00000.parquet", "part-00001.parquet"]
    assert json.loads(fsys.read_text(f"{out}/export.json"))["counts"]["rows"] == len(WITH_IMAGES)
    local = tmp_path / "copy.parquet"
    local.write_bytes(fsys.read_bytes(f"{out}/part-00000.parquet"))
    assert load_parquet([str(local)], tmp_path).features["images"] == IMAGES
    with pytest.raises(ExportError, match="not empty"):
        export_dataset("exportsrc", "easyr1", out, data_root=root)
