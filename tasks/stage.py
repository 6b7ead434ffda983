"""The stage pattern: plan shards, process each shard into rows and rejections, finalize a manifest.

A stage is plain Python. It says what its inputs are (`inputs`), how the work splits into shards
(`shard_specs`), and how one shard turns into rows and `Rejection`s (`process`). The functions below own the
loop, the counting, the atomic writes and resume, so every stage gets them the same way:

    plan = plan_stage(stage)                 # version folder + _plan.json (reused when resuming)
    reports = [run_shard(stage, job) for job in shard_jobs(plan)]   # any order, any machine
    manifest = finalize_stage(stage, plan)   # manifest.json + LATEST

`run_local` does all three with a process pool and a progress bar; `flows/stage.py` does them as Prefect tasks.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pyarrow as pa
from pydantic import BaseModel

from schemas import SchemaError, rejected_schema, sample_schema, to_table
from storage import filesystem as fsys
from storage.dataset import DataRoot, DatasetVersion
from storage.manifest import InputRecord, Manifest, Plan, ShardReport, utc_now
from vinci.faults import inject
from vinci.version import code_version

# Config keys that change how a run executes, not what it produces; they do not enter the version hash.
EXECUTION_KEYS = frozenset({"workers", "data_root", "progress"})
REJECTED_TEXT_LIMIT = 65536


@dataclass
class Rejection:
    """A row the stage drops, with a machine-readable reason and whatever fields could be read."""

    reason: str
    detail: str = ""
    row: dict[str, Any] = field(default_factory=dict)


@dataclass
class Tally:
    """A counter a shard reports beside its rows (e.g. files seen); summed into the manifest's counters."""

    name: str
    n: int = 1


@dataclass(frozen=True)
class ShardJob:
    """Everything a worker needs to process one shard, small enough to send anywhere."""

    root: str
    stage: str
    version: str
    incarnation: str
    index: int
    spec: dict[str, Any]


class Stage(ABC):
    """Base class of every stage. Subclasses set `name`, `schema_stages`, `code_modules` and three methods."""

    name: ClassVar[str]
    schema_stages: ClassVar[tuple[str, ...]] = ()  # stage column groups carried by this stage's output
    code_modules: ClassVar[tuple[str, ...]] = ()  # modules whose source defines the output
    # "processes": shards run in the shared process pool; "threads": in threads of this process (for stages
    # whose work already runs in pools of their own, e.g. the render engine's workers)
    executor: ClassVar[str] = "processes"
    # two-phase stages (tasks/survey.py): survey every shard, decide once over all surveys, then process shards
    surveys: ClassVar[bool] = False

    def __init__(self, config: BaseModel, root: str):
        self.config = config
        self.root = fsys.normalize(root)

    def identity(self) -> dict[str, Any]:
        """The config fields that define the output (execution knobs excluded)."""
        dumped = self.config.model_dump(mode="json")
        return {k: v for k, v in dumped.items() if k not in EXECUTION_KEYS}

    @abstractmethod
    def inputs(self) -> list[InputRecord]:
        """The stage's inputs with content fingerprints; they key the version."""

    @abstractmethod
    def shard_specs(self, version: DatasetVersion) -> list[dict[str, Any]]:
        """Split the work into JSON-serialisable shard specs (may stage files under the version folder)."""

    @abstractmethod
    def process(self, spec: dict[str, Any]) -> Iterator[dict[str, Any] | Rejection | Tally]:
        """Turn one shard spec into sample rows, rejections and counters."""

    def survey(self, spec: dict[str, Any]) -> pa.Table:
        """Two-phase stages: a small table about one shard (e.g. image hashes), computed in parallel."""
        raise NotImplementedError(f"stage {self.name} does not survey")

    def decide(self, surveys: list[pa.Table]) -> pa.Table:
        """Two-phase stages: one decision over every shard's survey; `process` reads it (`read_decision`)."""
        raise NotImplementedError(f"stage {self.name} does not decide")

    def prepare(self, plan: Plan) -> dict[str, Any] | None:
        """Work that every shard needs and that must happen once, after the decision and before the shards
        (the drafts stage trains its specialists here). Must resume: skip what is already on disk."""
        return None

    def manifest_extra(self, plan: Plan) -> dict[str, Any]:
        """Stage-specific records for the manifest's `extra` (e.g. the drafts stage's overlap check)."""
        return {}

    def report(self, counters: dict[str, int]) -> list[dict[str, Any]]:
        """Rows of a stage-specific report built from the manifest's counters (e.g. repair's before/after
        rates); empty when the stage has none. Flows publish it as the `<stage>-report` table artifact."""
        return []

    def upstream(self) -> list[dict[str, Any]]:
        """Datasets of earlier stages this stage reads (for lineage); none for sources."""
        return []

    def cleanup(self, version: DatasetVersion) -> None:  # noqa: B027 - optional hook
        """Remove temporary files once the version is finished."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the stage started in this process (worker pools, engines); called when a run ends."""


