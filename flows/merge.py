"""Prefect flow `merge`: a VisCodex backbone merge from a recipe (training/merge), before `sft`.

The merge runs as one task in the worker's process (CPU and disk bound; it reads the three checkpoints a block of
rows at a time and needs no GPU). It is not retried automatically: its failures are refusals (mismatched
checkpoints) or a full disk. A finished recipe returns at once; the summary becomes the `merge-summary` table
artifact and the merged checkpoint an asset materialized from the VLM, the base and the coder.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from flows.lineage import publish

DEFAULT_RECIPE = "training/recipes/merge/tiny-cpu.yaml"
SUMMARY_KEYS = (
    "checkpoint",
    "vlm",
    "base",
    "coder",
    "scale",
    "layout",
    "tensors_merged",
    "parameters_merged",
    "tensors_copied",
    "copied_by_reason",
    "peak_rss_gb",
    "seconds",
    "cached",
)


@task(name="merge-backbone", cache_policy=NO_CACHE)
def merge_task(recipe: str | dict[str, Any], data_root: str | None, overrides: dict[str, Any] | None) -> dict:
    from training.merge import run_merge

    return run_merge(recipe, data_root, overrides)


def summary_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"field": k, "value": str(summary[k])} for k in SUMMARY_KEYS if k in summary]


@flow(name="merge", description="Task-vector merge of a coding LLM into a VLM's language model (training/merge).")
def merge(
    config: str | dict[str, Any] = DEFAULT_RECIPE,
    data_root: str | None = None,
    workers: int | None = None,
    progress: bool | None = None,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Merge the recipe `config` (a YAML path, a name under training/recipes/merge, or a dict).

    `workers` and `progress` exist so the pipeline calls every flow alike; the merge ignores them."""
    logger = get_run_logger()
    summary = merge_task(config, data_root, overrides)
    create_table_artifact(
        key="merge-summary",
        table=summary_rows(summary),
        description=f"**merge** `{summary.get('recipe')}` -> `{summary.get('checkpoint')}`",
    )
    publish(
        "merge",
        summary["checkpoint"],
        [summary["vlm"], summary["base"], summary["coder"]],
        {k: summary.get(k) for k in ("recipe", "scale", "layout", "tensors_merged", "parameters_merged", "cached")},
    )
    logger.info(
        "merge finished: %s (%s tensors merged at scale %s)",
        summary.get("checkpoint"),
        summary.get("tensors_merged"),
        summary.get("scale"),
    )
    return {"stage": "merge", **summary}


if __name__ == "__main__":
    merge()
