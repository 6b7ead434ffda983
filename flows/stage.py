"""The Prefect stage pattern, shared by every stage flow.

    plan   (task, retried)        -> Plan written to <root>/<stage>/<version>/_plan.json
    survey (task per shard, two-phase stages only, retried) -> _survey/part-NNNNN.parquet
    decide (task, two-phase stages only, retried)           -> _decision.parquet (tasks/survey.py)
    shard  (task per shard, mapped, retried with backoff, cached on inputs + task source,
            results persisted under <root>/_prefect/results)
    finalize (task, retried)      -> manifest.json + LATEST; materializes the dataset version as a Prefect asset
                                     whose upstream assets are the stage's inputs (flows/lineage.py)
    artifacts: table of rows per domain and rejections per reason (key `<stage>-summary`), a link to the
               manifest (`<stage>-output`)

A run holds the dataset's lock (a global concurrency limit of 1 per stage and data root), so two runs (a nightly
refresh and a manual deployment run, say) never write the same dataset at once: the second waits for the first.

Shard tasks are driven by Prefect's thread-pool task runner and run the shard itself in a local process pool
(tasks/executor.py), or in a few threads of this process for stages with `executor = "threads"`, or, with a Dask
runner (flows/runner.py), in the Dask workers, which run each shard themselves; the stage's
`close()` releases what it started once the run ends, whether it finished or failed. The cache key holds the
version folder's incarnation id, so deleting a dataset folder invalidates its cached shard results instead of
resurrecting files that no longer exist.
"""

from __future__ import annotations

import atexit
import errno
import hashlib
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.assets import add_asset_metadata
from prefect.cache_policies import INPUTS, NO_CACHE, TASK_SOURCE
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.concurrency.sync import concurrency
from prefect.exceptions import MissingContextError, ObjectAlreadyExists, ObjectNotFound
from prefect.filesystems import LocalFileSystem, RemoteFileSystem
from prefect.futures import as_completed
from prefect.logging import get_logger
from prefect.settings import PREFECT_API_URL
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff

from flows.lineage import asset_key, dataset_asset, dataset_metadata, link_run, materializing, upstream_keys
from flows.runner import RunnerConfig, load_runner, task_runner
from storage import filesystem as fsys
from storage.dataset import DatasetDamaged, DatasetNotFound, DatasetVersion
from storage.manifest import Manifest, Plan, ShardReport
from tasks.executor import ShardPool, shard_threads
from tasks.stage import ShardJob, Stage, finalize_stage, plan_stage, run_shard, shard_jobs
from tasks.survey import SurveyReport, decide_stage, needs_survey, run_survey
from vinci.config import ConfigError
from vinci.progress import progress_bar
from vinci.settings import default_workers

_pool_lock = threading.Lock()
_pool: ShardPool | None = None
# stages whose shards run in this process without a pool (a Dask worker): one object per run, so a render stage
# keeps one engine per worker process instead of starting one per shard; the oldest are closed beyond the cap
_resident: OrderedDict[tuple[str, str, str], Stage] = OrderedDict()
RESIDENT_RUNS = 4
LOCK_LEASE_SECONDS = 300  # a crashed run's dataset lock is freed this long after its last lease renewal
LOCK_TIMEOUT_SECONDS = 4 * 3600  # how long a second writer waits for the dataset lock before it fails

# errors that come back the same on every attempt: retrying them only adds the backoff before the same failure
DETERMINISTIC_ERRORS = (DatasetDamaged, DatasetNotFound, ConfigError)
DETERMINISTIC_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})


def worth_retrying(task, task_run, state) -> bool:
    """Prefect's retry condition for the stage tasks: a transient error (a flaky filesystem, a worker that died, an
    injected fault) is retried; a damaged or missing dataset, a bad config, a full, read-only or forbidden disk is
    not."""
    exc = state.data if isinstance(state.data, BaseException) else None
    if isinstance(exc, DETERMINISTIC_ERRORS):
        return False
    return not (isinstance(exc, OSError) and exc.errno in DETERMINISTIC_ERRNOS)


IO_RETRY = {
    "retries": 3,
    "retry_delay_seconds": exponential_backoff(backoff_factor=2),
    "retry_jitter_factor": 0.5,
    "retry_condition_fn": worth_retrying,
}


def _execute(stage: Stage, job: ShardJob, step: Callable[[Stage, ShardJob], Any] = run_shard) -> Any:
    """Run a shard (or survey) in this run's local pool, or here when there is none (a Dask worker)."""
    with _pool_lock:
        pool = _pool
    if pool is not None:
        return pool.run(stage, job, step)
    return step(_resident_stage(stage, job), job)


