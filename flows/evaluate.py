"""Prefect flow `evaluate`: generate, score and report a model on the benchmarks of a recipe (evaluation/stage.py).

Generation runs as one task in the worker's process (the GPU pool's worker for real models); its answers are saved
every `chunk_size` samples, so a re-run after a crash resumes generation where it stopped, and a finished
evaluation returns at once. The Table-3 rows become the `eval-table3` table artifact and the report (plots inlined)
the `eval-report` markdown artifact; the per-sample Parquet, report.md and report.html stay in the run's folder.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from flows.lineage import publish, run_upstream

DEFAULT_RECIPE = "configs/evaluate/demo.yaml"


@task(name="evaluate-run", cache_policy=NO_CACHE)
def evaluate_task(
    recipe: str | dict[str, Any], data_root: str | None, overrides: dict[str, Any] | None, progress: bool | None
) -> dict:
    from evaluation.stage import run_evaluation

    return run_evaluation(recipe, data_root, overrides, progress)


def report_markdown(summary: dict[str, Any]) -> str:
    from pathlib import Path

    from evaluation.report import ReportFiles, artifact_markdown

    files = ReportFiles(Path(summary["report"]), Path(summary["report_html"]), [Path(p) for p in summary["plots"]])
    if not files.markdown.is_file():
        return f"report not found at `{files.markdown}`"
    return artifact_markdown(files)


@flow(name="evaluate", description="Benchmarks: generate, render, score; Table 3 and a report (evaluation/).")
def evaluate(
    config: str | dict[str, Any] = DEFAULT_RECIPE,
    data_root: str | None = None,
    workers: int | None = None,
    progress: bool | None = None,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Evaluate the recipe `config` (a YAML path, a name under configs/evaluate, or a dict).

    `workers` exists so the pipeline calls every flow alike; the render pools size themselves."""
    logger = get_run_logger()
    summary = evaluate_task(config, data_root, overrides, progress)
    table = [{k: ("not run" if v is None else v) for k, v in row.items()} for row in summary["table"]]
    create_table_artifact(
        key="eval-table3", table=table, description=f"**evaluate** `{summary['recipe']}` on `{summary['model']}`"
    )
    create_markdown_artifact(key="eval-report", markdown=report_markdown(summary))
    publish(
        "evaluate",
        summary["run"],
        run_upstream(summary["run"]),
        {"recipe": summary["recipe"], "samples": summary["samples"], "report": summary["report"]},
    )
    logger.info("evaluate finished: %s (report %s)", summary["run"], summary["report"])
    return {"stage": "evaluate", **summary}


if __name__ == "__main__":
    evaluate()
