"""The ViRL stage: GRPO (TRL's GRPOTrainer) on image + instruction rows, rewarded by rendering each rollout.

    vinci virl --recipe tiny-cpu          # training/recipes/virl/tiny-cpu.yaml, from the latest SFT checkpoint

Each step samples `num_generations` answers per prompt, renders them in the sandbox pools and scores them with the
coarse-to-fine visual reward and the alignment reward (training/rewards, 0.9 / 0.1), then takes a clipped policy
step. The RL rows are, by default, the direct rows the base checkpoint did not train on (its
`train_ids.parquet`). A finished run leaves beside the checkpoint: `recipe.yaml`, `rl_ids.parquet`,
`rollouts.jsonl` (every rollout's reward parts and diagnostics), `curves.json` and `curves.png` (reward, its parts
and the execution rate per step), `metrics.json` and `_done.json`.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from pydantic import Field

from training.models import load_processor
from training.recipes import TrainingRecipe
from training.rewards.scorer import RewardConfig
from training.runs import (
    TrainingError,
    TrainingRun,
    count,
    execute,
    finish,
    freeze_vision,
    launched_main,
    peak_memory_gb,
    plan_run,
    resolve_model_path,
    write_resolved,
)

log = logging.getLogger(__name__)

CODE_MODULES = (
    "training.virl",
    "training.virl_data",
    "training.curves",
    "training.rewards.alignment",
    "training.rewards.tiling",
    "training.rewards.visual",
    "training.rewards.scorer",
    "training.rewards.functions",
    "training.prompts",
    "training.models",
)
TRAINER_DEFAULTS: dict[str, Any] = {
    "report_to": "none",
    "logging_steps": 1,
    "save_strategy": "steps",
    "save_steps": 200,
    "save_total_limit": 2,
    "num_train_epochs": 1,
    "log_completions": False,
}


class ViRLRecipe(TrainingRecipe):
    """GRPO with the ViRL reward from a (usually SFT) checkpoint."""

    reward: RewardConfig = Field(default_factory=RewardConfig)
    max_prompt_tokens: int | None = Field(6144, gt=0, description="drop rows whose instruction is longer (tokens)")
    exclude_base_rows: bool = Field(True, description="skip rows the base checkpoint trained on (train_ids.parquet)")

    def unkeyed_fields(self) -> dict[str, Any]:  # where and how fast the reward runs does not change its values
        # (`render` options stay in the key: they change the images that are scored)
        where = {"worker", "worker_device", "device", "batch_size", "engine", "grace_s"}
        return {**super().unkeyed_fields(), "reward": where}


def plan_virl(
    recipe: str | os.PathLike[str] | dict[str, Any] | ViRLRecipe,
    root: str | None = None,
    overrides: dict[str, Any] | None = None,
    home: str = "virl",
) -> TrainingRun:
    return plan_run(
        recipe, ViRLRecipe, kind="virl", home=home, code_modules=CODE_MODULES, root=root, overrides=overrides
    )


def run_virl(
    recipe: str | os.PathLike[str] | dict[str, Any] | ViRLRecipe,
    root: str | None = None,
    overrides: dict[str, Any] | None = None,
    home: str = "virl",
) -> dict[str, Any]:
    """Train (or find finished) the recipe's GRPO run; returns the summary also saved as `_done.json`."""
    return execute(plan_virl(recipe, root, overrides, home), "training.virl", train)


def grpo_config(run: TrainingRun):
    from trl import GRPOConfig

    recipe: ViRLRecipe = run.recipe
    trainer = {**TRAINER_DEFAULTS, **recipe.trainer}
    return GRPOConfig(output_dir=str(run.output_dir / "checkpoints"), **trainer)


def train(run: TrainingRun) -> dict[str, Any]:
    """GRPO in this process (or in each process `accelerate launch` started)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from transformers import AutoModelForImageTextToText
    from transformers.trainer_utils import get_last_checkpoint
    from trl import GRPOTrainer

    from training.curves import CurvesCallback
    from training.rewards.functions import RolloutLog, grpo_reward_functions
    from training.rewards.worker import make_scorer
    from training.virl_data import load_rl_dataset

    recipe: ViRLRecipe = run.recipe
    model_path = resolve_model_path(recipe.model.path, run.root)
    spec = recipe.model.model_copy(update={"path": model_path})
    processor = load_processor(model_path, spec)
    data = load_rl_dataset(recipe, run.root, model_path, processor)
    dataset = data.dataset
    args = grpo_config(run)
    scorer = make_scorer(recipe.reward)  # first: a missing encoder is refused before the policy is loaded
    try:
        run.output_dir.mkdir(parents=True, exist_ok=True)
        model = AutoModelForImageTextToText.from_pretrained(model_path, **spec.model_kwargs())
        frozen = freeze_vision(model) if recipe.freeze_vision else 0
        curves = CurvesCallback(run.output_dir)
        funcs, weights = grpo_reward_functions(scorer, RolloutLog(run.output_dir / "rollouts.jsonl"))
        args.reward_weights = weights
        trainer = GRPOTrainer(
            model=model,
            reward_funcs=funcs,
            args=args,
            train_dataset=dataset,
            processing_class=processor,
            callbacks=[curves],
            peft_config=spec.lora.peft_config() if spec.lora else None,
        )
        checkpoints = Path(args.output_dir)
        last = get_last_checkpoint(str(checkpoints)) if checkpoints.is_dir() else None
        if last:
            log.info("resuming from %s", last)
        started = time.time()
        result = trainer.train(resume_from_checkpoint=last)
        seconds = time.time() - started
    finally:
        scorer.close()

    if not trainer.accelerator.is_main_process:
        trainer.accelerator.wait_for_everyone()
        return {}
    final = trainer.model.merge_and_unload() if spec.lora is not None else trainer.model
    final.save_pretrained(run.output_dir)
    processor.save_pretrained(run.output_dir)
    pq.write_table(
        pa.table({"id": dataset["id"], "domain": dataset["domain"], "task": dataset["task"]}),
        run.output_dir / "rl_ids.parquet",
    )
    curve_summary = curves.finish()
    metrics = {
        "rows": len(dataset),
        "base_trained_rows": data.base_trained_rows,
        "dropped_long_prompts": data.dropped_long_prompts,
        "steps": int(trainer.state.global_step),
        "train_loss": float(result.training_loss),
        "seconds": round(seconds, 3),
        "encoder": scorer.encoder_name,
        "processes": trainer.accelerator.num_processes,
        "frozen_vision_parameters": frozen,
        "resumed_from": last,
        **curve_summary,
        **peak_memory_gb(),
    }
    (run.output_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    resolved = write_resolved(run)
    summary = {
        "recipe": recipe.name,
        "checkpoint": str(run.output_dir),
        "base_model": resolved["model"]["path"],
        "datasets": resolved["data"]["datasets"],
        "rows_by_domain": count(dataset["domain"]),
        "curves": str(run.output_dir / "curves.png"),
        **metrics,
    }
    finish(run, summary)
    trainer.accelerator.wait_for_everyone()
    return summary


if __name__ == "__main__":  # pragma: no cover - entry point of `accelerate launch`
    launched_main("training.virl", plan_virl, train)


__all__ = ["TrainingError", "ViRLRecipe", "plan_virl", "run_virl"]