def _resident_stage(stage: Stage, job: ShardJob) -> Stage:
    key = (job.stage, job.version, job.incarnation)
    with _pool_lock:
        if not _resident:
            atexit.register(_close_resident)
        held = _resident.setdefault(key, stage)
        _resident.move_to_end(key)
        evicted = []
        while len(_resident) > RESIDENT_RUNS:
            evicted.append(_resident.popitem(last=False)[1])
    for old in evicted:
        old.close()
    return held


def _close_resident() -> None:
    with _pool_lock:
        stages = list(_resident.values())
        _resident.clear()
    for stage in stages:
        stage.close()


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
    retry_condition_fn=worth_retrying,
)
def shard_task(stage: Stage, job: ShardJob) -> ShardReport:
    report = _execute(stage, job)
    if report.skipped:
        get_run_logger().info("shard %d was already finished; not recomputed", job.index)
    return report


@task(name="survey", task_run_name="{stage.name}-survey-{job.index:05d}", cache_policy=NO_CACHE, **IO_RETRY)
def survey_task(stage: Stage, job: ShardJob) -> SurveyReport:
    return _execute(stage, job, run_survey)


@task(name="prepare", cache_policy=NO_CACHE, **IO_RETRY)
def prepare_task(stage: Stage, plan: Plan) -> dict[str, Any] | None:
    """Once-per-version work before the shards (e.g. training the drafts stage's specialists); resumes."""
    return stage.prepare(plan)


@task(name="decide", cache_policy=NO_CACHE, **IO_RETRY)
def decide_task(stage: Stage, plan: Plan) -> int:
    return decide_stage(stage, plan)


def _finalize(stage: Stage, plan: Plan, wall_seconds: float) -> Manifest:
    manifest = finalize_stage(stage, plan, wall_seconds=wall_seconds)
    add_asset_metadata(asset_key(plan.uri), dataset_metadata(manifest))
    return manifest


def finalize_task(plan: Plan):
    """The finalize task of this run: it materializes the dataset version, from the stage's inputs."""
    return materializing(
        _finalize, "finalize", dataset_asset(plan), upstream_keys(plan), cache_policy=NO_CACHE, **IO_RETRY
    )


def lock_name(root: str, stage: str) -> str:
    """The global concurrency limit that guards one stage's datasets under one data root."""
    return f"vinci-dataset-{stage}-" + hashlib.blake2b(root.encode(), digest_size=5).hexdigest()


@contextmanager
def dataset_lock(root: str, stage: str, timeout_seconds: float | None = None) -> Iterator[str | None]:
    """Hold the dataset's lock (created on first use with one slot) for the block; waits while another run has it.

    Only against a Prefect server of its own (`PREFECT_API_URL` set, e.g. `make serve`): that server renews the
    lease while the run lives and frees the slot when a crashed holder's lease expires. A temporary server (no
    `PREFECT_API_URL`) keeps leases in its own memory and dies with its process, so a killed run would leave the
    slot taken in the shared database: there, runs are not locked (yields None). Waiting gives up after
    `timeout_seconds` (default `VINCI_DATASET_LOCK_TIMEOUT_S`, 4 h) with the command that frees a stale slot.
    """
    if not PREFECT_API_URL.value():
        yield None
        return
    name = lock_name(root, stage)
    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            with suppress(ObjectAlreadyExists):  # another run created it in between
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
    if timeout_seconds is None:
        timeout_seconds = float(os.environ.get("VINCI_DATASET_LOCK_TIMEOUT_S", LOCK_TIMEOUT_SECONDS))
    _logger().info("%s: taking the dataset lock %s (waits while another run writes)", stage, name)
    acquired = False
    try:
        with concurrency(
            name, occupy=1, timeout_seconds=timeout_seconds, lease_duration=LOCK_LEASE_SECONDS, strict=True
        ):
            acquired = True
            yield name
    except TimeoutError:
        if acquired:  # raised by the work inside the lock, not by the wait
            raise
        raise TimeoutError(
            f"the {stage} dataset under {root} stayed locked for {timeout_seconds:.0f} s by another run; if no run "
            f"is writing it (a server restart loses its leases), free it: prefect gcl update {name} --active-slots 0"
        ) from None


def _logger():
    try:
        return get_run_logger()
    except MissingContextError:  # outside a flow (a script holding the lock)
        return get_logger("vinci.flows")


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


