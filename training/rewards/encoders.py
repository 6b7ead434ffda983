"""Vision encoders that score how alike two 448x448 tiles look, as a similarity in [0, 1].

The visual reward hands an encoder the tile pairs (target tile, rendered tile) of many samples at once. A ViT
encoder (DINOv2 by default, or a CLIP-style vision tower) embeds every tile, both sides of all pairs sharing the
same forward passes of `batch_size` tiles, takes the CLS token of the last hidden layer (before the model's final
layer norm), and maps the cosine similarity s of a pair to (s + 1) / 2. Tiles are preprocessed by hand (bicubic to
the tile size, pixel / 255, per-channel mean/std of the encoder's family): the Hugging Face image processors would
centre-crop, which the reward does not do. SSIM on grey-scale tiles is the weights-free baseline.

Each encoder has a `name` recorded with every reward ("dinov2:facebook/dinov2-large", "clip:/models/clip", "ssim").
Weights come from a local folder or the Hugging Face cache; machines without internet get EncoderUnavailable with
instructions instead of a long hang.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
from PIL import Image

from training.rewards.tiling import TILE

if TYPE_CHECKING:
    import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

DEFAULT_DINOV2 = "facebook/dinov2-large"
_DEFAULT_SOURCES = {"dinov2": DEFAULT_DINOV2}
_DTYPE_NAMES = {"bf16": "bfloat16", "fp16": "float16", "half": "float16", "fp32": "float32", "float": "float32"}

# Family -> (transformers model class, mean, std).
_FAMILIES: dict[str, tuple[str, tuple[float, ...], tuple[float, ...]]] = {
    "dinov2": ("Dinov2Model", IMAGENET_MEAN, IMAGENET_STD),
    "clip": ("CLIPVisionModel", CLIP_MEAN, CLIP_STD),
}
# A checkpoint's config.model_type -> family.
_MODEL_TYPES = {"dinov2": "dinov2", "clip": "clip", "clip_vision_model": "clip"}

# Config kwargs of DINOv2-L (facebook/dinov2-large), for benchmarks with random weights at the real size.
DINOV2_LARGE: dict[str, Any] = dict(
    hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, mlp_ratio=4, patch_size=14, image_size=518
)
_TINY_DINOV2: dict[str, Any] = dict(
    hidden_size=32, num_hidden_layers=2, num_attention_heads=2, mlp_ratio=2, patch_size=14, image_size=TILE
)

_HOW_TO_FIX = (
    "Download the weights to a folder and pass it with `--encoder dinov2:/path/to/dinov2-large` "
    "(or `clip:/path/to/clip`), or use the weights-free baseline with `reward.encoder: ssim` in the recipe."
)


class EncoderUnavailable(RuntimeError):
    """The encoder's weights cannot be loaded (no such folder, not in the Hugging Face cache, hub unreachable)."""


@runtime_checkable
class Encoder(Protocol):
    """Scores tile pairs; `name` identifies the encoder in every recorded reward."""

    name: str

    def similarities(self, pairs: Sequence[tuple[Image.Image, Image.Image]]) -> list[float]:
        """Per-pair similarity in [0, 1] of 448x448 RGB tile pairs, in input order."""
        ...


def _as_array(image: Image.Image, size: int) -> np.ndarray:
    """(H, W, 3) uint8, bicubic-resized to size x size when needed (scaled and normalised on the device)."""
    image = image.convert("RGB")
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(image, dtype=np.uint8)


