"""`vinci` training commands: `sft`, `virl`, `merge`, `reward`, `tiny-model` and `export` (on `vinci.cli.app`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from vinci.cli import DataRootOpt, LocalOpt, ProgressOpt, _fail, _print_summary, app

RUNNERS = {
    "sft": ("training.sft", "run_sft"),
    "virl": ("training.virl", "run_virl"),
    "merge": ("training.merge", "run_merge"),
}
RecipeOverrides = Annotated[
    list[str] | None, typer.Option("--set", help="override a recipe field: trainer.max_steps=10 (repeatable)")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print the summary as JSON")]


def run_training(step: str, recipe: Any, data_root: str | None, overrides: dict[str, Any] | None = None) -> dict:
    """Run a training step's recipe in this process (no Prefect)."""
    import importlib

    module, name = RUNNERS[step]
    return {"stage": step, **getattr(importlib.import_module(module), name)(recipe, data_root, overrides)}


def print_training(summary: dict[str, Any]) -> None:
    cached = " (already trained)" if summary.get("cached") else ""
    step = summary.get("stage", "sft")
    typer.secho(f"{step} {summary.get('recipe')}: {summary.get('rows')} rows, {summary.get('steps')} steps{cached}")
    typer.echo(f"  checkpoint {summary.get('checkpoint')}")
    keys = ("base_model", "datasets", "rows_by_task", "train_loss", "tokens_per_second", "encoder")
    keys += ("reward_first", "reward_last", "exec_rate_first", "exec_rate_last", "curves")
    keys += ("peak_rss_gb", "peak_gpu_memory_gb")
    for key in keys:
        if summary.get(key) is not None and (step == "virl" or key != "base_model"):
            typer.echo(f"  {key:<19} {summary[key]}")
    check = summary.get("generation_check")
    if check:
        typer.echo(f"  reloaded and generated {check['generated_chars']} chars: {check['sample'][:60]!r}")


def _train_command(step: str, recipe: str, overrides: list[str] | None, data_root, local: bool, as_json: bool):
    from training.recipes import parse_overrides
    from training.runs import TrainingError
    from vinci.config import ConfigError

    try:
        extra = parse_overrides(overrides)
        if local:
            summary = run_training(step, recipe, data_root, extra)
        else:
            from flows.pipeline import FLOWS

            summary = FLOWS[step](config=recipe, data_root=data_root, overrides=extra)
    except (ConfigError, FileNotFoundError, TrainingError) as exc:
        _fail(str(exc))
    _print_summary(summary, as_json)


def _training_command(step: str, what: str, example: str) -> None:
    """Register `vinci <step>`: run a recipe of training/recipes/<step>/ (through Prefect unless --local)."""

    def command(
        recipe: str = "tiny-cpu",
        overrides: RecipeOverrides = None,
        data_root: DataRootOpt = None,
        local: LocalOpt = False,
        as_json: JsonOpt = False,
    ) -> None:
        _train_command(step, recipe, overrides, data_root, local, as_json)

    command.__doc__ = f"{what} from a recipe: `{example}`."
    # the help names the step's own recipe folder (a real annotation: this module's are strings)
    help_text = f"recipe YAML, or a name under training/recipes/{step}"
    command.__annotations__["recipe"] = Annotated[str, typer.Option("--recipe", "-r", help=help_text)]
    app.command(step)(command)


_training_command("sft", "Supervised fine-tuning", "vinci sft --recipe tiny-cpu --set trainer.max_steps=2")
_training_command("virl", "GRPO with the ViRL reward", "vinci virl --recipe tiny-cpu --set reward.encoder=ssim")


Patterns = Annotated[list[str] | None, typer.Option(help="LLM tensor names: globs or dotted words; a,b or repeated")]


@app.command()
def merge(
    recipe: Annotated[
        str | None, typer.Option("--recipe", "-r", help="recipe YAML, or a name under training/recipes/merge")
    ] = None,
    vlm: Annotated[str | None, typer.Option(help="the VLM: a folder, hub id, vinci:tiny or sft:latest")] = None,
    base: Annotated[str | None, typer.Option(help="the LLM the VLM's language model was built from")] = None,
    coder: Annotated[str | None, typer.Option(help="a coding LLM fine-tuned from that same base")] = None,
    scale: Annotated[float | None, typer.Option(help="λ in vlm + λ (coder - base)")] = None,
    out: Annotated[
        str | None, typer.Option("--out", help="output folder (default: <data_root>/merge/NAME-HASH)")
    ] = None,
    include: Patterns = None,
    exclude: Patterns = None,
    overrides: RecipeOverrides = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="check everything and count; write nothing")] = False,
    data_root: DataRootOpt = None,
    local: LocalOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Backbone merge (VisCodex): `vinci merge --vlm A --base B --coder C --scale 0.5 --out D`.

    Adds scale x (coder - base) to the VLM's language model; the vision tower and projector stay as they are.
    Flags override the recipe's fields; without --recipe they are the whole recipe."""
    from training.recipes import parse_overrides
    from training.runs import TrainingError
    from vinci.config import ConfigError

    flags = {"vlm": vlm, "base": base, "coder": coder, "scale": scale, "output_dir": out}
    flags.update({"include": include, "exclude": exclude})
    try:
        extra = {**parse_overrides(overrides), **{k: v for k, v in flags.items() if v is not None}}
        config: str | dict[str, Any] = recipe if recipe else {"name": "merge"}
        if dry_run or local:
            from training.merge import run_merge

            summary = {"stage": "merge", **run_merge(config, data_root, extra, dry_run=dry_run)}
        else:
            from flows.pipeline import FLOWS

            summary = FLOWS["merge"](config=config, data_root=data_root, overrides=extra)
    except (ConfigError, FileNotFoundError, TrainingError) as exc:
        _fail(str(exc))
    _print_summary(summary, as_json)


