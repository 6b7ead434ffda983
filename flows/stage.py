"""The Prefect stage pattern, shared by every stage flow.

    plan   (task, retried)        -> Plan written to <root>/<stage>/<version>/_plan.json
    survey (task per shard, two-phase stages only, retried) -> _survey/part-NNNNN.parquet
    decide (task, two-phase stages only, retried)           -> _decision.parquet (tasks/survey.py)
    shard  (task per shard, mapped, retried with backoff, cached on inputs + task source,
            results persisted under <root>/_prefect/results)
    finalize (task, retried)      -> manifest.json + LATEST
    artifact: table of rows per domain and rejections per reason (key `<stage>-summary`)

Shard tasks are driven by Prefect's thread-pool task runner and run the shard itself in a local process pool
(tasks/executor.py), or in a few threads of this process for stages with `executor = "threads"`; the stage's
`close()` releases what it started once the run ends, whether it finished or failed. The cache key holds the
version folder's incarnation id, so deleting a dataset folder invalidates its cached shard results instead of
resurrecting files that no longer exist.
"""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import INPUTS, NO_CACHE, TASK_SOURCE
from prefect.filesystems import LocalFileSystem, RemoteFileSystem
from prefect.futures import as_completed
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff

from storage import filesystem as fsys
from storage.dataset import DatasetVersion
from storage.manifest import Manifest, Plan, ShardReport
from tasks.executor import ShardPool, shard_threads
from tasks.stage import ShardJob, Stage, finalize_stage, plan_stage, shard_jobs
from tasks.survey import SurveyReport, decide_stage, needs_survey, run_survey
from vinci.progress import progress_bar
from vinci.settings import default_workers

_pool_lock = threading.Lock()
_pool: ShardPool | None = None

IO_RETRY = {
    "retries": 3,
    "retry_delay_seconds": exponential_backoff(backoff_factor=2),
    "retry_jitter_factor": 0.5,
}


def _current_pool() -> ShardPool:
    with _pool_lock:
        if _pool is None:
            raise RuntimeError("shard tasks run inside run_stage(), which provides the worker pool")
        return _pool


@task(name="plan", cache_policy=NO_CACHE, **IO_RETRY)
def plan_task(stage: Stage) -> Plan:
    return plan_stage(stage)


@task(
    name="shard",
    task_run_name="{stage.name}-shard-{job.index:05d}",
    cache_policy=(INPUTS - "stage") + TASK_SOURCE,
    persist_result=True,
    retries=2,
    retry_delay_seconds=exponential_backoff(backoff_factor=5),
    retry_jitter_factor=0.5,
)
def shard_task(stage: Stage, job: ShardJob) -> ShardReport:
    report = _current_pool().run(stage, job)
    if report.skipped:
        get_run_logger().info("shard %d was already finished; not recomputed", job.index)
    return report


@task(name="survey", task_run_name="{stage.name}-survey-{job.index:05d}", cache_policy=NO_CACHE, **IO_RETRY)
def survey_task(stage: Stage, job: ShardJob) -> SurveyReport:
    return _current_pool().run(stage, job, run_survey)


@task(name="prepare", cache_policy=NO_CACHE, **IO_RETRY)
def prepare_task(stage: Stage, plan: Plan) -> dict[str, Any] | None:
    """Once-per-version work before the shards (e.g. training the drafts stage's specialists); resumes."""
    return stage.prepare(plan)


@task(name="decide", cache_policy=NO_CACHE, **IO_RETRY)
def decide_task(stage: Stage, plan: Plan) -> int:
    return decide_stage(stage, plan)


@task(name="finalize", cache_policy=NO_CACHE, **IO_RETRY)
def finalize_task(stage: Stage, plan: Plan, wall_seconds: float) -> Manifest:
    return finalize_stage(stage, plan, wall_seconds=wall_seconds)


def result_storage(root: str) -> str:
    """Saved filesystem block for task results under the data root; returns its block slug."""
    path = fsys.join(root, "_prefect", "results")
    name = "vinci-results-" + hashlib.blake2b(path.encode(), digest_size=5).hexdigest()
    if fsys.is_remote(root):
        RemoteFileSystem(basepath=path, settings=fsys.fsspec_options(root)).save(name, overwrite=True)
        return f"remote-file-system/{name}"
    LocalFileSystem(basepath=path).save(name, overwrite=True)
    return f"local-file-system/{name}"