class ViTEncoder:
    """CLS-token cosine similarity of a ViT (DINOv2 or a CLIP-style vision tower), batched across pairs."""

    def __init__(
        self,
        model: Any,
        *,
        name: str | None = None,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        batch_size: int = 64,
        image_size: int = TILE,
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        family = _MODEL_TYPES.get(getattr(model.config, "model_type", ""), "dinov2")
        _, family_mean, family_std = _FAMILIES[family]
        self.model = model.eval()
        self.name = name or f"{family}:{getattr(model.config, 'name_or_path', '') or 'in-memory'}"
        self.mean = np.asarray(family_mean if mean is None else mean, dtype=np.float32)
        self.std = np.asarray(family_std if std is None else std, dtype=np.float32)
        self.batch_size = batch_size
        self.image_size = image_size
        parameter = next(model.parameters())
        self.device, self.dtype = parameter.device, parameter.dtype
        # CLIP-style towers need an explicit switch to run at a resolution other than their training one;
        # DINOv2 always interpolates its position embeddings.
        accepts = inspect.signature(model.forward).parameters
        self._forward_kwargs = {"interpolate_pos_encoding": True} if "interpolate_pos_encoding" in accepts else {}

    @classmethod
    def from_pretrained(
        cls,
        path: str,
        *,
        family: str | None = None,
        device: str | None = None,
        dtype: Any = None,
        batch_size: int = 64,
    ) -> ViTEncoder:
        """Load from a local folder or a hub id (cache first); the family comes from the config unless given.

        Device: cuda when available, else cpu. Dtype: bfloat16 on a GPU, float32 on the CPU, unless given.
        Raises EncoderUnavailable when the weights cannot be loaded.
        """
        import torch
        import transformers

        if family is None:
            config = _load(transformers.AutoConfig.from_pretrained, path, label=path)
            family = _MODEL_TYPES.get(config.model_type)
            if family is None:
                raise ValueError(
                    f"{path}: unsupported vision encoder model_type {config.model_type!r} "
                    f"(supported: {', '.join(sorted(_MODEL_TYPES))})"
                )
        model_class, mean, std = _FAMILIES[family]
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = _resolve_dtype(dtype, device)
        loader = getattr(transformers, model_class).from_pretrained
        model = _load(loader, path, label=f"{family}:{path}", dtype=dtype)
        return cls(model.to(device), name=f"{family}:{path}", mean=mean, std=std, batch_size=batch_size)

    def _pixel_values(self, images: Sequence[Image.Image]) -> torch.Tensor:
        import torch

        # uint8 to the device (4x less to copy), then /255 and mean/std there in float32, then the model's dtype
        batch = torch.from_numpy(np.stack([_as_array(image, self.image_size) for image in images]))
        batch = batch.to(self.device, non_blocking=True).permute(0, 3, 1, 2).float().div_(255.0)
        mean = torch.as_tensor(self.mean, device=self.device).view(1, 3, 1, 1)
        std = torch.as_tensor(self.std, device=self.device).view(1, 3, 1, 1)
        return ((batch - mean) / std).to(self.dtype)

    def embed(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """(N, D) float32 CLS features of the last hidden layer (before the final layer norm), on the CPU."""
        import torch

        features = []
        with torch.inference_mode():
            for start in range(0, len(images), self.batch_size):
                pixel_values = self._pixel_values(images[start : start + self.batch_size])
                outputs = self.model(pixel_values=pixel_values, output_hidden_states=True, **self._forward_kwargs)
                features.append(outputs.hidden_states[-1][:, 0].float().cpu())
        if not features:
            return torch.empty(0, self.model.config.hidden_size)
        return torch.cat(features)

    def similarities(self, pairs: Sequence[tuple[Image.Image, Image.Image]]) -> list[float]:
        """(cos + 1) / 2 of each pair's CLS features; all tiles of all pairs go through shared batches."""
        import torch

        features = self.embed([image for pair in pairs for image in pair])
        cosine = torch.nn.functional.cosine_similarity(features[0::2], features[1::2], dim=-1)
        return ((cosine + 1.0) / 2.0).clamp(0.0, 1.0).tolist()


def _resolve_dtype(dtype: Any, device: str) -> torch.dtype:
    """A torch dtype from None/"auto" (bfloat16 on a GPU, float32 on the CPU), a name ("bf16", "float32") or itself."""
    import torch

    if isinstance(dtype, str):
        name = _DTYPE_NAMES.get(dtype.lower(), dtype.lower())
        if name == "auto":
            dtype = None
        elif isinstance(getattr(torch, name, None), torch.dtype):
            dtype = getattr(torch, name)
        else:
            raise ValueError(f"unknown encoder dtype {dtype!r} (use bfloat16, float16 or float32)")
    if dtype is None:
        return torch.bfloat16 if torch.device(device).type == "cuda" else torch.float32
    return dtype


class SSIMEncoder:
    """Weights-free baseline: SSIM of the grey-scale tiles (data range 1.0), negative values clipped to 0."""

    name = "ssim"

    def __init__(self, image_size: int = TILE):
        self.image_size = image_size

    def _grey(self, image: Image.Image) -> np.ndarray:
        image = image.convert("RGB")
        if image.size != (self.image_size, self.image_size):
            image = image.resize((self.image_size, self.image_size), Image.Resampling.BICUBIC)
        return np.asarray(image.convert("L"), dtype=np.float64) / 255.0

    def similarities(self, pairs: Sequence[tuple[Image.Image, Image.Image]]) -> list[float]:
        from skimage.metrics import structural_similarity

        scores = []
        for target, rendered in pairs:
            score = structural_similarity(self._grey(target), self._grey(rendered), data_range=1.0)
            scores.append(float(min(1.0, max(0.0, score))))
        return scores


def _offline() -> bool:
    return any(
        os.environ.get(var, "").strip().upper() in {"1", "ON", "YES", "TRUE"}
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def _load(loader: Any, source: str, *, label: str, **kwargs: Any) -> Any:
    """`loader(source, **kwargs)` from a local folder, else the Hugging Face cache, else (when online) the hub."""
    local = Path(source).expanduser()
    if local.is_dir() or source.startswith(("/", ".", "~")):
        if not local.is_dir():
            raise EncoderUnavailable(
                f"cannot load the vision encoder {label!r}: {source} is not an existing folder. {_HOW_TO_FIX}"
            )
        try:
            return loader(str(local), **kwargs)
        except Exception as exc:  # noqa: BLE001 - any loading failure means the encoder is unusable
            raise EncoderUnavailable(
                f"cannot load the vision encoder {label!r} from the folder {source}: {exc}. {_HOW_TO_FIX}"
            ) from exc
    try:
        return loader(source, local_files_only=True, **kwargs)
    except Exception as exc:  # noqa: BLE001
        cache_error = exc
    if _offline():
        raise EncoderUnavailable(
            f"cannot load the vision encoder {label!r}: {source} is not a local folder, it is not in the Hugging "
            f"Face cache ({cache_error}), and HF_HUB_OFFLINE is set, so the hub was not tried. {_HOW_TO_FIX}"
        ) from cache_error
    try:
        return loader(source, **kwargs)
    except Exception as exc:  # noqa: BLE001
        raise EncoderUnavailable(
            f"cannot load the vision encoder {label!r}: {source} is not a local folder, it is not in the Hugging "
            f"Face cache, and downloading it from the hub failed ({exc}). {_HOW_TO_FIX}"
        ) from exc


def load_encoder(spec: str, *, device: str | None = None, dtype: Any = None, batch_size: int = 64) -> Encoder:
    """Encoder from a spec: "ssim", "dinov2" (= dinov2:facebook/dinov2-large), "dinov2:PATH_OR_ID",
    "clip:PATH_OR_ID", or a bare folder / hub id whose config names the family.

    Raises EncoderUnavailable when weights cannot be loaded, ValueError for a malformed spec.
    """
    spec = spec.strip()
    if spec == "ssim":
        return SSIMEncoder()
    family, _, source = spec.partition(":")
    if family in _FAMILIES:
        source = source.strip() or _DEFAULT_SOURCES.get(family, "")
    else:  # a bare folder or hub id (a path may itself contain ":")
        family, source = None, spec
    if not source:
        raise ValueError(f"encoder spec {spec!r} names no checkpoint: use {family}:PATH_OR_HUB_ID")
    return ViTEncoder.from_pretrained(source, family=family, device=device, dtype=dtype, batch_size=batch_size)


def build_tiny_dinov2(out_dir: str | Path | None = None, **config_overrides: Any) -> Any:
    """A DINOv2 with random weights (seed 0, caller's RNG untouched): tiny by default, real size with
    `**DINOV2_LARGE`. Returns the model, or the folder it was saved to when `out_dir` is given."""
    import torch
    from transformers import Dinov2Config, Dinov2Model

    config = Dinov2Config(**{**_TINY_DINOV2, **config_overrides})
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = Dinov2Model(config).eval()
    if out_dir is None:
        return model
    model.save_pretrained(out_dir)
    return Path(out_dir)
