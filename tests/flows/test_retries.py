"""Which errors the stage tasks retry: transient ones, not those that come back the same on every attempt."""

from __future__ import annotations

import errno

import pytest
from prefect import flow, task

from flows.stage import IO_RETRY, shard_task, worth_retrying
from storage.dataset import DatasetDamaged, DatasetNotFound
from vinci.config import ConfigError
from vinci.faults import InjectedFault

CASES = [
    (OSError(errno.EIO, "Input/output error"), 3),
    (ConnectionResetError(errno.ECONNRESET, "reset by peer"), 3),
    (InjectedFault("render.shard.2"), 3),  # the injected permanent fault still exercises the retries
    (RuntimeError("worker died"), 3),
    (DatasetDamaged("part-00001.parquet cannot be read"), 1),
    (DatasetNotFound("no ingest dataset"), 1),
    (ConfigError("bad key"), 1),
    (OSError(errno.ENOSPC, "No space left on device"), 1),
    (PermissionError(errno.EACCES, "Permission denied"), 1),
]


@pytest.mark.parametrize(("error", "attempts"), CASES, ids=[type(e).__name__ + str(n) for e, n in CASES])
def test_only_transient_errors_are_retried(error, attempts):
    calls = []

    @task(retries=2, retry_delay_seconds=0, retry_condition_fn=worth_retrying, persist_result=False)
    def failing():
        calls.append(1)
        raise error

    @flow
    def run():
        return failing(return_state=True)

    state = run(return_state=True)
    assert state.is_failed()
    assert len(calls) == attempts


def test_the_stage_tasks_use_the_condition():
    assert IO_RETRY["retry_condition_fn"] is worth_retrying
    assert shard_task.retry_condition_fn is worth_retrying
