"""Prefect flow `render`: draw every row of an upstream dataset with the render engine (tasks/render_stage.py)."""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from vinci.settings import default_workers

DEFAULT_CONFIG = "configs/render/demo.yaml"


@flow(name="render", task_runner=ThreadPoolTaskRunner(max_workers=max(4, default_workers())))
def render(
    config: str | dict[str, Any] = DEFAULT_CONFIG,
    data_root: str | None = None,
    workers: int | None = None,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Render the configured upstream dataset into `<data_root>/render/<version>/`; `config`: YAML path or dict."""
    from flows.stage import run_stage
    from tasks.registry import build_stage

    stage = build_stage("render", config, data_root)
    if workers:
        stage.config = stage.config.model_copy(update={"workers": workers})
    return run_stage(stage, workers or stage.config.workers, progress)


if __name__ == "__main__":
    render()
