"""A merge run: resolve the three checkpoints, check them, write the merged checkpoint atomically, record it.

`run_merge(recipe)` writes `<data_root>/merge/<name>-<hash>/` (or the recipe's `output_dir`): the VLM's files
with merged weights in the VLM's own sharding, `merge.yaml` (the recipe as run, the inputs' sizes and header
hashes, the layout, per-role and per-module counts, the outputs' content hashes, library versions, peak memory),
`recipe.yaml` (the lineage: the VLM as the model it starts from, base and coder as sources, so held-out rows and
asset lineage see through the merge) and `_done.json`. Everything is written into a hidden `.<name>.partial-<pid>`
folder beside the target and renamed into place at the end, so a killed merge leaves no half checkpoint; the
folder name hashes the recipe, the inputs' fingerprints and this code, so a finished merge is found again.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import re
import resource
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from storage import filesystem as fsys
from training.merge.layout import Layout, detect_layout
from training.merge.recipe import MergeError, MergeRecipe
from training.merge.shards import Checkpoint, copy_model_files
from training.merge.task_vector import (
    TensorPlan,
    check_architectures,
    counts,
    plan_tensors,
    unmatched_patterns,
    unused_base_tensors,
    write_weights,
)
from training.recipes import fingerprint, load_recipe
from training.runs import DONE, LATEST_RUN, local_root, resolve_model_path
from vinci.settings import data_root
from vinci.version import source_hash

HOME = "merge"
CODE_MODULES = ("training.merge.layout", "training.merge.recipe", "training.merge.shards", "training.merge.task_vector")
INPUTS = ("vlm", "base", "coder")
HUB_FILES = ["*.json", "*.safetensors", "*.jinja", "*.txt", "*.model", "*.tiktoken", "*.py", "LICENSE*"]
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass
class MergePlan:
    recipe: MergeRecipe
    root: str
    output_dir: Path
    checkpoints: dict[str, Checkpoint]
    layout: Layout
    tensors: list[TensorPlan]
    key: str

    @property
    def done_file(self) -> Path:
        return self.output_dir / DONE


def resolve_checkpoint(ref: str, root: str, label: str) -> Path:
    """A local folder for a model reference: a path, vinci:tiny / vinci:tiny-lm / vinci:tiny-coder, sft:latest,
    merge:latest, or a hub id (from the Hugging Face cache, else downloaded: weights and model files only)."""
    path = Path(resolve_model_path(ref, root)).expanduser()
    if path.is_dir():
        return path
    if not _HUB_ID.match(ref) or ref.startswith((".", "/", "~")):
        raise MergeError(f"{label} {ref}: no such checkpoint folder")
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(ref, allow_patterns=HUB_FILES, local_files_only=True))
    except Exception:  # noqa: BLE001 - not in the cache: try the hub
        pass
    try:
        return Path(snapshot_download(ref, allow_patterns=HUB_FILES))
    except Exception as exc:  # noqa: BLE001 - any failure means the model is not here
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise MergeError(
            f"{label} {ref} is not a local folder and could not be fetched from the Hugging Face hub ({reason}); "
            f"download it where the hub is reachable (`hf download {ref} --local-dir DIR`) and give DIR"
        ) from None


def plan_merge(
    recipe: str | os.PathLike[str] | dict[str, Any] | MergeRecipe,
    root: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> MergePlan:
    """Validate the recipe, open the three checkpoints' headers, check them and decide every tensor's role, and
    choose the output folder (nothing is written)."""
    cfg = load_recipe(recipe, MergeRecipe, overrides, "merge")
    root = data_root(root or cfg.data_root)
    checkpoints = {name: Checkpoint(resolve_checkpoint(getattr(cfg, name), root, name), name) for name in INPUTS}
    vlm, base, coder = (checkpoints[name] for name in INPUTS)
    check_architectures(vlm, base, coder)
    layout = cfg.layout or detect_layout(vlm.model_type, vlm.tensors, base.tensors)
    if layout is None:
        raise MergeError(
            f"cannot tell which tensors of the VLM {vlm.path} (model_type {vlm.model_type}) are its language model: "
            f"no known layout maps them onto the base's names; give `layout:` in the recipe"
        )
    tensors = plan_tensors(cfg, layout, vlm, base, coder)
    keyed = cfg.model_dump(mode="json", exclude=cfg.unkeyed_fields())
    keyed.update({name: str(checkpoints[name].path) for name in INPUTS})
    keyed["layout"] = layout.model_dump()
    keyed["inputs"] = {name: checkpoints[name].fingerprint() for name in INPUTS}
    keyed["code"] = source_hash(CODE_MODULES)
    key = fingerprint(keyed)
    out = Path(cfg.output_dir) if cfg.output_dir else local_root(root) / HOME / f"{cfg.name}-{key}"
    return MergePlan(cfg, root, out, checkpoints, layout, tensors, key)


def run_merge(
    recipe: str | os.PathLike[str] | dict[str, Any] | MergeRecipe,
    root: str | None = None,
    overrides: dict[str, Any] | None = None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Merge (or find finished) the recipe's checkpoint; returns the summary also saved as `_done.json`.
    `dry_run` checks everything and returns the plan's counts without writing."""
    plan = plan_merge(recipe, root, overrides)
    out = plan.output_dir
    if plan.done_file.is_file():
        summary = json.loads(plan.done_file.read_text())
        if summary.get("key") != plan.key:
            raise MergeError(f"{out} holds another merge (other inputs or recipe): remove it or choose another output")
        return {**summary, "cached": True}
    if out.exists():
        raise MergeError(f"{out} exists and is not a finished merge: remove it or choose another output folder")
    if dry_run:
        return {**_summary(plan), "dry_run": True}
    started = time.time()
    partial = out.parent / f".{out.name}.partial-{os.getpid()}"
    _sweep_partials(out)
    try:
        partial.mkdir(parents=True)
        vlm, base, coder = (plan.checkpoints[name] for name in INPUTS)
        written = write_weights(
            plan.tensors, vlm, base, coder, partial, plan.recipe.scale, int(plan.recipe.chunk_mb * 2**20)
        )
        copied = copy_model_files(vlm.path, partial)
        summary = {**_summary(plan), "seconds": round(time.time() - started, 3), **peak_rss()}
        record = _record(plan, written, copied, summary)
        (partial / "merge.yaml").write_text(yaml.safe_dump(record, sort_keys=False))
        (partial / "recipe.yaml").write_text(yaml.safe_dump(_lineage(plan), sort_keys=False))
        (partial / DONE).write_text(json.dumps(summary, indent=2) + "\n")
        os.rename(partial, out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if not plan.recipe.output_dir or (not fsys.is_remote(plan.root) and out.parent == local_root(plan.root) / HOME):
        (out.parent / LATEST_RUN).write_text(out.name + "\n")
    return {**summary, "cached": False}


def _summary(plan: MergePlan) -> dict[str, Any]:
    roles = counts(plan.tensors)["by_role"]
    summary = {
        "recipe": plan.recipe.name,
        "checkpoint": str(plan.output_dir),
        **{name: str(plan.checkpoints[name].path) for name in INPUTS},
        "scale": plan.recipe.scale,
        "layout": plan.layout.describe(),
        "tensors_merged": roles["merge"]["tensors"],
        "parameters_merged": roles["merge"]["parameters"],
        "tensors_copied": sum(roles[r]["tensors"] for r in roles if r != "merge"),
        "copied_by_reason": {r: roles[r]["tensors"] for r in roles if r != "merge" and roles[r]["tensors"]},
        "key": plan.key,
    }
    unmatched = {k: v for k, v in unmatched_patterns(plan.recipe, plan.tensors).items() if v}
    if unmatched:  # a typo, or a head tied to the embeddings: worth a look, not a refusal
        summary["unmatched_patterns"] = unmatched
    return summary


def _record(plan: MergePlan, written: dict, copied: list[str], summary: dict[str, Any]) -> dict[str, Any]:
    """merge.yaml: what was merged, from what, how, and what came out."""
    tally = counts(plan.tensors)
    unused = unused_base_tensors(plan.tensors, plan.checkpoints["base"])
    return {
        "merge": "task vector (VisCodex, arXiv 2508.09945)",
        "formula": "vlm + scale * (coder - base) on merged tensors, in float32, cast to the VLM tensor's dtype; "
        "every other tensor copied byte for byte",
        "recipe": plan.recipe.model_dump(mode="json"),
        "inputs": {
            name: {
                "ref": getattr(plan.recipe, name),
                "path": str(ck.path),
                "model_type": ck.model_type,
                "tensors": len(ck.tensors),
                **ck.fingerprint(),
            }
            for name, ck in plan.checkpoints.items()
        },
        "layout": plan.layout.model_dump(),
        "counts": tally["by_role"],
        "merged_modules": tally["merged_modules"],
        "unmatched_patterns": unmatched_patterns(plan.recipe, plan.tensors),
        "unused_base_tensors": {"count": len(unused), "first": unused[:10]},
        "outputs": {"weights": written, "copied_files": copied},
        "versions": library_versions(),
        "code": source_hash(CODE_MODULES),
        "key": plan.key,
        "seconds": summary["seconds"],
        "peak_rss_gb": summary["peak_rss_gb"],
    }


def _lineage(plan: MergePlan) -> dict[str, Any]:
    ck = plan.checkpoints
    return {
        "name": plan.recipe.name,
        "kind": "merge",
        "model": {"path": str(ck["vlm"].path)},
        "sources": {name: {"path": str(ck[name].path)} for name in ("base", "coder")},
        "scale": plan.recipe.scale,
        "record": "merge.yaml",
    }


def _sweep_partials(out: Path) -> None:
    """Remove what killed merges into the same folder left behind (their process is gone)."""
    for partial in out.parent.glob(f".{out.name}.partial-*"):
        pid = partial.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(partial, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def peak_rss() -> dict[str, float]:
    """This process's peak resident memory so far (the whole process's, not only the merge's): Linux's VmHWM,
    which starts afresh at exec, unlike ru_maxrss, which keeps the parent's peak from before the exec."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                kib = int(line.split()[1])
    return {"peak_rss_gb": round(kib / 2**20, 3)}


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in ("torch", "safetensors", "transformers"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions
