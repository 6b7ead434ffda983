"""The merge recipe: which three checkpoints, the scale λ, and which language-model tensors are merged.

    merged = vlm + scale * (coder - base)     on every selected language-model tensor; all else copied

Tensors are selected by patterns over their LLM name (`model.layers.3.mlp.up_proj.weight`, `lm_head.weight`): a
pattern with a wildcard (`*`, `?`, `[`) is a glob over the whole name; a plain word matches names that contain it
between dots (`embed_tokens`, `mlp`, `layers.3`, `self_attn.q_proj`). A tensor is merged when it matches an
`include` pattern and no `exclude` pattern. Patterns may also be given comma-separated (`embed_tokens,lm_head`).

The default merges the whole language model, embeddings and output head included: that is the task vector as
defined (coder − base over every weight the two share), and a coder that was trained on trillions of code tokens
(Qwen2.5-Coder continued Qwen2.5's pre-training) carries part of its skill in its token embeddings. The vision
tower and the projector are never merged (training/merge/layout.py). When a coder grew its vocabulary, the
embedding shapes differ and the merge refuses, naming `exclude: [embed_tokens, lm_head]` as the way out.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from training.merge.layout import Layout
from training.runs import TrainingError


class MergeError(TrainingError):
    """A merge that cannot be done as asked (mismatched checkpoints, a missing tensor, an occupied output)."""


def pattern_matches(pattern: str, name: str) -> bool:
    if any(c in pattern for c in "*?["):
        return fnmatch.fnmatchcase(name, pattern)
    return f".{pattern.strip('.')}." in f".{name}."


def split_patterns(value: Any) -> list[str]:
    """Patterns from a list and/or comma-separated strings, blanks dropped."""
    items = [value] if isinstance(value, str) else list(value or [])
    return [part.strip() for item in items for part in str(item).split(",") if part.strip()]


class MergeRecipe(BaseModel):
    """A task-vector merge of a coding LLM into a VLM's language model (VisCodex, arXiv 2508.09945)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field("merge", min_length=1, pattern=r"^[A-Za-z0-9._-]+$")
    vlm: str = Field(description="the vision-language model: folder, hub id, vinci:tiny or sft:latest")
    base: str = Field(description="the LLM the VLM's language model was initialised from")
    coder: str = Field(description="a coding LLM fine-tuned from that same base")
    scale: float = Field(allow_inf_nan=False, description="λ in vlm + λ (coder - base)")
    include: list[str] = Field(default_factory=lambda: ["*"], description="LLM tensor names to merge (patterns)")
    exclude: list[str] = Field(default_factory=list, description="LLM tensor names never merged (patterns)")
    layout: Layout | None = Field(None, description="VLM -> LLM key prefixes; default: detected from the keys")
    chunk_mb: float = Field(4, gt=0, description="rows of a large tensor are merged in blocks of about this size")
    output_dir: str | None = Field(None, description="default: <data_root>/merge/<name>-<hash>")
    data_root: str | None = None

    @field_validator("include", "exclude", mode="before")
    @classmethod
    def _patterns(cls, value: Any) -> list[str]:
        return split_patterns(value)

    def selects(self, llm_key: str) -> bool:
        return any(pattern_matches(p, llm_key) for p in self.include) and not any(
            pattern_matches(p, llm_key) for p in self.exclude
        )

    def unkeyed_fields(self) -> dict[str, Any]:
        """Fields that do not change the merged weights (left out of the output folder's key)."""
        return {"name": True, "output_dir": True, "data_root": True, "chunk_mb": True}
