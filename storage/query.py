"""Polars over artifacts: a LazyFrame per stage, and SQL with stage names as tables.

from storage import scan
scan("ingest").group_by("domain").len().collect()

vinci query "SELECT domain, count(*) AS n FROM ingest GROUP BY domain"
"""

from __future__ import annotations

import polars as pl
import pyarrow as pa

from schemas.sample import rejected_schema, sample_schema
from storage import filesystem as fsys
from storage.dataset import DataRoot, DatasetVersion
from vinci.settings import data_root as default_root


def _empty(schema: pa.Schema) -> pl.LazyFrame:
    return pl.from_arrow(schema.empty_table()).lazy()


def scan_version(version: DatasetVersion, *, rejected: bool = False) -> pl.LazyFrame:
    manifest = version.manifest()
    files = version.file_uris(rejected=rejected)
    if not files:
        stages = manifest.extra.get("schema_stages", [])
        return _empty(rejected_schema(*stages) if rejected else sample_schema(*stages))
    return pl.scan_parquet(files, storage_options=fsys.polars_options(version.uri))


def scan(stage: str, root: str | None = None, *, rejected: bool = False, version: str | None = None) -> pl.LazyFrame:
    """LazyFrame over a stage's latest finished dataset (or a given version); `rejected=True` for its drops."""
    data_root = DataRoot(root or default_root())
    v = data_root.version(stage, version) if version else data_root.latest(stage)
    return scan_version(v, rejected=rejected)


def latest_evaluation(root: str | None = None) -> str | None:
    """The per-sample table of the newest finished evaluation (<root>/eval/LATEST_RUN), if there is one."""
    base = fsys.join(DataRoot(root or default_root()).uri, "eval")
    pointer = fsys.join(base, "LATEST_RUN")
    if not fsys.exists(pointer):
        return None
    table = fsys.join(base, fsys.read_text(pointer).strip(), "per_sample.parquet")
    return table if fsys.exists(table) else None


def sql_context(root: str | None = None) -> pl.SQLContext:
    """SQL context with every finished stage as a table, `<stage>_rejected` for its rejected rows, and `eval` for
    the newest evaluation's per-sample scores."""
    data_root = DataRoot(root or default_root())
    frames: dict[str, pl.LazyFrame] = {}
    for stage in data_root.stages():
        version = data_root.latest(stage)
        frames[stage] = scan_version(version)
        frames[f"{stage}_rejected"] = scan_version(version, rejected=True)
    evaluation = latest_evaluation(root)
    if evaluation is not None:
        frames["eval"] = pl.scan_parquet(evaluation, storage_options=fsys.polars_options(evaluation))
    return pl.SQLContext(frames=frames)


def sql(query: str, root: str | None = None) -> pl.DataFrame:
    ctx = sql_context(root)
    if not ctx.tables():
        raise LookupError(f"no finished datasets under {DataRoot(root or default_root()).uri}; run a stage first")
    return ctx.execute(query).collect()
