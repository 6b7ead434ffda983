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
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from storage import filesystem as fsys
from storage.dataset import resolve_dataset
from training.models import ModelSpec, load_processor
from training.recipes import SFTRecipe, accelerate_config_path, fingerprint, load_recipe
from vinci.settings import data_root
from vinci.version import source_hash

log = logging.getLogger(__name__)

TINY_MODEL = "vinci:tiny"  # model path that means: the offline tiny Qwen2-VL (training/tiny.py), built on demand
DONE = "_done.json"
LATEST_RUN = "LATEST_RUN"  # <root>/sft/LATEST_RUN: the newest finished run's folder name
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


class SFTError(RuntimeError):
    pass


@dataclass
class SFTRun:
    recipe: SFTRecipe
    root: str
    output_dir: Path
    sources: list[dict[str, Any]] = field(default_factory=list)

    @property
    def done_file(self) -> Path:
        return self.output_dir / DONE

    def resolved(self) -> dict[str, Any]:
        """The recipe as it ran: output folder fixed, datasets pinned to the versions read."""
        data = self.recipe.model_dump(mode="json")
        data["output_dir"] = str(self.output_dir)
        data["data_root"] = self.root
        data["data"]["datasets"] = [f"{s['stage']}@{s['version']}" for s in self.sources]
        return data


def local_root(root: str) -> Path:
    if fsys.is_remote(root):
        raise SFTError(f"training writes checkpoints to a local folder; data root {root} is remote: set output_dir")
    return Path(root)


def resolve_model_path(path: str, root: str) -> str:
    """`vinci:tiny` builds (once) the offline tiny model under <root>/models/tiny-vlm; other paths pass through."""
    if path != TINY_MODEL:
        return path
    from training.tiny import build_tiny_vlm

    return str(build_tiny_vlm(local_root(root) / "models" / "tiny-vlm"))


def plan_sft(
    recipe: str | os.PathLike[str] | dict[str, Any] | SFTRecipe,
    root: str | None = None,
    overrides: dict[str, Any] | None = None,
    home: str = "sft",
) -> SFTRun:
    """Validate the recipe, pin its datasets to versions and choose the output folder (nothing is trained):
    `<root>/<home>/<name>-<hash of recipe and data>` unless the recipe sets `output_dir`."""
    cfg = load_recipe(recipe, SFTRecipe, overrides)
    root = data_root(root or cfg.data_root)
    sources = []
    for ref in cfg.data.datasets:
        version = resolve_dataset(ref, root)
        sources.append({"dataset": ref, "stage": version.stage, "version": version.version, "uri": version.uri})
    if cfg.output_dir:
        out = Path(cfg.output_dir)
    else:
        key = cfg.model_dump(mode="json", exclude={"output_dir", "data_root", "launcher", "check_generation"})
        key["data"]["datasets"] = [f"{s['stage']}@{s['version']}" for s in sources]
        key["code"] = source_hash(CODE_MODULES)
        for name in ("include_ids", "exclude_ids"):
            uri = getattr(cfg.data, name)
            if uri:
                key["data"][name] = fingerprint(fsys.read_bytes(uri).hex())
        out = local_root(root) / home / f"{cfg.name}-{fingerprint(key)}"
    return SFTRun(recipe=cfg, root=root, output_dir=out, sources=sources)


def run_sft(
    recipe: str | os.PathLike[str] | dict[str, Any] | SFTRecipe,
    root: str | None = None,
    overrides: dict[str, Any] | None = None,
    home: str = "sft",
) -> dict[str, Any]:
    """Train (or find finished) the recipe's checkpoint; returns the summary also saved as `_done.json`."""
    run = plan_sft(recipe, root, overrides, home)
    if run.done_file.exists():
        summary = json.loads(run.done_file.read_text())
        summary["cached"] = True
        return summary
    if run.recipe.launcher.subprocess:
        return launch(run)
    return train(run)


