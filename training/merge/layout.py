"""Which tensors of a vision-language checkpoint are its language model, and what each is called in a plain LLM.

A VLM stores its language model under a prefix that depends on the architecture and on the library that saved
it, while the base and coder LLMs are causal LMs (`model.layers.N...`, `model.norm.weight`, `lm_head.weight`).
A `Layout` maps VLM key prefixes to LLM key prefixes; everything under a vision prefix, or with a vision part in
its name, is the vision tower or the projector and is never merged, whatever the include patterns say.

    qwen2-vl   Qwen2-VL / Qwen2.5-VL as saved on the hub and by transformers 5: model.* -> model.*, visual.*
    nested     Qwen3-VL, and transformers 5's own module names: model.language_model.* -> model.*, model.visual.*
    llava      LLaVA-style checkpoints: language_model.model.* -> model.*, vision_tower.*, multi_modal_projector.*

`detect_layout` tries every known layout on the checkpoints' keys and keeps the one under which the most VLM
tensors find a counterpart in the base (the VLM's `model_type` breaks ties); a recipe's `layout:` overrides it.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

# a key with any of these as a dotted part belongs to the vision side (tower, projector) in every layout
VISION_PARTS = frozenset(
    {"visual", "vision_tower", "vision_model", "vision_encoder", "multi_modal_projector", "mm_projector"}
)


class Layout(BaseModel):
    """How a VLM names its language model's tensors, relative to a causal LM."""

    model_config = ConfigDict(extra="forbid")

    name: str = "custom"
    language_model: dict[str, str] = Field(
        min_length=1, description="VLM key prefix -> LLM key prefix, e.g. {'model.language_model.': 'model.'}"
    )
    vision: list[str] = Field(default_factory=list, description="VLM key prefixes that are never merged")

    def is_vision(self, key: str) -> bool:
        return key.startswith(tuple(self.vision)) or not VISION_PARTS.isdisjoint(key.split("."))

    def llm_key(self, key: str) -> str | None:
        """The base/coder name of a VLM tensor, or None when it is not a language-model tensor."""
        if self.is_vision(key):
            return None
        for prefix in sorted(self.language_model, key=len, reverse=True):
            if key.startswith(prefix):
                return self.language_model[prefix] + key[len(prefix) :]
        return None

    def describe(self) -> str:
        pairs = ", ".join(f"{vlm}* -> {llm}*" for vlm, llm in self.language_model.items())
        return f"{self.name} ({pairs})"


LAYOUTS: dict[str, Layout] = {
    "qwen2-vl": Layout(
        name="qwen2-vl", language_model={"model.": "model.", "lm_head.": "lm_head."}, vision=["visual."]
    ),
    "nested": Layout(
        name="nested",
        language_model={"model.language_model.": "model.", "lm_head.": "lm_head."},
        vision=["model.visual.", "model.vision_tower.", "model.multi_modal_projector."],
    ),
    "llava": Layout(
        name="llava",
        language_model={"language_model.model.": "model.", "language_model.lm_head.": "lm_head."},
        vision=["vision_tower.", "multi_modal_projector."],
    ),
}

# VLM config `model_type` -> the layout its checkpoints usually have (a tie-breaker; the keys decide)
ARCHITECTURES: dict[str, str] = {
    "qwen2_vl": "qwen2-vl",
    "qwen2_5_vl": "qwen2-vl",
    "qwen3_vl": "nested",
    "qwen3_vl_moe": "nested",
    "llava": "llava",
    "llava_next": "llava",
    "llava_onevision": "llava",
}


def detect_layout(model_type: str | None, vlm_keys: Iterable[str], base_keys: Iterable[str]) -> Layout | None:
    """The known layout that maps the most VLM tensors onto base tensors; None when none maps any."""
    vlm_keys, base = list(vlm_keys), set(base_keys)
    preferred = ARCHITECTURES.get(model_type or "")

    def score(layout: Layout) -> tuple[int, bool]:
        return sum(layout.llm_key(k) in base for k in vlm_keys), layout.name == preferred

    best = max(LAYOUTS.values(), key=score)
    return best if score(best)[0] else None
