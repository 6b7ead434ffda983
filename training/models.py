"""Load any `transformers` image-text-to-text model and its processor, from a local folder or a hub id.

`ModelSpec` is the part of every recipe (SFT, drafts, ViRL, evaluation) that names a model: where it lives, its
dtype, the attention implementation, the image pixel budget and, optionally, LoRA adapters (peft). Loading is
plain `from_pretrained`; nothing here downloads unless the caller's machine can reach the hub id it names.

Qwen-VL processors bundle a video processor, and `transformers` builds video processors only with torchvision,
which this project must not install (it is a CUDA build here and breaks imports). When the full processor cannot
be built for that reason, `load_processor` assembles an image-only processor of the same class from the
checkpoint's tokenizer and image processor: images and text behave exactly as in the full processor, and
passing a video raises a clear error.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

log = logging.getLogger(__name__)

DTYPES = ("auto", "float32", "bfloat16", "float16")


class LoraSpec(BaseModel):
    """LoRA adapters on the language model (peft). `target_modules` names linear layers by suffix."""

    model_config = ConfigDict(extra="forbid")

    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: list[str] | str = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    )

    def peft_config(self):
        from peft import LoraConfig

        return LoraConfig(
            r=self.r,
            lora_alpha=self.alpha,
            lora_dropout=self.dropout,
            target_modules=self.target_modules,
            task_type="CAUSAL_LM",
        )


class ModelSpec(BaseModel):
    """Which model to load and how."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="local checkpoint folder or hub id")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    attn_implementation: str | None = Field(None, description="eager | sdpa | flash_attention_2; None = default")
    min_pixels: int | None = Field(None, description="image budget passed to the image processor")
    max_pixels: int | None = None
    trust_remote_code: bool = False
    lora: LoraSpec | None = None

    def model_kwargs(self) -> dict[str, Any]:
        import torch

        kwargs: dict[str, Any] = {"trust_remote_code": self.trust_remote_code}
        if self.dtype != "auto":
            kwargs["dtype"] = getattr(torch, self.dtype)
        else:
            kwargs["dtype"] = "auto"
        if self.attn_implementation:
            kwargs["attn_implementation"] = self.attn_implementation
        return kwargs


def load_model(spec: ModelSpec, *, device: str | None = None):
    """The model (peft-wrapped when `spec.lora` is set), in eval mode; `device` moves it after loading."""
    from transformers import AutoModelForImageTextToText

    model = AutoModelForImageTextToText.from_pretrained(spec.path, **spec.model_kwargs())
    if spec.lora is not None:
        from peft import get_peft_model

        model = get_peft_model(model, spec.lora.peft_config())
    if device:
        model.to(device)
    model.eval()
    return model


def _pixel_kwargs(spec: ModelSpec | None) -> dict[str, Any]:
    if spec is None:
        return {}
    size = {}
    if spec.min_pixels is not None:
        size["shortest_edge"] = spec.min_pixels
    if spec.max_pixels is not None:
        size["longest_edge"] = spec.max_pixels
    return {"size": size} if size else {}


def load_processor(path: str | Path, spec: ModelSpec | None = None):
    """The checkpoint's processor; falls back to an image-only one when only the video part cannot be built."""
    from transformers import AutoProcessor

    path = str(path)
    trust = spec.trust_remote_code if spec else False
    try:
        processor = AutoProcessor.from_pretrained(path, trust_remote_code=trust)
    except (ImportError, OSError, AttributeError, ValueError, TypeError) as exc:
        if _torchvision_available():
            raise
        log.info("full processor unavailable without torchvision (%s); building an image-only one", exc)
        processor = image_only_processor(path, trust_remote_code=trust)
    size = _pixel_kwargs(spec).get("size")
    if size:
        processor.image_processor.size = {**dict(processor.image_processor.size), **size}
    return processor


def _torchvision_available() -> bool:
    from transformers.utils import is_torchvision_available

    return is_torchvision_available()


def _processor_class(path: str):
    import transformers

    name = None
    config = Path(path) / "processor_config.json"
    if config.exists():
        name = json.loads(config.read_text()).get("processor_class")
    if name is None:
        from transformers import AutoConfig
        from transformers.models.auto.processing_auto import PROCESSOR_MAPPING_NAMES

        model_type = AutoConfig.from_pretrained(path).model_type
        name = PROCESSOR_MAPPING_NAMES.get(model_type)
    cls = getattr(transformers, name, None) if name else None
    if cls is None:
        raise ValueError(f"cannot tell which processor class {path} uses (processor_config.json has none)")
    return cls


def image_only_processor(path: str, trust_remote_code: bool = False):
    """An instance of the checkpoint's processor class built from its tokenizer and image processor only."""
    from transformers import AutoImageProcessor, AutoTokenizer

    cls = _processor_class(path)
    image_processor = AutoImageProcessor.from_pretrained(path, trust_remote_code=trust_remote_code)
    tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
    return build_image_only(cls, image_processor, tokenizer, _chat_template(path, tokenizer))


def _chat_template(path: str, tokenizer) -> str | None:
    for name in ("chat_template.jinja", "chat_template.json"):
        file = Path(path) / name
        if file.exists():
            text = file.read_text()
            return json.loads(text)["chat_template"] if name.endswith(".json") else text
    return getattr(tokenizer, "chat_template", None)


def build_image_only(cls, image_processor, tokenizer, chat_template: str | None):
    """`cls` (a processor class with a video part, e.g. Qwen2/2.5/3-VL's) without its video processor.

    The subclass declares only the image processor and tokenizer as its parts, so the class's own `__init__`
    runs unchanged (the video argument it passes on is dropped) and `save_pretrained` writes the class's name;
    passing videos raises instead of being ignored.
    """

    def call(self, *args, videos=None, **kwargs):
        if videos is not None:
            raise ValueError(f"this {cls.__name__} was built without its video processor (no torchvision): no videos")
        return cls.__call__(self, *args, **kwargs)

    namespace = {
        "__call__": call,
        "__module__": cls.__module__,
        "get_attributes": classmethod(lambda _cls: ["image_processor", "tokenizer"]),
    }
    sub = type(cls.__name__, (cls,), namespace)
    return sub(image_processor=image_processor, tokenizer=tokenizer, chat_template=chat_template)
