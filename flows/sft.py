"""Prefect flow `sft`: one supervised fine-tuning run from a recipe (training/sft.py).

Training runs as one task: in the worker's process for a single device, or as an `accelerate launch`
subprocess for several (the recipe's `launcher`). The task is not retried automatically (a failed training run
is rarely transient); re-running the flow resumes from the run's last Trainer checkpoint, and a finished recipe
returns at once. The run's summary (loss, tokens/s, peak memory, the load-back generation check) becomes the
`sft-summary` table artifact.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from flows.lineage import publish, run_upstream

DEFAULT_RECIPE = "training/recipes/sft/tiny-cpu.yaml"


@task(name="sft-train", cache_policy=NO_CACHE)
def train_task(recipe: str | dict[str, Any], data_root: str | None, overrides: dict[str, Any] | None) -> dict:
    from training.sft import run_sft

    return run_sft(recipe, data_root, overrides)


def summary_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    keys = ("checkpoint", "datasets", "rows", "rows_by_task", "steps", "train_loss", "tokens_per_second")
    keys += ("peak_rss_gb", "peak_gpu_memory_gb", "seconds", "cached")
    rows = [{"field": k, "value": str(summary[k])} for k in keys if k in summary]
    check = summary.get("generation_check")
    if check:
        rows.append({"field": "generation_check", "value": f"{check['generated_chars']} chars from the reload"})
    return rows


@flow(name="sft", description="Supervised fine-tuning of a VLM on direct + refine rows with TRL (training/sft.py).")
def sft(
    config: str | dict[str, Any] = DEFAULT_RECIPE,
    data_root: str | None = None,
    workers: int | None = None,
    progress: bool | None = None,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train the recipe `config` (a YAML path, a name under training/recipes/sft, or a dict).

    `workers` and `progress` exist so the pipeline calls every flow alike; training ignores them."""
    logger = get_run_logger()
    summary = train_task(config, data_root, overrides)
    create_table_artifact(
        key="sft-summary",
        table=summary_rows(summary),
        description=f"**sft** `{summary.get('recipe')}` -> `{summary.get('checkpoint')}`",
    )
    publish(
        "sft",
        summary["checkpoint"],
        run_upstream(summary["checkpoint"]),
        {k: summary.get(k) for k in ("recipe", "rows", "steps", "train_loss", "datasets", "cached")},
    )
    logger.info("sft finished: %s (loss %s)", summary.get("checkpoint"), summary.get("train_loss"))
    return {"stage": "sft", **summary}


if __name__ == "__main__":
    sft()
