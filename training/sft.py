"""The SFT stage: TRL's SFTTrainer on direct + refine rows, from a recipe, to a checkpoint folder.

`run_sft(recipe)` plans the run (datasets pinned to versions, output folder keyed on recipe + data), then trains
in this process, or launches `accelerate launch -m training.sft <resolved recipe>` when the recipe's launcher
asks for several processes (DDP, DeepSpeed ZeRO-3, FSDP). A finished run leaves, in its output folder: the model
and processor (a normal `from_pretrained` folder), `recipe.yaml` (the resolved recipe), `train_ids.parquet` (the
rows it trained on, for the drafts stage's overlap check), `metrics.json` (loss, tokens/s, peak memory) and
`_done.json`, written last. A re-run of a finished recipe returns at once; an interrupted one resumes from its
last Trainer checkpoint.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from training.models import ModelSpec, load_processor
from training.recipes import SFTRecipe
from training.runs import (
    DONE,
    LATEST_RUN,
    TINY_MODEL,
    TrainingError,
    TrainingRun,
    count,
    execute,
    finish,
    freeze_vision,
    latest_checkpoint,
    launched_main,
    local_root,
    peak_memory_gb,
    plan_run,
    resolve_model_path,
    write_resolved,
)

log = logging.getLogger(__name__)

__all__ = ["DONE", "LATEST_RUN", "TINY_MODEL", "SFTError", "latest_checkpoint", "local_root", "plan_sft", "run_sft"]

# source that decides what a run trains on and how (part of the run folder's key, like a stage's code version)
CODE_MODULES = ("training.sft", "training.sft_data", "training.conversation", "training.prompts", "training.models")
TRAINER_DEFAULTS: dict[str, Any] = {
    "report_to": "none",
    "logging_steps": 1,
    "save_strategy": "steps",
    "save_steps": 500,
    "save_total_limit": 2,
    "include_num_input_tokens_seen": "non_padding",
    "num_train_epochs": 1,
}

SFTError = TrainingError
SFTRun = TrainingRun


def plan_sft(
    recipe: str | os.PathLike[str] | dict[str, Any] | SFTRecipe,
    root: str | None = None,
    overrides: dict[str, Any] | None = None,
    home: str = "sft",
) -> TrainingRun:
    """Validate the recipe, pin its datasets to versions and choose the output folder (nothing is trained):
    `<root>/<home>/<name>-<hash of recipe, data and code>` unless the recipe sets `output_dir`."""
    return plan_run(recipe, SFTRecipe, kind="sft", home=home, code_modules=CODE_MODULES, root=root, overrides=overrides)


def run_sft(
    recipe: str | os.PathLike[str] | dict[str, Any] | SFTRecipe,
    root: str | None = None,
    overrides: dict[str, Any] | None = None,
    home: str = "sft",
) -> dict[str, Any]:
    """Train (or find finished) the recipe's checkpoint; returns the summary also saved as `_done.json`."""
    return execute(plan_sft(recipe, root, overrides, home), "training.sft", train)


def train(run: TrainingRun) -> dict[str, Any]:
    """Train in this process (or in each process `accelerate launch` started)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from transformers import AutoModelForImageTextToText
    from transformers.trainer_utils import get_last_checkpoint
    from trl import SFTConfig, SFTTrainer

    from training.sft_data import load_sft_dataset

    recipe = run.recipe
    model_path = resolve_model_path(recipe.model.path, run.root)
    spec = recipe.model.model_copy(update={"path": model_path})
    data = load_sft_dataset(recipe.data, run.root)
    dataset = data.dataset
    checkpoints = run.output_dir / "checkpoints"
    args = SFTConfig(output_dir=str(checkpoints), **{**TRAINER_DEFAULTS, **recipe.trainer})

    model = AutoModelForImageTextToText.from_pretrained(model_path, **spec.model_kwargs())
    processor = load_processor(model_path, spec)
    frozen = freeze_vision(model) if recipe.freeze_vision else 0
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=processor,
        peft_config=spec.lora.peft_config() if spec.lora else None,
    )
    last = get_last_checkpoint(str(checkpoints)) if checkpoints.is_dir() else None
    if last:
        log.info("resuming from %s", last)
    started = time.time()
    result = trainer.train(resume_from_checkpoint=last)
    seconds = time.time() - started

    if not trainer.accelerator.is_main_process:
        trainer.accelerator.wait_for_everyone()
        return {}
    final = trainer.model
    if spec.lora is not None:
        final = final.merge_and_unload()
    final.save_pretrained(run.output_dir)
    processor.save_pretrained(run.output_dir)

    ids = pa.table({"id": dataset["id"], "domain": dataset["domain"], "task": dataset["task"]})
    pq.write_table(ids, run.output_dir / "train_ids.parquet")
    tokens = int(trainer.state.num_input_tokens_seen or 0)
    metrics = {
        "rows": len(dataset),
        "steps": int(trainer.state.global_step),
        "train_loss": float(result.training_loss),
        "seconds": round(seconds, 3),
        "tokens_seen": tokens,
        "tokens_per_second": round(tokens / seconds, 2) if seconds > 0 else None,
        "samples_per_second": result.metrics.get("train_samples_per_second"),
        "processes": trainer.accelerator.num_processes,
        "frozen_vision_parameters": frozen,
        "resumed_from": last,
        **peak_memory_gb(),
    }
    (run.output_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    resolved = write_resolved(run)

    summary: dict[str, Any] = {
        "recipe": recipe.name,
        "checkpoint": str(run.output_dir),
        "base_model": recipe.model.path,
        "datasets": resolved["data"]["datasets"],
        "rows_by_task": count(dataset["task"]),
        "rows_by_domain": count(dataset["domain"]),
        **metrics,
    }
    if recipe.check_generation:
        summary["generation_check"] = check_generation(run.output_dir, dataset[0], spec)
    finish(run, summary)
    trainer.accelerator.wait_for_everyone()
    return summary


def check_generation(checkpoint: Path, example: dict[str, Any], spec: ModelSpec) -> dict[str, Any]:
    """Load the saved checkpoint back from disk and generate an answer for one training example."""
    from training.generate import TransformersGenerator

    generator = TransformersGenerator(spec.model_copy(update={"path": str(checkpoint), "lora": None}))
    text = generator.generate([example["image"]], [example["prompt"][0]["content"]], max_new_tokens=32)[0]
    return {"loaded_from": str(checkpoint), "generated_chars": len(text), "sample": text[:200]}


if __name__ == "__main__":  # pragma: no cover - entry point of `accelerate launch`
    launched_main("training.sft", plan_sft, train)