def version_name(stage: Stage, inputs: list[InputRecord], code: dict[str, Any]) -> str:
    payload = json.dumps(
        {
            "stage": stage.name,
            "config": stage.identity(),
            "inputs": [(i.name, i.fingerprint) for i in inputs],
            "code": code["source_hash"],
        },
        sort_keys=True,
    )
    return hashlib.blake2b(payload.encode(), digest_size=8).hexdigest()


def plan_stage(stage: Stage) -> Plan:
    """Create (or, when resuming, reload) the plan of a run; returns it with its shard specs."""
    inject(f"{stage.name}.plan")
    inputs = stage.inputs()
    code = code_version(stage.code_modules)
    version = DataRoot(stage.root).version(stage.name, version_name(stage, inputs, code))
    existing = version.read_plan()
    if existing is not None:
        fsys.remove_stale_temporaries(version.uri)
        return existing
    shards = stage.shard_specs(version)
    plan = Plan(
        stage=stage.name,
        version=version.version,
        uri=version.uri,
        root=stage.root,
        incarnation=uuid.uuid4().hex,
        config=stage.config.model_dump(mode="json"),
        code=code,
        inputs=inputs,
        shards=shards,
        upstream=stage.upstream(),
    )
    version.write_plan(plan)
    return plan


def shard_jobs(plan: Plan) -> list[ShardJob]:
    return [
        ShardJob(plan.root, plan.stage, plan.version, plan.incarnation, i, spec) for i, spec in enumerate(plan.shards)
    ]


