"""What every training step (SFT, ViRL) shares: planning a run folder, model references, launching, finishing.

A run's folder `<root>/<home>/<name>-<hash>` is keyed on the recipe (minus where it writes and how it launches),
the dataset versions it reads, the base model it starts from and the source of the modules that decide what it
trains on, so a changed recipe, new data, a new base checkpoint or changed code trains anew while a finished run
is found again. `_done.json` is written last; the `LATEST_RUN` file in `<root>/<home>` names the newest finished
run.

Model references besides paths and hub ids:

    vinci:tiny        the offline tiny Qwen2-VL (training/tiny.py), built once under <root>/models/tiny-vlm
    vinci:tiny-lm     its language model as a Qwen2 causal LM (the backbone merge's base), <root>/models/tiny-lm
    vinci:tiny-coder  that LM with seeded noise added (a stand-in for a code fine-tune), <root>/models/tiny-coder
    sft:latest        the newest finished SFT checkpoint under <root>/sft (ViRL starts from it)
    virl:latest       the newest finished ViRL checkpoint under <root>/virl (evaluation's default model)
    merge:latest      the newest finished backbone merge under <root>/merge (training/merge)
"""

from __future__ import annotations

import json
import logging
import os
import resource
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from storage import filesystem as fsys
from storage.dataset import resolve_dataset
from training.recipes import TrainingRecipe, accelerate_config_path, fingerprint, load_recipe
from vinci.settings import data_root
from vinci.version import source_hash

log = logging.getLogger(__name__)

TINY_MODEL = "vinci:tiny"
TINY_LM = "vinci:tiny-lm"
TINY_CODER = "vinci:tiny-coder"
SFT_LATEST = "sft:latest"
VIRL_LATEST = "virl:latest"
MERGE_LATEST = "merge:latest"
LATEST_REFS = {SFT_LATEST: "sft", VIRL_LATEST: "virl", MERGE_LATEST: "merge"}  # reference -> the run home it names
DONE = "_done.json"
LATEST_RUN = "LATEST_RUN"
R = TypeVar("R", bound=TrainingRecipe)


class TrainingError(RuntimeError):
    pass


@dataclass
class TrainingRun:
    recipe: TrainingRecipe
    root: str
    output_dir: Path
    home: str
    sources: list[dict[str, Any]] = field(default_factory=list)
    base_model: str = ""  # the model reference resolved (sft:latest -> its folder); vinci:tiny stays symbolic

    @property
    def done_file(self) -> Path:
        return self.output_dir / DONE

    def resolved(self) -> dict[str, Any]:
        """The recipe as it ran: output folder fixed, datasets pinned to the versions read, base model resolved."""
        data = self.recipe.model_dump(mode="json")
        data["output_dir"] = str(self.output_dir)
        data["data_root"] = self.root
        data["data"]["datasets"] = [f"{s['stage']}@{s['version']}" for s in self.sources]
        data["model"]["path"] = self.base_model or data["model"]["path"]
        return data


def local_root(root: str) -> Path:
    if fsys.is_remote(root):
        raise TrainingError(f"training writes checkpoints locally; data root {root} is remote: set output_dir")
    return Path(root)


def latest_checkpoint(root: str | None = None, home: str = "sft") -> Path:
    """The newest finished run under <root>/<home> (its LATEST_RUN pointer)."""
    base = local_root(data_root(root)) / home
    pointer = base / LATEST_RUN
    if not pointer.exists():
        raise TrainingError(f"no finished {home} run under {base}; run `vinci {home}` first")
    return base / pointer.read_text().strip()


def reference_model(path: str, root: str) -> str:
    """A model reference with `sft:latest` / `virl:latest` replaced by the checkpoint folder it names (nothing is
    built)."""
    return str(latest_checkpoint(root, LATEST_REFS[path])) if path in LATEST_REFS else path


def resolve_model_path(path: str, root: str) -> str:
    """A loadable path: the `vinci:tiny*` models are built (once) under <root>/models, `*:latest` is looked up."""
    if path in (TINY_MODEL, TINY_LM, TINY_CODER):
        from training.tiny import build_tiny_coder, build_tiny_lm, build_tiny_vlm

        models = local_root(root) / "models"
        vlm = build_tiny_vlm(models / "tiny-vlm")
        if path == TINY_MODEL:
            return str(vlm)
        base = build_tiny_lm(models / "tiny-lm", vlm)
        return str(base if path == TINY_LM else build_tiny_coder(models / "tiny-coder", base))
    return reference_model(path, root)


