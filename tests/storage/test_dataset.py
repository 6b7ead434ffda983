import os

import polars as pl
import pytest

from schemas import rejected_schema, sample_id, sample_schema, to_table
from storage import DataRoot, DatasetNotFound, ShardReport
from storage import filesystem as fsys
from storage.query import scan, sql


def sample(i: int, domain: str = "chart") -> dict:
    return {
        "id": sample_id("unit", str(i)),
        "domain": domain,
        "subdomain": None,
        "language": "python" if domain == "chart" else "svg",
        "task": "direct",
        "instruction": "Draw it.",
        "code": f"print({i})",
        "draft_code": None,
        "image": None,
        "image_width": None,
        "image_height": None,
        "source": "unit",
        "source_id": str(i),
        "split": "train",
        "meta": None,
    }


def test_write_atomic_replaces_whole_file_and_leaves_no_temporaries(tmp_path):
    target = tmp_path / "a" / "file.bin"
    fsys.write_atomic(str(target), b"first")
    fsys.write_atomic(str(target), b"second")
    assert target.read_bytes() == b"second"
    assert os.listdir(target.parent) == ["file.bin"]


def test_write_atomic_failure_keeps_previous_content(tmp_path, monkeypatch):
    target = tmp_path / "file.bin"
    fsys.write_atomic(str(target), b"good")

    def broken_replace(src, dst):
        raise OSError("disk went away")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk went away"):
        fsys.write_atomic(str(target), b"half-written")
    monkeypatch.undo()
    assert target.read_bytes() == b"good"
    assert os.listdir(tmp_path) == ["file.bin"]


def test_stale_temporaries_are_removed(tmp_path):
    (tmp_path / "_shards").mkdir()
    (tmp_path / ".part-00001.parquet.tmp-abc123").write_bytes(b"partial")
    (tmp_path / "_shards" / ".part-00001.json.tmp-def456").write_bytes(b"partial")
    (tmp_path / "part-00000.parquet").write_bytes(b"kept")
    assert fsys.remove_stale_temporaries(str(tmp_path)) == 2
    assert sorted(os.listdir(tmp_path)) == ["_shards", "part-00000.parquet"]


def test_shard_write_order_and_completion_marker(tmp_path):
    version = DataRoot(str(tmp_path)).version("ingest", "v1")
    assert not version.is_shard_done(0)
    data = to_table([sample(1), sample(2)], sample_schema())
    rejected = to_table(
        [{"source": "unit", "source_id": "3", "reason": "code_empty", "rejected_by": "ingest"}],
        rejected_schema(),
    )
    report = version.write_shard(ShardReport(index=0, rows=2, rejected=1), data, rejected)
    assert version.is_shard_done(0)
    assert report.data_file == "part-00000.parquet"
    assert report.rejected_file == "rejected/part-00000.parquet"
    stored = version.read_report(0)
    assert stored.rows == 2 and stored.bytes > 0
    marker = os.path.getmtime(version.marker_uri(0))
    assert marker >= os.path.getmtime(version.path("part-00000.parquet"))
    assert marker >= os.path.getmtime(version.path("rejected", "part-00000.parquet"))
    assert pl.read_parquet(version.path("part-00000.parquet"))["source_id"].to_list() == ["1", "2"]


def test_latest_pointer_and_errors(tmp_path):
    root = DataRoot(str(tmp_path))
    with pytest.raises(DatasetNotFound, match="no finished 'ingest' dataset.*vinci ingest"):
        root.latest("ingest")
    root.set_latest("ingest", "abc")
    assert root.latest("ingest").version == "abc"
    assert root.stages() == ["ingest"]
    with pytest.raises(DatasetNotFound, match="has no manifest.json"):
        root.latest("ingest").manifest()


def test_normalize_makes_local_paths_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert fsys.normalize("data") == str(tmp_path / "data")
    assert fsys.normalize("s3://bucket/root/") == "s3://bucket/root"
    assert fsys.join("s3://bucket/root", "ingest", "v") == "s3://bucket/root/ingest/v"


def test_scan_and_sql_over_a_finished_stage(tmp_path):
    from tasks.executor import run_local
    from tasks.ingest import IngestConfig, IngestStage

    cfg = IngestConfig.model_validate({"sources": [{"adapter": "demo", "size": 60}], "shard_rows": 25})
    manifest = run_local(IngestStage(cfg, str(tmp_path)), workers=1, progress=False)
    assert manifest.rows == 60 and manifest.shards == 3
    frame = scan("ingest", str(tmp_path)).collect()
    assert frame.height == 60 and frame["id"].n_unique() == 60
    counts = sql("SELECT domain, count(*) AS n FROM ingest GROUP BY domain ORDER BY domain", str(tmp_path))
    assert set(counts["domain"]) == {"chart", "web", "svg", "latex", "science"}
    assert counts["n"].sum() == 60
    empty = sql("SELECT count(*) AS n FROM ingest_rejected", str(tmp_path))
    assert empty["n"][0] == 0


def test_sql_without_datasets_says_so(tmp_path):
    with pytest.raises(LookupError, match="no finished datasets"):
        sql("SELECT 1", str(tmp_path))
