"""`vinci eval` (score prediction files against reference files, no model) and `vinci evaluate` (the evaluate
stage: a model on a recipe's benchmarks)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from vinci.cli import DataRootOpt, LocalOpt, ProgressOpt, _fail, app
from vinci.training_cli import RecipeOverrides


@app.command("eval")
def eval_files(
    benchmark: Annotated[str, typer.Argument(help="chartmimic | design2code | unisvg | image2struct | chemdraw")],
    pred: Annotated[Path, typer.Option("--pred", help="folder of predictions (same stem as the references)")],
    ref: Annotated[Path, typer.Option("--ref", help="folder of references")],
    out: Annotated[Path | None, typer.Option("--out", help="per-sample Parquet file")] = None,
    clip: Annotated[str | None, typer.Option("--clip", help="local CLIP folder (unisvg, design2code)")] = None,
    lpips: Annotated[
        str | None, typer.Option("--lpips", help="folder with alexnet.pth + alex.pth (unisvg's LPIPS)")
    ] = None,
    fingerprint: Annotated[str, typer.Option("--fingerprint", help="chemdraw: rdkit | morgan2")] = "rdkit",
) -> None:
    """Score predictions against references: `vinci eval chartmimic --pred preds/ --ref refs/ --out scores.parquet`.

    Prints the benchmark's summary as JSON; a reference without a prediction counts as a failed sample."""
    from evaluation.files import Weights, score_files
    from evaluation.loaders import BenchmarkError
    from training.rewards.encoders import EncoderUnavailable

    try:
        summary = score_files(benchmark, pred, ref, out, Weights(clip=clip, lpips=lpips, fingerprint=fingerprint))
    except (BenchmarkError, ValueError, EncoderUnavailable) as exc:
        _fail(str(exc))
    typer.echo(json.dumps(summary, indent=2, default=str))


EvalRecipeOpt = Annotated[str, typer.Option("--recipe", "-r", help="recipe YAML, or a name under configs/evaluate")]


@app.command("evaluate")
def evaluate(
    recipe: EvalRecipeOpt = "demo",
    overrides: RecipeOverrides = None,
    data_root: DataRootOpt = None,
    local: LocalOpt = False,
    progress: ProgressOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Evaluate a model on a recipe's benchmarks: `vinci evaluate --recipe demo` (Table 3, report.md/.html).

    A finished evaluation is found again and printed; through Prefect unless --local."""
    from evaluation.loaders import BenchmarkError
    from evaluation.metrics.chartmimic_judge import EndpointError
    from training.recipes import parse_overrides
    from training.runs import TrainingError

    try:
        extra = parse_overrides(overrides)
        if local:
            from evaluation.stage import run_evaluation

            summary = {"stage": "evaluate", **run_evaluation(recipe, data_root, extra, progress)}
        else:
            from flows.evaluate import evaluate as evaluate_flow

            summary = evaluate_flow(config=recipe, data_root=data_root, overrides=extra, progress=progress)
    except (BenchmarkError, FileNotFoundError, TrainingError, EndpointError, ValueError) as exc:
        _fail(str(exc))
    if as_json:
        typer.echo(json.dumps(summary, indent=2, default=str))
        return
    print_evaluation(summary)


def print_evaluation(summary: dict) -> None:
    from evaluation.stage import table_text

    cached = " (already evaluated)" if summary.get("cached") else ""
    samples = ", ".join(f"{k} {v}" for k, v in summary.get("samples", {}).items())
    typer.secho(f"evaluate {summary.get('recipe')}: {summary.get('model')}{cached}", bold=True)
    typer.echo(f"  samples: {samples}")
    typer.echo(table_text(summary.get("table", [])))
    typer.echo(f"  report     {summary.get('report_html')}")
    typer.echo(f"  per sample {summary.get('per_sample')}")