def run_stage(
    stage: Stage,
    workers: int | None = None,
    progress: bool | None = None,
    runner: str | dict[str, Any] | RunnerConfig | None = None,
) -> dict[str, Any]:
    """Run a stage inside the current flow: plan, shards in parallel, finalize, summary artifact.

    The shards run on this machine, or on a Dask cluster when `runner` says so (flows/runner.py)."""
    cfg = load_runner(runner)
    try:
        with dataset_lock(stage.root, stage.name) as lock:
            if lock:
                get_run_logger().info("%s: holding the dataset lock %s", stage.name, lock)
            if cfg.is_local:
                return _run_stage(stage, workers, progress)
            on_cluster = flow(name=f"{stage.name}-on-dask", task_runner=task_runner(cfg), log_prints=True)(
                _run_stage_on_cluster
            )
            return on_cluster(stage, progress)
    finally:
        stage.close()


def _run_stage_on_cluster(stage: Stage, progress: bool | None = None) -> dict[str, Any]:
    """The body of `<stage>-on-dask`: the same steps, with shard tasks executed by the Dask workers."""
    return _run_stage(stage, None, progress, local_pool=False)


def _run_stage(stage: Stage, workers: int | None, progress: bool | None, *, local_pool: bool = True) -> dict[str, Any]:
    global _pool
    logger = get_run_logger()
    started = time.perf_counter()
    plan = plan_task(stage)
    jobs = shard_jobs(plan)
    done = sum(1 for job in jobs if _is_done(plan, job))
    logger.info("%s %s: %d shards (%d already finished) -> %s", stage.name, plan.version, len(jobs), done, plan.uri)
    shard = shard_task.with_options(result_storage=result_storage(plan.root))
    if local_pool:
        workers = min(workers or default_workers(), max(1, len(jobs)))
        with _pool_lock:
            _pool = ShardPool(workers, shard_threads(len(jobs)))
    try:
        if needs_survey(stage, plan):
            _drain([survey_task.submit(stage, job) for job in jobs], f"{stage.name} survey", progress)
            logger.info("%s: decided over %d rows", stage.name, decide_task(stage, plan))
        if type(stage).prepare is not Stage.prepare:  # only stages with once-per-version work get the task
            logger.info("%s: prepared %s", stage.name, prepare_task(stage, plan))
        shards = _drain([shard.submit(stage, job) for job in jobs], stage.name, progress)
    finally:
        if local_pool:
            with _pool_lock:
                pool, _pool = _pool, None
            pool.close()
    manifest = finalize_task(plan)(stage, plan, time.perf_counter() - started)
    create_table_artifact(
        key=f"{stage.name}-summary",
        table=summary_table(manifest),
        description=f"**{stage.name}** version `{manifest.version}` at `{manifest.uri}`: "
        f"{manifest.rows} rows, {manifest.rejected} rejected; manifest `{fsys.join(manifest.uri, 'manifest.json')}`",
    )
    link_run(stage.name, fsys.join(manifest.uri, "manifest.json"), f"{stage.name} {manifest.version} manifest")
    report = stage.report(manifest.extra.get("counters", {}))
    if report:
        create_table_artifact(key=f"{stage.name}-report", table=report, description=f"**{stage.name}** report")
    logger.info(
        "%s finished: %d rows, %d rejected, %s (shards: %s)",
        stage.name,
        manifest.rows,
        manifest.rejected,
        manifest.uri,
        shards,
    )
    return {**summarize(manifest, report), "shards": shards}


def _drain(futures: list, label: str, progress: bool | None) -> dict[str, int]:
    """Wait for every future; count rows, shards already finished on disk, and results served from the cache."""
    rows = 0
    counts = {"total": len(futures), "computed": 0, "skipped": 0, "cached": 0}
    with progress_bar(len(futures), label, progress) as bar:
        for future in as_completed(futures):
            report = future.result()
            rows += report.rows
            kind = "cached" if future.state.name == "Cached" else "skipped" if report.skipped else "computed"
            counts[kind] += 1
            bar.advance(1, rows=rows)
    return counts


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
        runner: str | dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        from tasks.registry import build_stage

        stage = build_stage(name, config, data_root)
        if workers and "workers" in type(stage.config).model_fields:
            stage.config = stage.config.model_copy(update={"workers": workers})
        return run_stage(stage, workers or getattr(stage.config, "workers", None), progress, runner)

    stage_run.__doc__ = (
        f"{description} `config`: a YAML path or a dict; `runner`: local (default), dask, or a mapping "
        "(flows/runner.py)."
    )
    return stage_run
