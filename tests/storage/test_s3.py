"""The same datasets on object storage: a real S3 API server (moto) on loopback."""

import polars as pl

from storage import DataRoot
from storage import filesystem as fsys
from storage.query import scan, sql
from tasks.executor import run_local
from tasks.ingest import IngestConfig, IngestStage


def test_ingest_resume_and_query_on_s3(s3_env, shared_data):
    root = f"{s3_env}/vinci"
    cfg = IngestConfig.model_validate(
        {
            "sources": [
                {"adapter": "demo", "size": 40},
                {
                    "adapter": "folder",
                    "name": "charts",
                    "path": str(shared_data / "charts"),
                    "domain": "chart",
                },
            ],
            "shard_rows": 30,
        }
    )
    stage = IngestStage(cfg, root)
    first = run_local(stage, workers=2, progress=False)
    assert first.rows == 160 and first.uri.startswith("s3://")

    version = DataRoot(root).latest("ingest")
    assert version.uri == first.uri
    assert fsys.exists(version.path("part-00000.parquet"))
    assert fsys.exists(version.marker_uri(0))

    # a second run finds every shard finished: nothing is rewritten
    fs, path = fsys.filesystem(version.path("part-00000.parquet"))
    before = fs.info(path)["LastModified"]
    again = run_local(IngestStage(cfg, root), workers=1, progress=False)
    assert again.version == first.version and again.rows == first.rows
    fs.invalidate_cache()
    assert fs.info(path)["LastModified"] == before

    frame = scan("ingest", root).collect()
    assert frame.height == 160 and frame["id"].n_unique() == 160
    charts = frame.filter(pl.col("source") == "charts")
    assert charts.height == 120 and charts["image"].struct.field("bytes").is_not_null().all()
    counts = sql("SELECT source, count(*) AS n FROM ingest GROUP BY source ORDER BY source", root)
    assert counts.to_dicts() == [{"source": "charts", "n": 120}, {"source": "demo", "n": 40}]
