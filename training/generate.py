"""Batched generation from an image-text-to-text model: `transformers` everywhere, vLLM when it can run, or an
OpenAI-compatible endpoint (training/endpoint.py).

Used by the drafts stage (specialists' first-pass code), the SFT load-back check and, later, evaluation. Every
backend takes PIL images and instruction strings, builds the prompt with the model's own chat template
(`training.conversation.prompt_messages`) and returns the raw answers, one per input, in order.
"""

from __future__ import annotations

import io
import logging
import threading
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from training.conversation import prompt_messages
from training.models import ModelSpec, load_processor

log = logging.getLogger(__name__)


class GenerationConfig(BaseModel):
    """Sampling settings and the backend; `auto` picks vLLM when it is installed and a GPU is present."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal["auto", "transformers", "vllm", "openai"] = "auto"
    batch_size: int = Field(8, gt=0)
    max_new_tokens: int = Field(1024, gt=0)
    temperature: float = Field(0.0, ge=0.0, description="0 = greedy")
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    seed: int = 0
    endpoint: str | None = Field(None, description="openai backend: base URL of the server, e.g. http://host:8000/v1")
    api_key_env: str = Field("OPENAI_API_KEY", description="openai backend: environment variable with the key")
    concurrency: int = Field(8, gt=0, description="openai backend: requests in flight")
    request_timeout_s: float = Field(600.0, gt=0, description="openai backend: per request")


class Generator(Protocol):
    name: str

    def generate(self, images: list[Any], instructions: list[str], **overrides: Any) -> list[str]: ...


def _rgb(image: Any):
    """A PIL RGB image from a PIL image, raw bytes or the Hugging Face Image encoding {bytes, path}."""
    from PIL import Image

    if isinstance(image, dict):
        image = image["bytes"]
    if isinstance(image, bytes | bytearray):
        image = Image.open(io.BytesIO(image))
    return image.convert("RGB")


class TransformersGenerator:
    """`model.generate` on left-padded batches; one lock per generator, so threads can share it."""

    def __init__(self, spec: ModelSpec, config: GenerationConfig | None = None, device: str | None = None):
        import torch

        from training.models import load_model

        self.spec = spec
        self.config = config or GenerationConfig(backend="transformers")
        self.name = spec.path
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model = load_model(spec, device=self.device)
        self.processor = load_processor(spec.path, spec)
        self.processor.tokenizer.padding_side = "left"
        self._lock = threading.Lock()

    def generate(self, images: list[Any], instructions: list[str], **overrides: Any) -> list[str]:
        cfg = self.config.model_copy(update=overrides)
        out: list[str] = []
        for start in range(0, len(images), cfg.batch_size):
            out += self._batch(
                images[start : start + cfg.batch_size], instructions[start : start + cfg.batch_size], cfg
            )
        return out

    def _batch(self, images: list[Any], instructions: list[str], cfg: GenerationConfig) -> list[str]:
        import torch

        texts = [
            self.processor.apply_chat_template(prompt_messages(text), add_generation_prompt=True, tokenize=False)
            for text in instructions
        ]
        inputs = self.processor(
            images=[_rgb(im) for im in images], text=texts, return_tensors="pt", padding=True, padding_side="left"
        ).to(self.device)
        sampling: dict[str, Any] = {"do_sample": cfg.temperature > 0}
        if cfg.temperature > 0:
            sampling.update(temperature=cfg.temperature, top_p=cfg.top_p)
        tokenizer = self.processor.tokenizer
        with self._lock, torch.inference_mode():
            if cfg.temperature > 0:
                torch.manual_seed(cfg.seed)
            generated = self.model.generate(
                **inputs, max_new_tokens=cfg.max_new_tokens, pad_token_id=tokenizer.pad_token_id, **sampling
            )
        new_tokens = generated[:, inputs["input_ids"].shape[1] :]
        return tokenizer.batch_decode(new_tokens, skip_special_tokens=True)


class VLLMGenerator:  # pragma: no cover - needs vLLM and a GPU, neither of which this CI machine has
    """vLLM's offline `LLM.generate` with images as multi-modal data."""

    def __init__(self, spec: ModelSpec, config: GenerationConfig | None = None):
        from vllm import LLM

        self.spec = spec
        self.config = config or GenerationConfig(backend="vllm")
        self.name = spec.path
        self.processor = load_processor(spec.path, spec)
        dtype = "auto" if spec.dtype == "auto" else spec.dtype
        self.llm = LLM(model=spec.path, dtype=dtype, seed=self.config.seed, limit_mm_per_prompt={"image": 1})

    def generate(self, images: list[Any], instructions: list[str], **overrides: Any) -> list[str]:
        from vllm import SamplingParams

        cfg = self.config.model_copy(update=overrides)
        params = SamplingParams(temperature=cfg.temperature, top_p=cfg.top_p, max_tokens=cfg.max_new_tokens)
        requests = [
            {
                "prompt": self.processor.apply_chat_template(
                    prompt_messages(text), add_generation_prompt=True, tokenize=False
                ),
                "multi_modal_data": {"image": _rgb(image)},
            }
            for image, text in zip(images, instructions, strict=True)
        ]
        return [o.outputs[0].text for o in self.llm.generate(requests, params)]


def vllm_usable() -> bool:
    try:
        import torch
        import vllm  # noqa: F401
    except ImportError:
        return False
    return torch.cuda.is_available()


def make_generator(spec: ModelSpec, config: GenerationConfig | None = None) -> Generator:
    """The configured backend; `auto` = vLLM when usable, else transformers; `openai` = an HTTP endpoint serving
    `spec.path` (training/endpoint.py)."""
    config = config or GenerationConfig()
    backend = config.backend
    if backend == "openai":
        from training.endpoint import EndpointGenerator

        return EndpointGenerator(spec.path, config)
    if backend == "auto":
        backend = "vllm" if vllm_usable() else "transformers"
    if backend == "vllm":
        if not vllm_usable():
            raise RuntimeError("backend vllm needs the vllm package and a CUDA GPU; use backend: transformers")
        return VLLMGenerator(spec, config)
    return TransformersGenerator(spec, config)