def launch(run: SFTRun) -> dict[str, Any]:
    """`accelerate launch` the resolved recipe in a subprocess and wait for it."""
    launcher = run.recipe.launcher
    run.output_dir.mkdir(parents=True, exist_ok=True)
    recipe_file = run.output_dir / "recipe.yaml"
    resolved = run.resolved()
    resolved["launcher"] = {"num_processes": 1}  # the launched processes train in-process
    recipe_file.write_text(yaml.safe_dump(resolved, sort_keys=False))
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(launcher.num_processes)]
    if launcher.accelerate_config:
        cmd += ["--config_file", str(accelerate_config_path(launcher.accelerate_config))]
    if launcher.main_process_port:
        cmd += ["--main_process_port", str(launcher.main_process_port)]
    cmd += ["-m", "training.sft", str(recipe_file)]
    log.info("launching: %s", " ".join(cmd))
    proc = subprocess.run(cmd, check=False)
    if proc.returncode != 0 or not run.done_file.exists():
        raise SFTError(f"accelerate launch exited with {proc.returncode}; see its log above ({' '.join(cmd)})")
    return json.loads(run.done_file.read_text())


def _peak_memory_gb() -> dict[str, float]:
    import torch

    out = {"peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3)}
    if torch.cuda.is_available():
        out["peak_gpu_memory_gb"] = round(torch.cuda.max_memory_allocated() / 2**30, 3)
    return out


def _freeze_vision(model) -> int:
    frozen = 0
    for name, param in model.named_parameters():
        if ".visual." in f".{name}" or name.startswith("visual."):
            param.requires_grad_(False)
            frozen += param.numel()
    return frozen


def train(run: SFTRun) -> dict[str, Any]:
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
    frozen = _freeze_vision(model) if recipe.freeze_vision else 0
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
        **_peak_memory_gb(),
    }
    (run.output_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    resolved = run.resolved()
    resolved["versions"] = _library_versions()
    (run.output_dir / "recipe.yaml").write_text(yaml.safe_dump(resolved, sort_keys=False))

    summary: dict[str, Any] = {
        "recipe": recipe.name,
        "checkpoint": str(run.output_dir),
        "base_model": recipe.model.path,
        "datasets": resolved["data"]["datasets"],
        "rows_by_task": _count(dataset["task"]),
        "rows_by_domain": _count(dataset["domain"]),
        **metrics,
    }
    if recipe.check_generation:
        summary["generation_check"] = check_generation(run.output_dir, dataset[0], spec)
    run.done_file.write_text(json.dumps(summary, indent=2) + "\n")
    if run.output_dir.parent == local_root(run.root) / "sft":  # not LATEST: that names a dataset version
        (run.output_dir.parent / LATEST_RUN).write_text(run.output_dir.name + "\n")
    trainer.accelerator.wait_for_everyone()
    return summary


def _count(values: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return dict(sorted(out.items()))


def _library_versions() -> dict[str, str]:
    import torch
    import transformers
    import trl

    return {"torch": str(torch.__version__), "transformers": transformers.__version__, "trl": trl.__version__}


def check_generation(checkpoint: Path, example: dict[str, Any], spec: ModelSpec) -> dict[str, Any]:
    """Load the saved checkpoint back from disk and generate an answer for one training example."""
    from training.generate import TransformersGenerator

    generator = TransformersGenerator(spec.model_copy(update={"path": str(checkpoint), "lora": None}))
    text = generator.generate([example["image"]], [example["prompt"][0]["content"]], max_new_tokens=32)[0]
    return {"loaded_from": str(checkpoint), "generated_chars": len(text), "sample": text[:200]}


def latest_checkpoint(root: str | None = None) -> Path:
    """The newest finished SFT checkpoint under <root>/sft (its LATEST_RUN pointer)."""
    base = local_root(data_root(root)) / "sft"
    pointer = base / LATEST_RUN
    if not pointer.exists():
        raise SFTError(f"no finished SFT run under {base}; run `vinci sft` first")
    return base / pointer.read_text().strip()


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - entry point of `accelerate launch`
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        raise SystemExit("usage: python -m training.sft RESOLVED_RECIPE.yaml")
    logging.basicConfig(level=logging.INFO)
    run = plan_sft(argv[0])
    if not run.done_file.exists():
        train(run)


if __name__ == "__main__":  # pragma: no cover
    main()