def print_merge(summary: dict[str, Any]) -> None:
    copied = ", ".join(f"{reason} {n}" for reason, n in summary.get("copied_by_reason", {}).items())
    name = summary.get("recipe")
    head = f"merge{'' if name == 'merge' else ' ' + str(name)}: {summary['tensors_merged']} tensors merged "
    head += f"({summary['parameters_merged']:,} parameters) at scale {summary['scale']}, "
    head += f"{summary['tensors_copied']} copied ({copied or 'none'})"
    if summary.get("dry_run"):
        head += " [dry run: nothing written]"
    elif summary.get("cached"):
        head += " (already merged)"
    typer.secho(head)
    typer.echo(f"  checkpoint {summary.get('checkpoint')}")
    for key in ("vlm", "base", "coder", "layout", "seconds", "peak_rss_gb"):
        if summary.get(key) is not None:
            typer.echo(f"  {key:<12} {summary[key]}")
    for field, patterns in summary.get("unmatched_patterns", {}).items():
        typer.secho(f"  warning: --{field} {','.join(patterns)} matched no language-model tensor", fg="yellow")


@app.command()
def reward(
    image: Annotated[Path, typer.Option("--image", help="the target image (PNG/JPEG)")],
    completion: Annotated[str, typer.Option("--completion", help="a file with the model's answer, or - for stdin")],
    instruction: Annotated[str | None, typer.Option("--instruction", help="the prompt (names the language)")] = None,
    language: Annotated[str | None, typer.Option(help="the language when the instruction names none")] = None,
    encoder: Annotated[
        str, typer.Option("--encoder", help="ssim | dinov2 | dinov2:PATH | clip:PATH (default facebook/dinov2-large)")
    ] = "dinov2",
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, help="render timeout in seconds")] = 30.0,
) -> None:
    """Score one answer with the ViRL reward; prints the reward and its parts as JSON."""
    import sys

    from training.rewards.encoders import EncoderUnavailable
    from training.rewards.scorer import RewardConfig, RewardScorer, Rollout

    if not image.is_file():
        _fail(f"no image at {image}")
    text = sys.stdin.read() if completion == "-" else _read_text(completion)
    config = RewardConfig(encoder=encoder, render_timeout_s=timeout)
    try:
        with RewardScorer(config) as scorer:
            result = scorer.score([Rollout(image.read_bytes(), text, instruction, language)])[0]
    except EncoderUnavailable as exc:
        _fail(str(exc))
    typer.echo(json.dumps(result.as_dict(), indent=2))


def _read_text(path: str) -> str:
    file = Path(path)
    if not file.is_file():
        _fail(f"no completion file at {path} (give a file, or - to read stdin)")
    return file.read_text(encoding="utf-8", errors="replace")


@app.command("tiny-model")
def tiny_model(
    out: Annotated[Path, typer.Argument(help="folder for the checkpoint")],
    seed: Annotated[int, typer.Option(help="weight initialisation seed")] = 0,
) -> None:
    """Build the offline tiny Qwen2-VL (model, tokenizer, chat template, processor) into OUT."""
    from training.tiny import TinySpec, build_tiny_vlm

    path = build_tiny_vlm(out, TinySpec(seed=seed))
    info = json.loads((path / "vinci_tiny.json").read_text())
    typer.echo(f"tiny {info['architecture']} with {info['parameters']:,} parameters in {path}")


@app.command()
def export(
    dataset: Annotated[str, typer.Argument(help="STAGE (its latest dataset), STAGE@VERSION or a version folder/URI")],
    out: Annotated[str, typer.Argument(help="folder for the export (local or s3://; ms-swift needs a local one)")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="trl | easyr1 | ms-swift")],
    split: Annotated[str | None, typer.Option(help="only rows of this split: train | validation | test")] = None,
    trl_style: Annotated[
        str, typer.Option("--trl-style", help="trl: prompt-completion (prompt + completion) or messages")
    ] = "prompt-completion",
    overwrite: Annotated[bool, typer.Option("--overwrite", help="replace an earlier export in OUT")] = False,
    data_root: DataRootOpt = None,
    progress: ProgressOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print export.json")] = False,
) -> None:
    """Export a dataset for a trainer: `vinci export --format trl render /tmp/sft` (see training/export.py)."""
    from storage.dataset import DatasetNotFound
    from training.export import ExportError, export_dataset

    try:
        summary = export_dataset(
            dataset,
            fmt,
            out,
            split=split,
            trl_style=trl_style,
            overwrite=overwrite,
            data_root=data_root,
            progress=progress,
        )
    except (ExportError, DatasetNotFound) as exc:
        _fail(str(exc))
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    src, counts = summary["source"], summary["counts"]
    typer.echo(f"{summary['format']}: {counts['rows']} rows from {src['stage']} {src['version']} into {summary['out']}")
    if summary["split"]:
        typer.echo(f"  split {summary['split']}: {counts['filtered_by_split']} rows of other splits left out")
    for reason, n in counts["skipped_by_reason"].items():
        typer.echo(f"  skipped {reason:<22} {n:>8}")
    files = summary["files"]
    typer.echo(f"  files: {', '.join(files[:3])}{' ...' if len(files) > 3 else ''} ({len(files)}) + export.json")
    if "images" in summary:
        typer.echo(f"  images: {summary['images']['written']} files under {summary['images']['folder']}/")
