"""Two-phase stages: survey every shard, decide once, then process shards against the decision.

Most stages treat each shard on its own. Dedup cannot: whether a row is a near-duplicate, and whether it is
picked for the diverse subset, depends on every other row. Such a stage sets `surveys = True` and the runners
(`run_local`, `flows/stage.py`) add two steps before the shards:

    survey   (per shard, parallel)  stage.survey(spec) -> small table  -> <version>/_survey/part-NNNNN.parquet
    decide   (once)                 stage.decide([tables]) -> table     -> <version>/_decision.parquet
    shards   (per shard, parallel)  stage.process(spec) reads the decision through `read_decision`

Every step writes atomically and is skipped when its file exists, so a killed run resumes where it stopped:
finished surveys are not recomputed, and the decision, once written, is the one every shard of the version
sees (a resumed run cannot change its mind halfway through the output).
"""

from __future__ import annotations

import io
import time

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel

from storage import filesystem as fsys
from storage.dataset import DatasetVersion, parquet_bytes
from storage.manifest import Plan
from tasks.stage import ShardJob, Stage
from vinci.faults import inject


class SurveyReport(BaseModel):
    index: int
    rows: int
    seconds: float = 0.0
    skipped: bool = False


def _version(job_or_plan: ShardJob | Plan) -> DatasetVersion:
    return DatasetVersion(job_or_plan.root, job_or_plan.stage, job_or_plan.version)


def is_survey_done(job: ShardJob) -> bool:
    return fsys.exists(_version(job).survey_uri(job.index))


def needs_survey(stage: Stage, plan: Plan) -> bool:
    """True when the stage is two-phase and its decision is not written yet."""
    return stage.surveys and not fsys.exists(_version(plan).decision_uri)


def run_survey(stage: Stage, job: ShardJob) -> SurveyReport:
    """Survey one shard unless its survey file exists."""
    uri = _version(job).survey_uri(job.index)
    if fsys.exists(uri):
        rows = pq.read_metadata(io.BytesIO(fsys.read_bytes(uri))).num_rows
        return SurveyReport(index=job.index, rows=rows, skipped=True)
    inject(f"{job.stage}.survey.{job.index}")
    started = time.perf_counter()
    table = stage.survey(job.spec)
    fsys.write_atomic(uri, parquet_bytes(table))
    return SurveyReport(index=job.index, rows=table.num_rows, seconds=round(time.perf_counter() - started, 4))


def decide_stage(stage: Stage, plan: Plan) -> int:
    """Write the decision from every shard's survey (once per version); returns its row count."""
    version = _version(plan)
    if fsys.exists(version.decision_uri):
        return read_table(version.decision_uri).num_rows
    missing = [i for i in range(len(plan.shards)) if not fsys.exists(version.survey_uri(i))]
    if missing:
        raise RuntimeError(f"{len(missing)} survey(s) of {version.uri} are missing (first: {missing[0]}); run again")
    inject(f"{plan.stage}.decide")
    surveys = [read_table(version.survey_uri(i)) for i in range(len(plan.shards))]
    decision = stage.decide(surveys)
    fsys.write_atomic(version.decision_uri, parquet_bytes(decision))
    return decision.num_rows


def read_table(uri: str) -> pa.Table:
    return pq.read_table(io.BytesIO(fsys.read_bytes(uri)))


def read_decision(version_uri: str, shard: int | None = None) -> pa.Table:
    """The decision of a two-phase stage's version folder (shards call this from `process`). With `shard`, only
    the rows whose `shard` column equals it: the decision is written in shard order, so row-group statistics
    let each shard read its own part instead of the whole file."""
    uri = fsys.join(version_uri, "_decision.parquet")
    if shard is None:
        return read_table(uri)
    fs, path = fsys.filesystem(uri)
    return pq.read_table(path, filesystem=fs, filters=[("shard", "=", shard)])
