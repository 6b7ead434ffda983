"""Running shards on this machine: a process pool (true parallelism for CPU-bound shards) and `run_local`.

Prefect tasks are driven by threads (see flows/stage.py) and hand the shard itself to the same pool, because
a Prefect process-pool task runner without a Prefect server races on the temporary server's SQLite database.
Stages with `executor = "threads"` (their work already runs in worker pools of their own, like the render
engine's) run their shards in threads of this process instead, so one set of pools serves every shard.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from storage.dataset import DatasetVersion
from storage.manifest import Manifest
from tasks.stage import ShardJob, Stage, finalize_stage, plan_stage, run_shard, shard_jobs
from tasks.survey import decide_stage, is_survey_done, needs_survey, run_survey
from vinci.progress import progress_bar
from vinci.settings import default_workers

SHARD_THREADS = 4  # shards of a threads-executor stage in flight at once
T = TypeVar("T")


def _is_shard_done(job: ShardJob) -> bool:
    return DatasetVersion(job.root, job.stage, job.version).is_shard_done(job.index)


def shard_threads(shards: int) -> int:
    return max(1, min(shards, SHARD_THREADS))


class ShardPool:
    """A lazily started process pool shared by the shard tasks of one run; rebuilt if a worker dies.

    Shards of stages with `executor = "threads"` go to a thread pool of `threads` threads instead.
    """

    def __init__(self, workers: int | None = None, threads: int = SHARD_THREADS):
        self.workers = workers or default_workers()
        self.threads = max(1, threads)
        self._pool: ProcessPoolExecutor | None = None
        self._thread_pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def _get(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                # spawn: forking a process that runs threads (Prefect, the progress bar) can deadlock
                self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
            return self._pool

    def _get_threads(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._thread_pool is None:
                self._thread_pool = ThreadPoolExecutor(self.threads, thread_name_prefix="shard")
            return self._thread_pool

    def submit(self, stage: Stage, job: ShardJob, step: Callable[[Stage, ShardJob], T] = run_shard) -> Future[T]:
        """Future of `step(stage, job)` (a shard by default, or a survey); finished work and single-worker
        pools are served in this process."""
        done = is_survey_done(job) if step is run_survey else _is_shard_done(job)
        if stage.executor == "threads" and not done:
            return self._get_threads().submit(step, stage, job)
        if self.workers <= 1 or done:
            future: Future[T] = Future()
            try:
                future.set_result(step(stage, job))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
                future.set_exception(exc)
            return future
        return self._get().submit(step, stage, job)

    def run(self, stage: Stage, job: ShardJob, step: Callable[[Stage, ShardJob], T] = run_shard) -> T:
        """Run one shard (or survey) in the pool and wait; a crashed pool is replaced so a retry can succeed."""
        try:
            return self.submit(stage, job, step).result()
        except BrokenProcessPool:
            self.reset()
            raise

    def reset(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None

    def close(self) -> None:
        with self._lock:
            pools = [p for p in (self._pool, self._thread_pool) if p is not None]
            self._pool = self._thread_pool = None
        for pool in pools:
            pool.shutdown(wait=True)

    def __enter__(self) -> ShardPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_local(stage: Stage, workers: int | None = None, progress: bool | None = None) -> Manifest:
    """Plan, survey and decide (two-phase stages), process every unfinished shard in parallel, finalize.
    No Prefect involved."""
    started = time.perf_counter()
    try:
        plan = plan_stage(stage)
        jobs = shard_jobs(plan)
        workers = min(workers or default_workers(), max(1, len(jobs)))
        with ShardPool(workers, shard_threads(len(jobs))) as pool:
            if needs_survey(stage, plan):
                _drain(pool, stage, jobs, run_survey, f"{stage.name} survey", progress)
                decide_stage(stage, plan)
            stage.prepare(plan)
            _drain(pool, stage, jobs, run_shard, stage.name, progress)
    finally:
        stage.close()
    return finalize_stage(stage, plan, wall_seconds=time.perf_counter() - started)


def _drain(pool: ShardPool, stage: Stage, jobs: list[ShardJob], step, label: str, progress: bool | None) -> None:
    rows = 0
    with progress_bar(len(jobs), label, progress) as bar:
        for future in as_completed([pool.submit(stage, job, step) for job in jobs]):
            rows += future.result().rows
            bar.advance(1, rows=rows)
