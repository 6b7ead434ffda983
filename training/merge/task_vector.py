"""The task-vector merge itself: decide what happens to each VLM tensor, refuse mismatches, write the weights.

Every VLM tensor gets a role: `merge` (a selected language-model tensor: vlm + scale * (coder - base), computed
in float32 and cast back to the VLM tensor's dtype), or a reason to be copied byte for byte: `vision` (tower and
projector), `excluded` (a language-model tensor the patterns leave out) or `other` (neither side's, e.g. a
buffer). All checks run on the files' headers before a byte is written; the weights are then written shard by
shard in the VLM's own sharding, a block of rows at a time.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.merge.layout import Layout
from training.merge.recipe import MergeError, MergeRecipe, pattern_matches
from training.merge.shards import MERGEABLE_DTYPES, Checkpoint, ShardWriter, TensorInfo, row_blocks

# config fields that must agree for a task vector to make sense (vocab_size is left to the embedding shapes,
# where the refusal can say which tensors to leave out)
ARCHITECTURE_FIELDS = (
    "model_type",
    "hidden_size",
    "num_hidden_layers",
    "intermediate_size",
    "num_attention_heads",
    "num_key_value_heads",
)
VOCAB_TENSORS = ("embed_tokens", "lm_head", "wte", "embed_in", "embed_out")
VOCAB_HINT = (
    "the vocabularies differ (a coder that added tokens?): leave the embeddings out with "
    "`--exclude embed_tokens,lm_head` (recipe: `exclude: [embed_tokens, lm_head]`)"
)
ROLES = ("merge", "vision", "excluded", "other")


@dataclass(frozen=True)
class TensorPlan:
    key: str  # the VLM's name
    info: TensorInfo  # the VLM tensor's file, dtype and shape (the output's too)
    role: str  # merge | vision | excluded | other
    llm_key: str | None = None  # its name in the base and the coder


def check_architectures(vlm: Checkpoint, base: Checkpoint, coder: Checkpoint) -> None:
    """Refuse a base and coder of different architectures, or a VLM language model of another shape than the base."""
    for field in ARCHITECTURE_FIELDS:
        a, b = base.config.get(field), coder.config.get(field)
        if a != b:
            raise MergeError(
                f"base and coder are not the same architecture: {field} {a} (base {base.path}) vs {b} "
                f"(coder {coder.path}); the coder must be a fine-tune of the base"
            )
    text = vlm.text_config
    for field in ARCHITECTURE_FIELDS[1:]:
        a, b = text.get(field), base.config.get(field)
        if a is not None and b is not None and a != b:
            raise MergeError(
                f"the VLM's language model is not the base's architecture: {field} {a} (VLM {vlm.path}) vs {b} "
                f"(base {base.path}); the base must be the LLM the VLM was built from"
            )


def plan_tensors(
    recipe: MergeRecipe, layout: Layout, vlm: Checkpoint, base: Checkpoint, coder: Checkpoint
) -> list[TensorPlan]:
    """Each VLM tensor's role, after every check; raises MergeError naming the first problem."""
    plans, problems = [], []
    for key, info in vlm.tensors.items():
        if layout.is_vision(key):
            plans.append(TensorPlan(key, info, "vision"))
            continue
        llm_key = layout.llm_key(key)
        if llm_key is None:
            plans.append(TensorPlan(key, info, "other"))
            continue
        if not recipe.selects(llm_key):
            plans.append(TensorPlan(key, info, "excluded", llm_key))
            continue
        problems += _tensor_problems(key, llm_key, info, base, coder)
        plans.append(TensorPlan(key, info, "merge", llm_key))
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise MergeError(problems[0] + more)
    if not any(p.role == "merge" for p in plans):
        raise MergeError(
            f"no language-model tensor to merge: layout {layout.describe()}, include {recipe.include}, "
            f"exclude {recipe.exclude} select none of the VLM's {len(plans)} tensors"
        )
    return plans


