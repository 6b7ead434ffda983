"""Prefect flow `ingest`: read every configured source into the sample schema (tasks/ingest)."""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from flows.stage import run_stage
from tasks.registry import build_stage
from vinci.settings import default_workers

DEFAULT_CONFIG = "configs/ingest/demo.yaml"


@flow(name="ingest", task_runner=ThreadPoolTaskRunner(max_workers=max(4, default_workers())))
def ingest(
    config: str | dict[str, Any] = DEFAULT_CONFIG,
    data_root: str | None = None,
    workers: int | None = None,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Ingest sources into `<data_root>/ingest/<version>/`; `config` is a YAML path or a dict."""
    stage = build_stage("ingest", config, data_root)
    return run_stage(stage, workers or stage.config.workers, progress)


if __name__ == "__main__":
    ingest()
