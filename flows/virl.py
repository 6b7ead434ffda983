"""Prefect flow `virl`: GRPO with the ViRL reward from a recipe (training/virl.py), after `sft`.

Training runs as one task, in the worker's process for a single device or as an `accelerate launch` subprocess for
several; it is not retried automatically, and re-running the flow resumes from the run's last Trainer checkpoint (a
finished recipe returns at once). The summary becomes the `virl-summary` table artifact and the reward and
execution-rate curves (curves.png beside the checkpoint) a markdown artifact.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from flows.lineage import publish, run_upstream

DEFAULT_RECIPE = "training/recipes/virl/tiny-cpu.yaml"
SUMMARY_KEYS = (
    "checkpoint",
    "base_model",
    "datasets",
    "rows",
    "steps",
    "encoder",
    "reward_first",
    "reward_last",
    "exec_rate_first",
    "exec_rate_last",
    "train_loss",
    "peak_rss_gb",
    "peak_gpu_memory_gb",
    "seconds",
    "cached",
)


@task(name="virl-train", cache_policy=NO_CACHE)
def train_task(recipe: str | dict[str, Any], data_root: str | None, overrides: dict[str, Any] | None) -> dict:
    from training.virl import run_virl

    return run_virl(recipe, data_root, overrides)


def curves_markdown(summary: dict[str, Any]) -> str:
    path = Path(summary.get("curves") or "")
    lines = [f"# ViRL `{summary.get('recipe')}`", "", f"checkpoint: `{summary.get('checkpoint')}`", ""]
    if path.is_file() and path.stat().st_size < 2_000_000:
        data = base64.b64encode(path.read_bytes()).decode()
        lines.append(f"![reward and execution rate per step](data:image/png;base64,{data})")
    lines.append(f"\nplot: `{path}`; per-rollout rewards: `{Path(summary.get('checkpoint', '')) / 'rollouts.jsonl'}`")
    return "\n".join(lines)


@flow(name="virl", description="GRPO with the coarse-to-fine visual reward (training/virl.py, training/rewards).")
def virl(
    config: str | dict[str, Any] = DEFAULT_RECIPE,
    data_root: str | None = None,
    workers: int | None = None,
    progress: bool | None = None,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train the recipe `config` (a YAML path, a name under training/recipes/virl, or a dict).

    `workers` and `progress` exist so the pipeline calls every flow alike; training ignores them."""
    logger = get_run_logger()
    summary = train_task(config, data_root, overrides)
    rows = [{"field": k, "value": str(summary[k])} for k in SUMMARY_KEYS if k in summary]
    create_table_artifact(key="virl-summary", table=rows, description=f"**virl** `{summary.get('recipe')}`")
    create_markdown_artifact(key="virl-curves", markdown=curves_markdown(summary))
    publish(
        "virl",
        summary["checkpoint"],
        run_upstream(summary["checkpoint"]),
        {k: summary.get(k) for k in ("recipe", "rows", "steps", "reward_first", "reward_last", "cached")},
    )
    logger.info("virl finished: %s (reward %s -> %s)", summary.get("checkpoint"), *_ends(summary))
    return {"stage": "virl", **summary}


def _ends(summary: dict[str, Any]) -> tuple[Any, Any]:
    return summary.get("reward_first"), summary.get("reward_last")


if __name__ == "__main__":
    virl()