def _tensor_problems(key: str, llm_key: str, info: TensorInfo, base: Checkpoint, coder: Checkpoint) -> list[str]:
    vocab = any(part in llm_key.split(".") for part in VOCAB_TENSORS)
    for side in (base, coder):
        if llm_key not in side.tensors:
            tied = " (tied to the embeddings there?)" if vocab else ""
            return [
                f"VLM tensor {key} has no counterpart {llm_key} in the {side.label} {side.path}{tied}; leave it out "
                f"with --exclude {llm_key}"
            ]
    if info.dtype not in MERGEABLE_DTYPES:
        return [f"VLM tensor {key} is {info.dtype}: only {'/'.join(MERGEABLE_DTYPES)} tensors can be merged"]
    shapes = {"VLM": info.shape, "base": base.tensors[llm_key].shape, "coder": coder.tensors[llm_key].shape}
    if len(set(shapes.values())) > 1:
        listed = ", ".join(f"{name} {list(shape)}" for name, shape in shapes.items())
        hint = f"; {VOCAB_HINT}" if vocab else ""
        return [f"shape mismatch on {llm_key} (VLM {key}): {listed}{hint}"]
    for side in (base, coder):
        if side.tensors[llm_key].dtype not in MERGEABLE_DTYPES:
            return [f"{side.label} tensor {llm_key} is {side.tensors[llm_key].dtype}: not a floating tensor"]
    return []


def write_weights(
    plans: list[TensorPlan],
    vlm: Checkpoint,
    base: Checkpoint,
    coder: Checkpoint,
    out: Path,
    scale: float,
    chunk_bytes: int,
) -> dict[str, dict[str, Any]]:
    """Write every VLM shard's merged counterpart into `out` (same file names, same tensors); returns each file's
    size and content hash."""
    by_file: dict[str, list[TensorPlan]] = defaultdict(list)
    for plan in plans:
        by_file[plan.info.file].append(plan)
    written = {}
    for file in vlm.files:
        entries = by_file.get(file, [])
        writer = ShardWriter(out / file, [(p.key, p.info) for p in entries], vlm.metadata.get(file))
        try:
            for plan in entries:
                for start, stop in row_blocks(plan.info, chunk_bytes):
                    writer.write(plan.key, _block(plan, vlm, base, coder, scale, start, stop))
        except BaseException:
            writer.abort()
            raise
        written[file] = writer.close()
    return written


def _block(plan: TensorPlan, vlm: Checkpoint, base: Checkpoint, coder: Checkpoint, scale: float, start, stop):
    block = vlm.read(plan.key, start, stop)
    if plan.role != "merge" or scale == 0:
        return block  # byte for byte (and scale 0 gives the VLM back exactly)
    # vlm + scale * (coder - base) in float32, in place to hold fewer block-sized temporaries (same roundings)
    merged = coder.read(plan.llm_key, start, stop).float()
    merged.sub_(base.read(plan.llm_key, start, stop).float()).mul_(scale).add_(block.float())
    return merged.to(block.dtype)


def module_name(llm_key: str) -> str:
    """`model.layers.7.mlp.up_proj.weight` -> `model.layers.*.mlp.up_proj.weight` (per-module counts)."""
    return re.sub(r"\.\d+\.", ".*.", llm_key)


def counts(plans: list[TensorPlan]) -> dict[str, Any]:
    """Tensors and parameters per role, and per merged module."""
    roles = {role: {"tensors": 0, "parameters": 0} for role in ROLES}
    modules: dict[str, dict[str, int]] = defaultdict(lambda: {"tensors": 0, "parameters": 0})
    for plan in plans:
        n = math.prod(plan.info.shape)
        roles[plan.role]["tensors"] += 1
        roles[plan.role]["parameters"] += n
        if plan.role == "merge":
            modules[module_name(plan.llm_key)]["tensors"] += 1
            modules[module_name(plan.llm_key)]["parameters"] += n
    return {"by_role": roles, "merged_modules": dict(sorted(modules.items()))}


def unmatched_patterns(recipe: MergeRecipe, plans: list[TensorPlan]) -> dict[str, list[str]]:
    """Include / exclude patterns that match no language-model tensor (a typo, or a tied head)."""
    names = [p.llm_key for p in plans if p.llm_key]
    return {
        field: [pat for pat in getattr(recipe, field) if not any(pattern_matches(pat, n) for n in names)]
        for field in ("include", "exclude")
    }


def unused_base_tensors(plans: list[TensorPlan], base: Checkpoint) -> list[str]:
    reached = {p.llm_key for p in plans if p.llm_key}
    return [k for k in base.tensors if k not in reached]
