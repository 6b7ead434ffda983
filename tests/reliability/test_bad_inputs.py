"""The bad-input corpus: every kind of bad input a nightly run can meet, each mixed with good rows.

Each case ends one of two ways, and the good rows around the bad input always survive:

- a reasoned rejection: a row in the dataset's `rejected/` files with a machine-readable `reason`;
- a clear error, when nothing can be done (a finished dataset damaged afterwards, a source that changed during the
  run, a full disk): an exception or `vinci` exit message that names the file and says what is wrong and what to do.

Stages run in-process (`run_local(build_stage(...))`), through `vinci` (CliRunner) where the user-facing message is
the point. The helpers mirror tests/tasks/test_ingest_adapters.py, which covers the adapters' own edge cases.
"""

from __future__ import annotations

import io
import json
import random
import struct
import subprocess
import zlib
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image
from typer.testing import CliRunner

from schemas import sample_id
from storage import DatasetDamaged
from storage.query import scan
from tasks.executor import run_local
from tasks.registry import build_stage
from tasks.stage import REJECTED_TEXT_LIMIT, IncompleteRun, finalize_stage, plan_stage, run_shard, shard_jobs
from vinci.cli import app

IMAGE = pa.struct([("bytes", pa.binary()), ("path", pa.string())])  # Hugging Face's Image feature
ENGINE = {"sandbox_workers": 1, "browser_workers": 1}


def svg(i: int) -> str:
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="{i + 1}" height="8"/>'


def png(size: tuple[int, int] = (32, 24)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buf, "PNG")
    return buf.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A ~100-byte PNG whose header declares width x height pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


def corrupt_row_group(path: Path, group: int) -> None:
    """Overwrite the pages of one row group with garbage; the footer (and so the row count) stays readable."""
    column = pq.read_metadata(path).row_group(group).column(0)
    start = column.dictionary_page_offset if column.has_dictionary_page else column.data_page_offset
    data = bytearray(path.read_bytes())
    data[start : start + column.total_compressed_size] = random.Random(group).randbytes(column.total_compressed_size)
    path.write_bytes(bytes(data))