def plan_run(
    recipe: str | os.PathLike[str] | dict[str, Any] | R,
    model: type[R],
    *,
    kind: str,
    home: str,
    code_modules: tuple[str, ...],
    root: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> TrainingRun:
    """Validate the recipe, pin its datasets and base model, and choose the output folder (nothing is trained)."""
    cfg = load_recipe(recipe, model, overrides, kind)
    root = data_root(root or cfg.data_root)
    sources = []
    for ref in cfg.data.datasets:
        version = resolve_dataset(ref, root)
        sources.append({"dataset": ref, "stage": version.stage, "version": version.version, "uri": version.uri})
    base_model = reference_model(cfg.model.path, root)
    if cfg.output_dir:
        out = Path(cfg.output_dir)
    else:
        key = cfg.model_dump(mode="json", exclude=cfg.unkeyed_fields())
        key["data"]["datasets"] = [f"{s['stage']}@{s['version']}" for s in sources]
        key["model"]["path"] = base_model
        key["code"] = source_hash(code_modules)
        for name in ("include_ids", "exclude_ids"):
            uri = getattr(cfg.data, name)
            if uri:
                key["data"][name] = fingerprint(fsys.read_bytes(uri).hex())
        out = local_root(root) / home / f"{cfg.name}-{fingerprint(key)}"
    return TrainingRun(recipe=cfg, root=root, output_dir=out, home=home, sources=sources, base_model=base_model)


def launch(run: TrainingRun, module: str) -> dict[str, Any]:
    """`accelerate launch -m <module> <resolved recipe>` in a subprocess, and wait for it."""
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
    cmd += ["-m", module, str(recipe_file)]
    log.info("launching: %s", " ".join(cmd))
    proc = subprocess.run(cmd, check=False)
    if proc.returncode != 0 or not run.done_file.exists():
        raise TrainingError(f"accelerate launch exited with {proc.returncode}; see its log above ({' '.join(cmd)})")
    return json.loads(run.done_file.read_text())


def execute(run: TrainingRun, module: str, train: Callable[[TrainingRun], dict[str, Any]]) -> dict[str, Any]:
    """A finished run's summary, else train: in this process, or through `accelerate launch -m <module>`."""
    summary = finished(run)
    if summary is not None:
        return summary
    if run.recipe.launcher.subprocess:
        return launch(run, module)
    return train(run)


def launched_main(module: str, plan: Callable[[str], TrainingRun], train: Callable[[TrainingRun], Any]) -> None:
    """What `python -m <module> RESOLVED_RECIPE.yaml` does in each process `accelerate launch` started."""
    argv = sys.argv[1:]
    if len(argv) != 1:
        raise SystemExit(f"usage: python -m {module} RESOLVED_RECIPE.yaml")
    logging.basicConfig(level=logging.INFO)
    run = plan(argv[0])
    if not run.done_file.exists():
        train(run)


def finished(run: TrainingRun) -> dict[str, Any] | None:
    """The summary of a finished run (marked cached), or None."""
    if not run.done_file.exists():
        return None
    summary = json.loads(run.done_file.read_text())
    summary["cached"] = True
    return summary


def finish(run: TrainingRun, summary: dict[str, Any]) -> None:
    """Write `_done.json` last, then point `LATEST_RUN` at this run when it lives in its home folder."""
    run.done_file.write_text(json.dumps(summary, indent=2) + "\n")
    if run.output_dir.parent == local_root(run.root) / run.home:
        (run.output_dir.parent / LATEST_RUN).write_text(run.output_dir.name + "\n")


def peak_memory_gb() -> dict[str, float]:
    import torch

    out = {"peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3)}
    if torch.cuda.is_available():
        out["peak_gpu_memory_gb"] = round(torch.cuda.max_memory_allocated() / 2**30, 3)
    return out


def freeze_vision(model) -> int:
    """Stop gradients to the vision tower; returns the number of frozen parameters."""
    frozen = 0
    for name, param in model.named_parameters():
        if ".visual." in f".{name}" or name.startswith("visual."):
            param.requires_grad_(False)
            frozen += param.numel()
    return frozen


def library_versions() -> dict[str, str]:
    import torch
    import transformers
    import trl

    return {"torch": str(torch.__version__), "transformers": transformers.__version__, "trl": trl.__version__}


def count(values: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return dict(sorted(out.items()))


def write_resolved(run: TrainingRun) -> dict[str, Any]:
    resolved = run.resolved()
    resolved["versions"] = library_versions()
    (run.output_dir / "recipe.yaml").write_text(yaml.safe_dump(resolved, sort_keys=False))
    return resolved