def _rejected_row(rejection: Rejection, stage: str, columns: set[str]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for key, value in rejection.row.items():
        if key not in columns:
            continue
        if isinstance(value, bytes) and key != "image":
            value = value.decode("utf-8", errors="replace")
        if isinstance(value, str) and len(value) > REJECTED_TEXT_LIMIT:
            value = value[:REJECTED_TEXT_LIMIT]
        row[key] = value
    row["reason"] = rejection.reason
    row["reason_detail"] = rejection.detail[:2000] if rejection.detail else None
    row["rejected_by"] = stage
    return row


def _table_or_reject(rows: list[dict[str, Any]], schema, rejects: list[Rejection]):
    """Build the shard's table; a row that fails validation moves to the rejections instead of failing the run."""
    while True:
        try:
            return to_table(rows, schema)
        except SchemaError as exc:
            if exc.row is None:
                raise
            bad = rows.pop(exc.row)
            rejects.append(Rejection("schema_invalid", str(exc), bad))


def _rejected_table(rejects: list[Rejection], stage: Stage):
    """Table of rejected rows; a field that does not fit its column is blanked rather than failing the shard."""
    schema = rejected_schema(*stage.schema_stages)
    rows = [_rejected_row(r, stage.name, set(schema.names)) for r in rejects]
    while True:
        try:
            return to_table(rows, schema)
        except SchemaError as exc:
            if exc.row is None or exc.column in ("reason", "rejected_by") or rows[exc.row].get(exc.column) is None:
                raise
            rows[exc.row][exc.column] = None


def run_shard(stage: Stage, job: ShardJob) -> ShardReport:
    """Process one shard unless it is already finished; returns its report."""
    version = DatasetVersion(job.root, job.stage, job.version)
    if version.is_shard_done(job.index):
        report = version.read_report(job.index)
        report.skipped = True
        return report
    inject(f"{job.stage}.shard.{job.index}")
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    rejects: list[Rejection] = []
    tallies: Counter[str] = Counter()
    for item in stage.process(job.spec):
        if isinstance(item, Rejection):
            rejects.append(item)
        elif isinstance(item, Tally):
            tallies[item.name] += item.n
        else:
            rows.append(item)
    data = _table_or_reject(rows, sample_schema(*stage.schema_stages), rejects)
    rejected = _rejected_table(rejects, stage)
    report = ShardReport(
        index=job.index,
        rows=data.num_rows,
        rejected=len(rejects),
        rejected_by_reason=dict(Counter(r.reason for r in rejects)),
        rows_by_domain=dict(Counter(data.column("domain").to_pylist())),
        seconds=round(time.perf_counter() - started, 4),
        extra={"counters": dict(tallies)} if tallies else {},
    )
    return version.write_shard(report, data, rejected)


class IncompleteRun(RuntimeError):
    pass


def finalize_stage(stage: Stage, plan: Plan, wall_seconds: float | None = None) -> Manifest:
    """Check every shard finished, write manifest.json and point LATEST at this version."""
    inject(f"{plan.stage}.finalize")
    root = DataRoot(plan.root)
    version = root.version(plan.stage, plan.version)
    missing = [i for i in range(len(plan.shards)) if not version.is_shard_done(i)]
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
        raise IncompleteRun(f"{len(missing)} shard(s) of {version.uri} are not finished: {shown}; run the stage again")
    reports = [version.read_report(i) for i in range(len(plan.shards))]
    by_reason: Counter[str] = Counter()
    by_domain: Counter[str] = Counter()
    counters: Counter[str] = Counter()
    for r in reports:
        by_reason.update(r.rejected_by_reason)
        by_domain.update(r.rows_by_domain)
        counters.update(r.extra.get("counters", {}))
    rows = sum(r.rows for r in reports)
    shard_seconds = sum(r.seconds for r in reports)
    timings = {"shard_seconds": round(shard_seconds, 3)}
    if wall_seconds is not None:
        timings["wall_seconds"] = round(wall_seconds, 3)
        timings["rows_per_second"] = round(rows / wall_seconds, 1) if wall_seconds > 0 else 0.0
    manifest = Manifest(
        stage=plan.stage,
        version=plan.version,
        uri=plan.uri,
        created_at=plan.created_at,
        finished_at=utc_now(),
        code=plan.code,
        config=plan.config,
        inputs=plan.inputs,
        upstream=plan.upstream,
        columns=sample_schema(*stage.schema_stages).names,
        files=[r.data_file for r in reports if r.data_file],
        rejected_files=[r.rejected_file for r in reports if r.rejected_file],
        shards=len(reports),
        rows=rows,
        rejected=sum(r.rejected for r in reports),
        rejected_by_reason=dict(sorted(by_reason.items())),
        rows_by_domain=dict(sorted(by_domain.items())),
        bytes=sum(r.bytes for r in reports),
        timings=timings,
        extra={
            "schema_stages": list(stage.schema_stages),
            "counters": dict(sorted(counters.items())),
            **stage.manifest_extra(plan),
        },
    )
    version.write_manifest(manifest)
    root.set_latest(plan.stage, plan.version)
    stage.cleanup(version)
    return manifest
