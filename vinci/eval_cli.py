"""`vinci eval`: score prediction files against reference files with a benchmark's metric (no model needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from vinci.cli import _fail, app


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