def summary_table(manifest: Manifest) -> list[dict[str, Any]]:
    rows = [{"group": "domain", "name": k, "count": v} for k, v in manifest.rows_by_domain.items()]
    rows += [{"group": "rejected", "name": k, "count": v} for k, v in manifest.rejected_by_reason.items()]
    rows += [{"group": "counter", "name": k, "count": v} for k, v in manifest.extra.get("counters", {}).items()]
    rows.append({"group": "total", "name": "rows", "count": manifest.rows})
    rows.append({"group": "total", "name": "rejected", "count": manifest.rejected})
    return rows


def run_stage(stage: Stage, workers: int | None = None, progress: bool | None = None) -> dict[str, Any]:
    """Run a stage inside the current flow: plan, shards in parallel, finalize, summary artifact."""
    try:
        return _run_stage(stage, workers, progress)
    finally:
        stage.close()


def _run_stage(stage: Stage, workers: int | None, progress: bool | None) -> dict[str, Any]:
    global _pool
    logger = get_run_logger()
    started = time.perf_counter()
    plan = plan_task(stage)
    jobs = shard_jobs(plan)
    done = sum(1 for job in jobs if _is_done(plan, job))
    logger.info("%s %s: %d shards (%d already finished) -> %s", stage.name, plan.version, len(jobs), done, plan.uri)
    shard = shard_task.with_options(result_storage=result_storage(plan.root))
    workers = min(workers or default_workers(), max(1, len(jobs)))
    with _pool_lock:
        _pool = ShardPool(workers, shard_threads(len(jobs)))
    try:
        if needs_survey(stage, plan):
            _drain([survey_task.submit(stage, job) for job in jobs], f"{stage.name} survey", progress)
            logger.info("%s: decided over %d rows", stage.name, decide_task(stage, plan))
        if type(stage).prepare is not Stage.prepare:  # only stages with once-per-version work get the task
            logger.info("%s: prepared %s", stage.name, prepare_task(stage, plan))
        _drain([shard.submit(stage, job) for job in jobs], stage.name, progress)
    finally:
        with _pool_lock:
            pool, _pool = _pool, None
        pool.close()
    manifest = finalize_task(stage, plan, time.perf_counter() - started)
    create_table_artifact(
        key=f"{stage.name}-summary",
        table=summary_table(manifest),
        description=f"**{stage.name}** version `{manifest.version}` at `{manifest.uri}`: "
        f"{manifest.rows} rows, {manifest.rejected} rejected",
    )
    report = stage.report(manifest.extra.get("counters", {}))
    if report:
        create_table_artifact(key=f"{stage.name}-report", table=report, description=f"**{stage.name}** report")
    logger.info("%s finished: %d rows, %d rejected, %s", stage.name, manifest.rows, manifest.rejected, manifest.uri)
    return summarize(manifest, report)


def _drain(futures: list, label: str, progress: bool | None) -> None:
    rows = 0
    with progress_bar(len(futures), label, progress) as bar:
        for future in as_completed(futures):
            rows += future.result().rows
            bar.advance(1, rows=rows)


def _is_done(plan: Plan, job: ShardJob) -> bool:
    return DatasetVersion(plan.root, plan.stage, plan.version).is_shard_done(job.index)


def summarize(manifest: Manifest, report: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The small result a stage flow returns (paths and counts, never data), with the stage's report."""
    return {
        "stage": manifest.stage,
        "version": manifest.version,
        "uri": manifest.uri,
        "rows": manifest.rows,
        "rejected": manifest.rejected,
        "rows_by_domain": manifest.rows_by_domain,
        "rejected_by_reason": manifest.rejected_by_reason,
        "counters": manifest.extra.get("counters", {}),
        "wall_seconds": manifest.timings.get("wall_seconds"),
        "report": report or [],
    }


def stage_flow(name: str, description: str):
    """The Prefect flow of stage `name`: build the stage from its config (YAML path or dict) and run it.

    Every stage flow has the same parameters, so deployments, the pipeline and the CLI call them alike.
    """

    @flow(name=name, description=description, task_runner=ThreadPoolTaskRunner(max_workers=max(4, default_workers())))
    def stage_run(
        config: str | dict[str, Any] = f"configs/{name}/demo.yaml",
        data_root: str | None = None,
        workers: int | None = None,
        progress: bool | None = None,
    ) -> dict[str, Any]:
        from tasks.registry import build_stage

        stage = build_stage(name, config, data_root)
        if workers and "workers" in type(stage.config).model_fields:
            stage.config = stage.config.model_copy(update={"workers": workers})
        return run_stage(stage, workers or getattr(stage.config, "workers", None), progress)

    stage_run.__doc__ = f"{description} `config`: a YAML path or a dict."
    return stage_run
