"""Prefect flow `pipeline`: every stage that exists, in order, each as a subflow with its own config."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger

from flows.dedup import dedup
from flows.drafts import drafts
from flows.evaluate import evaluate
from flows.filter import filter as filter_flow
from flows.ingest import ingest
from flows.merge import merge
from flows.render import render
from flows.repair import repair
from flows.runner import CLUSTER_STAGES
from flows.sft import sft
from flows.virl import virl
from tasks.registry import load_pipeline, step_overrides

DEFAULT_CONFIG = "configs/pipeline/demo.yaml"

# stage name -> its flow; tasks.registry.PIPELINE_ORDER gives the order (data stages, then training)
FLOWS = {
    "ingest": ingest,
    "repair": repair,
    "filter": filter_flow,
    "render": render,
    "dedup": dedup,
    "drafts": drafts,
    "merge": merge,
    "sft": sft,
    "virl": virl,
    "evaluate": evaluate,
}


@flow(name="pipeline")
def pipeline(
    config: str | dict[str, Any] = DEFAULT_CONFIG,
    data_root: str | None = None,
    workers: int | None = None,
    progress: bool | None = None,
    runner: str | dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run the configured stages in pipeline order; returns each stage's summary.

    `runner` (else the config's) places the shard-parallel stages: local, dask, or a mapping (flows/runner.py).
    With a `merge` entry, SFT starts from the merged checkpoint (tasks.registry.step_overrides)."""
    cfg, stages = load_pipeline(config)
    logger = get_run_logger()
    runner = runner or cfg.runner
    results: dict[str, Any] = {}
    for name, stage_config in stages:
        logger.info("pipeline: running %s with %s", name, stage_config)
        extra: dict[str, Any] = {"runner": runner} if runner and name in CLUSTER_STAGES else {}
        overrides = step_overrides(name, results)
        if overrides:
            logger.info("pipeline: %s overrides %s", name, overrides)
            extra["overrides"] = overrides
        results[name] = FLOWS[name](
            config=stage_config,
            data_root=data_root or cfg.data_root,
            workers=workers or cfg.workers,
            progress=progress,
            **extra,
        )
    return results


if __name__ == "__main__":
    pipeline()