def write_jsonl(path: Path, records: list[Any]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def ingest(root: str, *sources: dict, shard_rows: int = 3, **extra) -> tuple[pl.DataFrame, pl.DataFrame, Any]:
    config = {"sources": list(sources), "shard_rows": shard_rows, **extra}
    manifest = run_local(build_stage("ingest", config, root), workers=1, progress=False)
    return scan("ingest", root).collect(), scan("ingest", root, rejected=True).collect(), manifest


def reasons(rejected: pl.DataFrame) -> dict[str, str]:
    return dict(zip(rejected["source_id"].to_list(), rejected["reason"].to_list(), strict=True))


def details(rejected: pl.DataFrame) -> dict[str, str]:
    return dict(zip(rejected["source_id"].to_list(), rejected["reason_detail"].to_list(), strict=True))


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def table_source(path: Path, **extra) -> dict[str, Any]:
    return {"adapter": "table", "name": "t", "path": str(path), "language": "svg", **extra}


# --- 1. corrupt Parquet source files among good ones ---------------------------------------------------------------
def test_cut_off_and_corrupt_parquet_files_are_rejected_and_the_rest_is_read(tmp_path, data_root):
    src = tmp_path / "src"
    src.mkdir()
    pq.write_table(pa.table({"code": [svg(i) for i in range(4)]}), src / "a.parquet", row_group_size=2)
    pq.write_table(pa.table({"code": [svg(i) for i in range(10, 14)]}), src / "b_cut.parquet")
    whole = (src / "b_cut.parquet").read_bytes()
    (src / "b_cut.parquet").write_bytes(whole[: len(whole) // 2])  # an interrupted download: no footer
    garbage = random.Random(1).randbytes(1000)
    (src / "c_garbage.parquet").write_bytes(b"PAR1" + garbage + struct.pack("<i", 200) + b"PAR1")
    pq.write_table(pa.table({"code": [svg(i) for i in range(20, 24)]}), src / "d_pages.parquet", row_group_size=2)
    corrupt_row_group(src / "d_pages.parquet", 0)  # footer fine, first row group's pages garbage
    pq.write_table(pa.table({"code": [svg(30), svg(31)]}), src / "e.parquet")

    rows, rejected, manifest = ingest(data_root, table_source(src))

    kept = ["a.parquet#0", "a.parquet#1", "a.parquet#2", "a.parquet#3", "d_pages.parquet#2", "d_pages.parquet#3"]
    assert sorted(rows["source_id"]) == [*kept, "e.parquet#0", "e.parquet#1"]
    assert reasons(rejected) == {
        "b_cut.parquet": "file_unreadable",  # the file, its row count unknown
        "c_garbage.parquet": "file_unreadable",
        "d_pages.parquet#0": "file_unreadable",  # the rows of the damaged row group, one by one
        "d_pages.parquet#1": "file_unreadable",
    }
    why = details(rejected)
    assert str(src / "b_cut.parquet") in why["b_cut.parquet"] and "magic bytes" in why["b_cut.parquet"]
    assert str(src / "c_garbage.parquet") in why["c_garbage.parquet"] and "thrift" in why["c_garbage.parquet"]
    assert "row group 0" in why["d_pages.parquet#0"]
    assert rejected.filter(pl.col("source_id") == "b_cut.parquet")["id"].to_list() == [sample_id("t", "b_cut.parquet")]
    assert manifest.rejected_by_reason == {"file_unreadable": 4}


def test_malformed_csv_and_json_files_are_rejected_naming_the_file(tmp_path, data_root):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.jsonl").write_text("".join(json.dumps({"code": svg(i)}) + "\n" for i in range(3)))
    (src / "b.json").write_text(json.dumps([{"code": svg(10)}, {"code": svg(11)}])[:-9])  # cut off mid-array
    (src / "c.json").write_text(json.dumps({"code": svg(20)}))  # an object, not an array of records
    (src / "d.csv").write_text('code\n"<svg>unterminated quote\n')
    (src / "e.csv").write_text("code\n" + svg(30).replace("\n", " ").replace(",", " ") + "\n")

    rows, rejected, _ = ingest(data_root, table_source(src))

    assert sorted(rows["source_id"]) == ["a.jsonl#0", "a.jsonl#1", "a.jsonl#2", "e.csv#0"]
    assert reasons(rejected) == {"b.json": "file_unreadable", "c.json": "file_unreadable", "d.csv": "file_unreadable"}
    why = details(rejected)
    assert str(src / "b.json") in why["b.json"] and "JSON array" in why["b.json"]
    assert "expected a JSON array" in why["c.json"]
    assert str(src / "d.csv") in why["d.csv"] and "CSV" in why["d.csv"]


# --- 2. a finished upstream shard damaged after the fact ----------------------------------------------------------
def test_a_damaged_finished_shard_is_a_clear_error_naming_it_and_the_way_back(tmp_path, data_root):
    config = {"sources": [{"adapter": "demo", "size": 12, "seed": 5}], "shard_rows": 4}
    first = run_local(build_stage("ingest", config, data_root), workers=1, progress=False)
    shard = Path(first.uri) / "part-00001.parquet"
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    repair = tmp_path / "repair.yaml"
    repair.write_text('input: ingest\nprove: "off"\n')

    code, out = cli("stage", "repair", "-c", str(repair), "--local", "-w", "1", "--data-root", data_root)
    assert code == 2 and out.startswith("error: ") and "Traceback" not in out
    assert f"{shard} cannot be read (ArrowInvalid" in out
    assert f"the finished 'ingest' dataset {first.uri} is damaged" in out and f"delete {first.uri}," in out

    code, out = cli("query", "SELECT count(*) AS n FROM ingest", "--data-root", data_root)
    assert code == 2 and out.startswith("error: query failed: ") and f"{shard} cannot be read" in out

    # the way back, as the message says: delete the version, run ingest with its config (same version), go on
    def rebuild() -> None:
        for path in sorted(Path(first.uri).rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        Path(first.uri).rmdir()
        assert run_local(build_stage("ingest", config, data_root), workers=1, progress=False).version == first.version

    rebuild()  # repair's shards 0 and 2 finished in the failed run and are kept; shard 1 still reads part-00001
    corrupt_row_group(shard, 0)  # now damaged pages behind an intact footer
    with pytest.raises(DatasetDamaged, match=r"part-00001\.parquet cannot be read \(OSError: Couldn't deserialize"):
        run_local(build_stage("repair", {"prove": "off"}, data_root), workers=1, progress=False)
    code, out = cli("query", "SELECT * FROM ingest", "--data-root", data_root)
    assert code == 2 and f"{shard} cannot be read (OSError" in out and "Traceback" not in out, out
    rebuild()
    repaired = run_local(build_stage("repair", {"prove": "off"}, data_root), workers=1, progress=False)
    assert repaired.rows + repaired.rejected == 12

    (Path(first.uri) / "part-00000.parquet").unlink()  # a shard file that went missing
    code, out = cli("query", "SELECT count(*) AS n FROM ingest", "--data-root", data_root)
    assert code == 2 and "part-00000.parquet cannot be read (FileNotFoundError" in out and "Traceback" not in out


# --- 3. wrong schema: types and missing columns -------------------------------------------------------------------
def test_wrong_types_and_missing_columns_are_rejected_with_their_reason(tmp_path, data_root):
    src = tmp_path / "src"
    src.mkdir()
    images = pa.array([{"bytes": png(), "path": None}, None], IMAGE)
    pq.write_table(pa.table({"code": [svg(0), svg(1)], "image": images}), src / "a_good.parquet")
    pq.write_table(pa.table({"code": [1, 2, 3]}), src / "b_int_code.parquet")
    pq.write_table(pa.table({"svg_source": [svg(2), svg(3)]}), src / "c_no_code_column.parquet")
    pq.write_table(pa.table({"code": [svg(4), svg(5)], "image": [7, 8]}), src / "d_int_image.parquet")
    write_jsonl(
        src / "e_mixed.jsonl",
        [
            {"code": svg(6)},
            {"code": 5},
            {"code": ["<svg/>"]},
            {"code": {"svg": "<svg/>"}},
            {"code": svg(7), "image": 3.5},
            {"code": svg(8), "image": "no/such/file.png"},
            {"code": svg(9), "image": [1, 2]},
        ],
    )
    rows, rejected, _ = ingest(data_root, table_source(src, columns={"code": "code", "image": "image"}))

    assert sorted(rows["source_id"]) == ["a_good.parquet#0", "a_good.parquet#1", "e_mixed.jsonl#0"]
    assert reasons(rejected) == {
        "b_int_code.parquet#0": "code_not_text",
        "b_int_code.parquet#1": "code_not_text",
        "b_int_code.parquet#2": "code_not_text",
        "c_no_code_column.parquet#0": "code_missing",
        "c_no_code_column.parquet#1": "code_missing",
        "d_int_image.parquet#0": "image_missing",
        "d_int_image.parquet#1": "image_missing",
        "e_mixed.jsonl#1": "code_not_text",
        "e_mixed.jsonl#2": "code_not_text",
        "e_mixed.jsonl#3": "code_not_text",
        "e_mixed.jsonl#4": "image_missing",
        "e_mixed.jsonl#5": "image_missing",
        "e_mixed.jsonl#6": "multiple_images",
    }
    why = details(rejected)
    assert "holds int '1', not text; check columns.code" in why["b_int_code.parquet#0"]
    assert why["d_int_image.parquet#0"] == "OSError: unsupported image value of type int"
    assert "no/such/file.png" in why["e_mixed.jsonl#5"]


# --- 4. image bytes that are not images, decompression bombs ------------------------------------------------------
@pytest.mark.parametrize("image_check", ["verify", "decode"])
def test_bad_images_and_decompression_bombs_are_rejected(tmp_path, data_root, image_check):
    cases = {
        "good": png(),
        "text": b"this is a picture of a cat, honestly",
        "truncated": png((300, 300))[:200],  # cut inside the pixel data
        "bomb": png_claiming(100_000, 100_000),  # 10 G pixels declared in ~100 bytes
        "small": png((5, 5)),
    }
    table = pa.table(
        {
            "id": list(cases),
            "code": [svg(i) for i in range(len(cases))],
            "image": pa.array([{"bytes": b, "path": None} for b in cases.values()], IMAGE),
        }
    )
    pq.write_table(table, tmp_path / "images.parquet")
    rows, rejected, _ = ingest(
        data_root, table_source(tmp_path / "images.parquet"), limits={"image_check": image_check}
    )

    assert sorted(rows["source_id"]) == ["good", "small"]
    assert reasons(rejected) == {
        "text": "image_undecodable",
        "truncated": "image_undecodable",
        "bomb": "image_too_many_pixels",
    }
    assert "10000000000 pixels" in details(rejected)["bomb"]


# --- 5. non-UTF-8 and NUL-laden code ------------------------------------------------------------------------------
def test_non_utf8_and_nul_code_is_rejected_without_poisoning_the_shard(tmp_path, data_root):
    src = tmp_path / "src"
    src.mkdir()
    codes = [svg(0).encode(), b"<svg>caf\xe9</svg>", b"<svg>\x00\x00</svg>", svg(1).encode()]
    pq.write_table(pa.table({"code": pa.array(codes, pa.binary())}), src / "bytes.parquet")
    lines = [
        json.dumps({"code": svg(2)}).encode(),
        b'{"code": "<svg>caf\xe9</svg>"}',  # a Latin-1 byte in the line: not UTF-8, so not JSON
        json.dumps({"code": "<svg>\u0000</svg>"}).encode(),  # a NUL, escaped
        b'{"code": "<svg>\\ud800</svg>"}',  # a lone surrogate: valid JSON, not storable as UTF-8
        b'{"id": "\\udfff", "code": "<svg/>"}',
        b'{"code": "<svg/>", "instruction": "Draw \\ud800 this."}',
        json.dumps({"code": svg(3)}).encode(),
    ]
    (src / "lines.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    rows, rejected, manifest = ingest(data_root, table_source(src), shard_rows=50)  # one shard per file

    assert manifest.shards == 2
    assert sorted(rows["source_id"]) == ["bytes.parquet#0", "bytes.parquet#3", "lines.jsonl#0", "lines.jsonl#6"]
    assert reasons(rejected) == {
        "bytes.parquet#1": "code_not_utf8",  # rejected, never decoded with replacement characters
        "bytes.parquet#2": "code_binary",
        "lines.jsonl#1": "record_malformed",
        "lines.jsonl#2": "code_binary",
        "lines.jsonl#3": "code_not_utf8",
        "lines.jsonl#4": "record_malformed",
        "lines.jsonl#5": "schema_invalid",
    }
    assert "column 'instruction', row " in details(rejected)["lines.jsonl#5"]
    # the rejected rows keep what could be stored: bytes shown with U+FFFD, NULs as they are, surrogates blanked
    code = dict(zip(rejected["source_id"], rejected["code"], strict=True))
    assert code["bytes.parquet#1"] == "<svg>caf\ufffd</svg>" and code["bytes.parquet#2"] == "<svg>\x00\x00</svg>"
    assert code["lines.jsonl#3"] is None
    for name in manifest.files + manifest.rejected_files:
        pq.read_table(Path(manifest.uri) / name)  # every file written is readable Parquet


def curated_row(source_id: str, code: str, language: str, domain: str) -> dict[str, Any]:
    return {
        "id": sample_id("bad", source_id),
        "domain": domain,
        "subdomain": None,
        "language": language,
        "task": "direct",
        "instruction": "Write the code that draws this.",
        "code": code,
        "draft_code": None,
        "image": None,
        "image_width": None,
        "image_height": None,
        "source": "bad",
        "source_id": source_id,
        "split": "train",
        "meta": None,
    }


def test_nul_laden_code_is_a_typed_render_failure_and_kept(tmp_path, dedup_writer):
    rows = [
        curated_row("ok.py", "import matplotlib.pyplot as plt\nplt.plot([1, 2])\n", "python", "chart"),
        curated_row("nul.py", "import matplotlib.pyplot as plt\x00\nplt.plot([1, 2])\n", "python", "chart"),
        curated_row("nul.svg", '<svg xmlns="http://www.w3.org/2000/svg">\x00</svg>', "svg", "svg"),
    ]
    root = dedup_writer(str(tmp_path / "data"), rows)  # a finished upstream dataset (ingest would reject these)
    manifest = run_local(build_stage("render", {"input": "dedup", "engine": ENGINE}, root), progress=False)

    assert manifest.rows == 3 and manifest.rejected == 0
    out = {r["source_id"]: r for r in scan("render", root).collect().to_dicts()}
    assert out["ok.py"]["render_ok"] and out["ok.py"]["image"]["bytes"]
    assert (out["nul.py"]["render_ok"], out["nul.py"]["error_kind"]) == (False, "syntax")
    assert "null bytes" in out["nul.py"]["render_error"]
    assert (out["nul.svg"]["render_ok"], out["nul.svg"]["error_kind"]) == (False, "syntax")


# --- 6. a 10 MB code cell -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("limits", "reason"),
    [({}, "code_too_long"), ({"max_code_chars": 20_000_000, "max_row_bytes": 4_000_000}, "row_too_large")],
)
def test_a_10_mb_code_cell_is_rejected_and_its_neighbours_kept(tmp_path, data_root, limits, reason):
    huge = "<svg>" + "x" * 10_000_000 + "</svg>"
    src = tmp_path / "src"
    src.mkdir()
    write_jsonl(src / "a.jsonl", [{"code": svg(0)}, {"code": huge}, {"code": svg(1)}])
    pq.write_table(pa.table({"code": [svg(2), huge, svg(3)]}), src / "b.parquet")
    rows, rejected, _ = ingest(data_root, table_source(src), limits=limits)

    assert sorted(rows["source_id"]) == ["a.jsonl#0", "a.jsonl#2", "b.parquet#0", "b.parquet#2"]
    assert reasons(rejected) == {"a.jsonl#1": reason, "b.parquet#1": reason}
    assert rejected["code"].str.len_chars().to_list() == [REJECTED_TEXT_LIMIT] * 2  # kept, cut at 64 KiB


# --- 7. empty inputs and empty upstream datasets ------------------------------------------------------------------
def test_empty_files_among_good_ones(tmp_path, data_root):
    src = tmp_path / "src"
    src.mkdir()
    pq.write_table(pa.table({"code": pa.array([], pa.string())}), src / "no_rows.parquet")
    (src / "zero_bytes.parquet").write_bytes(b"")
    (src / "zero_bytes.jsonl").write_bytes(b"")
    (src / "blank_lines.jsonl").write_text("\n\n\n")
    write_jsonl(src / "good.jsonl", [{"code": svg(0)}, {"code": svg(1)}])
    rows, rejected, _ = ingest(data_root, table_source(src))

    assert sorted(rows["source_id"]) == ["good.jsonl#0", "good.jsonl#1"]
    assert reasons(rejected) == {"zero_bytes.parquet": "file_unreadable"}
    assert "Parquet file size is 0 bytes" in details(rejected)["zero_bytes.parquet"]


def test_a_source_with_nothing_in_it(tmp_path, data_root):
    empty = tmp_path / "empty"
    empty.mkdir()
    # the table adapter needs data files: a clear error naming the folder
    code, out = cli("ingest", str(empty), "--adapter", "table", "--local", "-w", "1", "--data-root", data_root)
    assert code == 2 and f"no .parquet/.jsonl/.json/.csv files in {empty}" in out and "Traceback" not in out
    # a folder of code files with none, or an empty data file: an empty, valid dataset
    rows, rejected, manifest = ingest(data_root, {"adapter": "folder", "name": "f", "path": str(empty)})
    assert (manifest.rows, manifest.shards, rows.height, rejected.height) == (0, 0, 0, 0)
    assert "code" in rows.columns and "reason" in rejected.columns
    (tmp_path / "empty.jsonl").write_bytes(b"")
    rows, _, manifest = ingest(data_root, table_source(tmp_path / "empty.jsonl"))
    assert (manifest.rows, manifest.shards, rows.height) == (0, 0, 0)


@pytest.mark.parametrize("upstream", ["every row rejected", "no shards"])
def test_an_upstream_with_no_rows_feeds_the_next_stages(tmp_path, data_root, upstream):
    path = tmp_path / "codes.jsonl"
    write_jsonl(path, [{"code": "   "}] * 5 if upstream == "every row rejected" else [])
    ingested = ingest(data_root, table_source(path, language="python"), shard_rows=2)[2]
    assert ingested.rows == 0 and ingested.shards == (3 if upstream == "every row rejected" else 0)

    repaired = run_local(build_stage("repair", {"prove": "off"}, data_root), workers=1, progress=False)
    deduped = run_local(build_stage("dedup", {"input": "repair"}, data_root), workers=1, progress=False)
    assert (repaired.rows, deduped.rows, deduped.shards) == (0, 0, ingested.shards)
    code, out = cli("query", "SELECT count(*) AS n FROM dedup", "--data-root", data_root, "--format", "json")
    assert code == 0 and json.loads(out) == [{"n": 0}]


# --- 8. a source file that disappears between plan and shard ------------------------------------------------------
@pytest.mark.parametrize("adapter", ["folder", "table"])
def test_a_source_file_that_vanishes_mid_run_is_a_clear_error_for_its_shard(tmp_path, data_root, adapter):
    src = tmp_path / "src"
    src.mkdir()
    ext = "svg" if adapter == "folder" else "jsonl"
    for i in range(6):
        path = src / f"f{i}.{ext}"
        path.write_text(svg(i) if adapter == "folder" else json.dumps({"code": svg(i)}) + "\n")
    source = {"adapter": adapter, "name": "src", "path": str(src)} | ({"language": "svg"} if adapter == "table" else {})
    config = {"sources": [source], "shard_rows": 2}
    stage = build_stage("ingest", config, data_root)
    plan = plan_stage(stage)
    gone = src / f"f3.{ext}"
    gone.unlink()

    failed: dict[int, str] = {}
    for job in shard_jobs(plan):
        try:
            run_shard(stage, job)
        except FileNotFoundError as exc:
            failed[job.index] = str(exc)
    assert len(failed) == 1, failed  # only the shard that reads the file; the others finished
    message = next(iter(failed.values()))
    assert str(gone) in message and "a file listed when the run was planned is gone" in message
    with pytest.raises(IncompleteRun, match="1 shard"):
        finalize_stage(stage, plan)

    # a new run reads the source as it is now: a new version (different inputs) with the five files left
    rows, _, manifest = ingest(data_root, source, shard_rows=2)
    assert manifest.version != plan.version and rows.height == 5


# --- 9. a full disk -----------------------------------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB tmpfs as the data root (needs root and mount rights; skipped otherwise)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip() or proc.returncode}")
    try:
        yield mount
    finally:
        if subprocess.run(["umount", str(mount)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_disk_fails_clearly_leaves_no_false_markers_and_a_rerun_finishes(small_disk):
    # 6000 demo rows are ~1.7 MB of Parquet in 12 shards: more than the disk holds
    args = ["ingest", "demo:6000", "--shard-rows", "500", "--local", "-w", "1", "--data-root", str(small_disk)]
    code, out = cli(*args)
    assert code == 2 and "Traceback" not in out
    assert "No space left on device" in out and f"'{small_disk}/ingest/" in out  # the file it could not write

    (version,) = (small_disk / "ingest").iterdir()
    markers = sorted((version / "_shards").glob("*.json"))
    assert 0 < len(markers) < 12 and not (version / "manifest.json").exists()
    for marker in markers:  # every finished shard has its whole Parquet file
        assert pq.read_metadata(version / f"{marker.stem}.parquet").num_rows == 500
    assert not list(version.rglob(".*.tmp-*"))  # no half-written temporaries left behind
    written = {m.name: m.stat().st_mtime_ns for m in markers}

    subprocess.run(["mount", "-o", "remount,size=8m", str(small_disk)], check=True)  # space freed
    code, out = cli(*args)
    assert code == 0, out
    assert scan("ingest", str(small_disk)).select(pl.len()).collect().item() == 6000
    assert {m: (version / "_shards" / m).stat().st_mtime_ns for m in written} == written  # resumed, not redone
