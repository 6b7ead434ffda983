"""Polars over artifacts: a LazyFrame per stage, and SQL with stage names as tables.

from storage import scan
scan("ingest").group_by("domain").len().collect()

vinci query "SELECT domain, count(*) AS n FROM ingest GROUP BY domain"
vinci query --recipe domains            # named queries: storage/recipes.py, `vinci query --list`

Tables in `sql_context`: every finished stage (`ingest`, `repair`, ..., `drafts`), `<stage>_rejected` for its
dropped rows, `rejected` for all stages' dropped rows together, `eval` for the newest evaluation's per-sample scores
and `rollouts` for every ViRL run's rollout log.
"""

from __future__ import annotations

import polars as pl
import pyarrow as pa

from schemas.sample import rejected_schema, sample_schema
from storage import filesystem as fsys
from storage.dataset import DataRoot, DatasetDamaged, DatasetVersion, damaged, unreadable_parquet
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


# One line per scored ViRL rollout (training/rewards/functions.py `RolloutLog`, fields of `RewardResult`). The
# schema is given, not inferred: early lines often hold only nulls in `grid` and `render_ms`.
ROLLOUT_LOG = "rollouts.jsonl"
ROLLOUT_SCHEMA: dict[str, pl.DataType] = {
    "run": pl.String(),
    "step": pl.Int64(),
    "id": pl.String(),
    "reward": pl.Float64(),
    "visual": pl.Float64(),
    "alignment": pl.Float64(),
    "language": pl.String(),
    "language_rule": pl.String(),
    "encoder": pl.String(),
    "rendered": pl.Boolean(),
    "render_ok": pl.Boolean(),
    "error_kind": pl.String(),
    "tiles": pl.Int64(),
    "grid": pl.List(pl.Int64()),
    "render_ms": pl.Float64(),
    "completion": pl.String(),
}


def rollout_logs(root: str | None = None) -> list[str]:
    """Every ViRL run's rollout log, `<root>/virl/<run>/rollouts.jsonl` (finished runs and runs in progress)."""
    base = fsys.join(DataRoot(root or default_root()).uri, "virl")
    logs = [fsys.join(base, name, ROLLOUT_LOG) for name in fsys.list_names(base) if not name.startswith((".", "_"))]
    return [log for log in logs if fsys.exists(log)]


def scan_rollouts(root: str | None = None) -> pl.LazyFrame:
    """LazyFrame over every ViRL run's rollouts (the `run` column tells them apart)."""
    logs = rollout_logs(root)
    if not logs:
        base = fsys.join(DataRoot(root or default_root()).uri, "virl")
        raise LookupError(f"no ViRL rollouts under {base}; run `vinci virl` first")
    return _scan_logs(logs)


def _scan_logs(logs: list[str]) -> pl.LazyFrame:
    return pl.scan_ndjson(logs, schema=ROLLOUT_SCHEMA, storage_options=fsys.polars_options(logs[0]))


def sql_context(root: str | None = None) -> pl.SQLContext:
    """SQL context with every finished stage as a table, `<stage>_rejected` for its rejected rows, `rejected` for
    the rejected rows of all stages together, `eval` for the newest evaluation's per-sample scores and `rollouts`
    for every ViRL run's rollouts."""
    data_root = DataRoot(root or default_root())
    frames: dict[str, pl.LazyFrame] = {}
    rejected: list[pl.LazyFrame] = []
    for stage in data_root.stages():
        version = data_root.latest(stage)
        frames[stage] = scan_version(version)
        frames[f"{stage}_rejected"] = scan_version(version, rejected=True)
        rejected.append(frames[f"{stage}_rejected"])
    if rejected:
        frames["rejected"] = pl.concat(rejected, how="diagonal_relaxed")
    evaluation = latest_evaluation(root)
    if evaluation is not None:
        frames["eval"] = pl.scan_parquet(evaluation, storage_options=fsys.polars_options(evaluation))
    logs = rollout_logs(root)
    if logs:
        frames["rollouts"] = _scan_logs(logs)
    return pl.SQLContext(frames=frames)


def sql(query: str, root: str | None = None) -> pl.DataFrame:
    ctx = sql_context(root)
    if not ctx.tables():
        raise LookupError(f"no finished datasets under {DataRoot(root or default_root()).uri}; run a stage first")
    try:
        return ctx.execute(query).collect()
    except (pl.exceptions.ComputeError, FileNotFoundError) as exc:
        if not isinstance(exc, FileNotFoundError) and "parquet" not in str(exc).lower():
            raise
        problem = find_damaged(DataRoot(root or default_root()))  # polars does not say which file: find it
        if problem is None:
            raise
        raise problem from exc


def find_damaged(data_root: DataRoot) -> DatasetDamaged | None:
    """The first file of a stage's latest version that is gone or whose Parquet footer cannot be read; failing that,
    the first whose pages cannot be decoded (a second, full read: this runs only after a query has failed)."""
    import pyarrow.parquet as pq

    files = [
        uri
        for stage in data_root.stages()
        for version in [data_root.latest(stage)]
        for uri in version.file_uris() + version.file_uris(rejected=True)
    ]
    for full_read in (False, True):
        for uri in files:
            fs, path = fsys.filesystem(uri)
            try:
                with fs.open(path, "rb") as fh:
                    if full_read:
                        parquet = pq.ParquetFile(fh)
                        for group in range(parquet.num_row_groups):
                            parquet.read_row_group(group)
                    else:
                        pq.read_metadata(fh)
            except FileNotFoundError as exc:
                return damaged(uri, exc)
            except Exception as exc:
                if unreadable_parquet(exc):
                    return damaged(uri, exc)
                raise
    return None
