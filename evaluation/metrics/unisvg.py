"""UniSVG ISVGEN (image -> SVG): SSIM, LPIPS (AlexNet) and CLIP similarity of 336x336 renders, mixed 0.2/0.2/0.6.

Per sample (answer, reference SVG):

- The answer's SVG is `extract_code(answer, "svg")`; it is passed through `close_svg`, which repairs a cut-off
  generation: an incomplete last tag, comment, CDATA section or entity is dropped, and closing tags are appended
  for the elements still open, innermost first. Prose before the `<svg` element and anything after the root's
  closing tag are left out. A complete, well-formed SVG comes back unchanged.
- Both SVGs are rendered by the sandboxed render engine with `RenderOptions(width=336, height=336)`. cairosvg then
  draws into an exactly 336x336 canvas on white and keeps the drawing's aspect ratio (an SVG that is not square is
  scaled to fit and centred, as `preserveAspectRatio="xMidYMid meet"` does). Should a render ever come back at
  another size, it is scaled to fit and centred on a white 336x336 canvas the same way; transparency is put on
  white.
- SSIM: scikit-image `structural_similarity` on the two RGB images as 0..255 values (`data_range=255`,
  `channel_axis=-1`, `win_size=7`, uniform 7x7 window, K1 = 0.01, K2 = 0.03), i.e. the mean over the three channels.
  Not clipped (it may be slightly negative).
- LPIPS: `evaluation.metrics.lpips_alex` (AlexNet, v0.1 linear layers), pixels mapped to [-1, 1]. It needs two
  local weight files (`lpips_weights`: a folder with `alexnet.pth` and `alex.pth`, or the two paths); without
  them LPIPS is not run (None).
- CLIP: cosine similarity of the CLIP image embeddings (vision tower's pooled output through the visual
  projection) of the two renders, with a model loaded from a local folder (`clip_path`, ViT-L/14-336 for the
  benchmark; a full `CLIPModel` or a `CLIPVisionModelWithProjection` checkpoint). Preprocessing is CLIP's, done here
  by hand: bicubic resize of the shortest side to the model's image size (336), centre crop, /255, CLIP mean/std.
  The raw cosine is reported (no rescaling, no clipping). Without `clip_path` CLIP is not run (None).
- Score = 0.2 SSIM + 0.2 (1 - LPIPS) + 0.6 CLIP, i.e. low-level = (SSIM + 1 - LPIPS) / 2 weighing 0.4 and
  high-level = CLIP weighing 0.6. When LPIPS or CLIP was not run the score is None; every component that ran is
  still reported on its own, and `aggregate` names the components that did not run.
- Missing answer (no SVG in it, nothing left after closing, or the render fails): SSIM 0, LPIPS 1, CLIP 0 (for the
  components that are configured), so its score is 0.
- Scores stay on the 0-1 scale UniSVG reports; `aggregate` averages over ALL samples (missing answers included).

A reference SVG that does not render is a broken benchmark item, not a model error: `ReferenceRenderError`.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from renderers.result import RenderOptions
from training.answers import extract_code
from training.rewards.encoders import CLIP_MEAN, CLIP_STD, EncoderUnavailable

if TYPE_CHECKING:
    import torch

    from evaluation.metrics.lpips_alex import AlexLPIPS, WeightSpec
    from renderers.engine import RenderEngine

SIZE = 336
WEIGHTS = {"ssim": 0.2, "lpips": 0.2, "clip": 0.6}
RENDER_OPTIONS = RenderOptions(width=SIZE, height=SIZE)


# -- closing a cut-off SVG -------------------------------------------------------------------------------------------
_SVG_START = re.compile(r"<svg(?=[\s/>]|$)")
_NAME = r"[A-Za-z_][\w.:-]*"
_START_TAG = re.compile(
    rf"""<({_NAME})(?:\s+[^\s=/>"']+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>"']+))?)*\s*(/?)>""", re.DOTALL
)
_END_TAG = re.compile(rf"</({_NAME})\s*>")
_DECLARATION = re.compile(r"<!(?:DOCTYPE|ENTITY|ELEMENT|ATTLIST)[^\[>]*(?:\[.*?\])?\s*>", re.DOTALL | re.IGNORECASE)
_PARTIAL_ENTITY = re.compile(r"&[#\w]*$")
_SPECIAL = (("<!--", "-->"), ("<![CDATA[", "]]>"), ("<?", "?>"))


def close_svg(code: str) -> str:
    """The SVG document in `code` made complete: cut-off tail dropped, open elements closed (innermost first).

    Starts at the `<svg` element (an XML declaration, comment or DOCTYPE right before it is kept, prose is not)
    and ends at the root's closing tag. Returns "" when the root tag itself is incomplete, and `code` unchanged
    when it has no `<svg` element. Markup that is broken in the middle (not at the end) is left for the renderer
    to reject.
    """
    found = _SVG_START.search(code)
    if found is None:
        return code
    head = code[: found.start()]
    prelude = head.lstrip()
    start = len(head) - len(prelude) if prelude.startswith(("<?xml", "<!")) else found.start()
    text = code[start:]

    stack: list[str] = []
    opened = False
    pos = 0
    cut = len(text)
    while (i := text.find("<", pos)) >= 0:
        special = next(((opener, closer) for opener, closer in _SPECIAL if text.startswith(opener, i)), None)
        if special is not None:
            end = text.find(special[1], i + len(special[0]))
            if end < 0:
                cut = i
                break
            pos = end + len(special[1])
            continue
        pattern = _DECLARATION if text.startswith("<!", i) else _END_TAG if text.startswith("</", i) else _START_TAG
        match = pattern.match(text, i)
        if match is None:
            if text.find("<", i + 1) < 0:  # the last markup is incomplete: the generation was cut here
                cut = i
                break
            pos = i + 1  # broken mid-document: leave it to the renderer
            continue
        pos = match.end()
        if text.startswith("<!", i):
            continue
        name = match.group(1)
        if text.startswith("</", i):
            if name in stack:
                del stack[len(stack) - 1 - stack[::-1].index(name) :]
        else:
            opened = True
            if not match.group(2):
                stack.append(name)
        if opened and not stack:  # the root element is complete
            return text[:pos]
    body = _PARTIAL_ENTITY.sub("", text[:cut])
    if not _SVG_START.search(body):
        return ""
    return body + "".join(f"</{name}>" for name in reversed(stack))


def answer_svg(answer: str | None) -> tuple[str | None, str | None]:
    """(closed SVG code, None) from a model answer, or (None, why there is none)."""
    extracted = extract_code(answer, "svg").code
    if not extracted:
        return None, "empty answer"
    if _SVG_START.search(extracted) is None:
        return None, "no <svg> element in the answer"
    closed = close_svg(extracted)
    if not closed:
        return None, "the <svg> tag itself is incomplete"
    return closed, None


# -- images ----------------------------------------------------------------------------------------------------------
def render_array(png: bytes, size: int = SIZE) -> np.ndarray:
    """(size, size, 3) uint8 on white from a PNG; a render of another size is scaled to fit and centred."""
    with Image.open(io.BytesIO(png)) as opened:
        image = opened.convert("RGBA")
    canvas = Image.new("RGBA", image.size, (255, 255, 255, 255))
    image = Image.alpha_composite(canvas, image).convert("RGB")
    if image.size != (size, size):
        width, height = image.size
        scale = min(size / width, size / height)
        fitted = (max(1, round(width * scale)), max(1, round(height * scale)))
        image = image.resize(fitted, Image.Resampling.BICUBIC)
        square = Image.new("RGB", (size, size), (255, 255, 255))
        square.paste(image, ((size - fitted[0]) // 2, (size - fitted[1]) // 2))
        image = square
    return np.asarray(image, dtype=np.uint8)


def ssim_rgb(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM of two (H, W, 3) uint8 images: 7x7 uniform window, data range 255, mean over the channels."""
    from skimage.metrics import structural_similarity

    return float(
        structural_similarity(a.astype(np.float64), b.astype(np.float64), channel_axis=-1, win_size=7, data_range=255.0)
    )


def combine(ssim: float, lpips: float | None, clip: float | None) -> float | None:
    """0.2 SSIM + 0.2 (1 - LPIPS) + 0.6 CLIP; None when LPIPS or CLIP was not run."""
    if lpips is None or clip is None:
        return None
    return WEIGHTS["ssim"] * ssim + WEIGHTS["lpips"] * (1.0 - lpips) + WEIGHTS["clip"] * clip


# -- CLIP ------------------------------------------------------------------------------------------------------------
def clip_preprocess(image: np.ndarray | Image.Image, size: int = SIZE) -> np.ndarray:
    """CLIP's preprocessing of one image: (3, size, size) float32 (shortest side bicubic to `size`, centre crop,
    /255, CLIP mean/std)."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    image = image.convert("RGB")
    width, height = image.size
    resized = (size, int(size * height / width)) if width <= height else (int(size * width / height), size)
    if resized != image.size:
        image = image.resize(resized, Image.Resampling.BICUBIC)
    left, top = (resized[0] - size) // 2, (resized[1] - size) // 2
    image = image.crop((left, top, left + size, top + size))
    array = np.asarray(image, dtype=np.float32) / 255.0
    array = (array - np.asarray(CLIP_MEAN, dtype=np.float32)) / np.asarray(CLIP_STD, dtype=np.float32)
    return array.transpose(2, 0, 1)


class CLIPImageSimilarity:
    """Cosine similarity of CLIP image embeddings, batched."""

    def __init__(self, model: Any, *, name: str = "clip", batch_size: int = 16):
        self.model = model.eval()
        self.name = name
        self.batch_size = batch_size
        config = model.config
        self.image_size = int(getattr(config, "vision_config", config).image_size)
        self.device = next(model.parameters()).device

    @classmethod
    def from_path(cls, path: str | os.PathLike, device: str | None = None, batch_size: int = 16) -> CLIPImageSimilarity:
        """A CLIPModel or CLIPVisionModelWithProjection from a local folder; EncoderUnavailable when it cannot load."""
        folder = Path(path).expanduser()
        if not folder.is_dir():
            raise EncoderUnavailable(
                f"CLIP weights folder {folder} does not exist: download openai/clip-vit-large-patch14-336 to a "
                "folder and pass it as `clip_path=FOLDER` (CLIP is reported as not run when no path is given)."
            )
        import transformers

        try:
            config = transformers.AutoConfig.from_pretrained(str(folder), local_files_only=True)
            classes = {"clip": transformers.CLIPModel, "clip_vision_model": transformers.CLIPVisionModelWithProjection}
            if config.model_type not in classes:
                raise ValueError(f"model_type {config.model_type!r} is not a CLIP model")
            model = classes[config.model_type].from_pretrained(str(folder), local_files_only=True, dtype="float32")
        except Exception as exc:  # noqa: BLE001 - any loading failure means the metric cannot run
            raise EncoderUnavailable(f"cannot load a CLIP model from {folder}: {exc}") from exc
        return cls(model.to(_device(device)), name=f"clip:{folder}", batch_size=batch_size)

    def embed(self, images: Sequence[np.ndarray]) -> torch.Tensor:
        """(N, D) float32 image embeddings on the CPU."""
        import torch

        out = []
        with torch.inference_mode():
            for start in range(0, len(images), self.batch_size):
                chunk = images[start : start + self.batch_size]
                pixels = torch.from_numpy(np.stack([clip_preprocess(image, self.image_size) for image in chunk]))
                pixels = pixels.to(self.device, dtype=next(self.model.parameters()).dtype)
                pooled = self.model.vision_model(pixel_values=pixels).pooler_output
                out.append(self.model.visual_projection(pooled).float().cpu())
        return torch.cat(out) if out else torch.empty(0)

    def similarities(self, pairs: Sequence[tuple[np.ndarray, np.ndarray]]) -> list[float]:
        import torch

        if not pairs:
            return []
        features = self.embed([image for pair in pairs for image in pair])
        return torch.nn.functional.cosine_similarity(features[0::2], features[1::2], dim=-1).tolist()


def _device(device: str | None) -> str:
    import torch

    return device or ("cuda" if torch.cuda.is_available() else "cpu")


# -- the scorer ------------------------------------------------------------------------------------------------------
@dataclass
class SVGScore:
    """One sample's metrics; `lpips`/`clip`/`score` are None when that component was not run."""

    rendered: bool
    ssim: float
    lpips: float | None
    clip: float | None
    score: float | None
    error: str | None

    @property
    def low_level(self) -> float | None:
        return None if self.lpips is None else (self.ssim + 1.0 - self.lpips) / 2.0

    @property
    def high_level(self) -> float | None:
        return self.clip


class ReferenceRenderError(ValueError):
    """A reference SVG of the benchmark did not render."""


class UniSVGScorer:
    """Scores answers against reference SVGs. `lpips_weights`: a folder with `alexnet.pth` + `alex.pth`, a pair
    of paths (alexnet, linear) or an `AlexLPIPS`; `clip_path`: a local CLIP folder. Either may be None (not run)."""

    def __init__(
        self,
        lpips_weights: WeightSpec | AlexLPIPS | None = None,
        clip_path: str | os.PathLike | None = None,
        engine: RenderEngine | None = None,
        device: str | None = None,
        batch_size: int = 16,
    ):
        self._engine = engine
        self.batch_size = batch_size
        self.device = device
        self.lpips: AlexLPIPS | None = None
        self.clip: CLIPImageSimilarity | None = None
        if lpips_weights is not None:
            from evaluation.metrics.lpips_alex import AlexLPIPS

            model = lpips_weights if isinstance(lpips_weights, AlexLPIPS) else AlexLPIPS.from_spec(lpips_weights)
            self.device = _device(device)
            self.lpips = model.to(self.device).eval()
        if clip_path is not None:
            self.device = _device(device)
            self.clip = CLIPImageSimilarity.from_path(clip_path, self.device, batch_size=batch_size)

    @property
    def engine(self) -> RenderEngine:
        if self._engine is None:
            from renderers.engine import default_engine

            self._engine = default_engine()
        return self._engine

    @property
    def not_run(self) -> list[str]:
        """Components this scorer cannot compute (no weights given)."""
        return [name for name, part in (("lpips", self.lpips), ("clip", self.clip)) if part is None]

    def _missing(self, error: str) -> SVGScore:
        lpips = None if self.lpips is None else 1.0
        clip = None if self.clip is None else 0.0
        return SVGScore(False, 0.0, lpips, clip, combine(0.0, lpips, clip), error)

    def score(self, answer_text: str | None, reference_svg: str) -> SVGScore:
        return self.score_many([(answer_text, reference_svg)])[0]

    def score_many(self, pairs: Iterable[tuple[str | None, str]]) -> list[SVGScore]:
        """Scores of (answer, reference SVG) pairs, in order; renders run in parallel, LPIPS/CLIP in batches."""
        pairs = list(pairs)
        codes = [answer_svg(answer) for answer, _ in pairs]
        items: list[tuple[str, str, RenderOptions]] = []
        for (_, reference), (code, _) in zip(pairs, codes, strict=True):
            items.append((reference, "svg", RENDER_OPTIONS))
            if code is not None:
                items.append((code, "svg", RENDER_OPTIONS))
        results = iter(list(self.engine.render_many(items)))

        scores: list[SVGScore | None] = []
        rendered: list[tuple[int, np.ndarray, np.ndarray]] = []
        for index, (code, why) in enumerate(codes):
            reference = next(results)
            if not reference.ok:
                raise ReferenceRenderError(
                    f"reference SVG #{index} did not render ({reference.error_kind}): {reference.error_message}"
                )
            if code is None:
                scores.append(self._missing(why or "no SVG"))
                continue
            prediction = next(results)
            if not prediction.ok:
                message = (prediction.error_message or "").strip().splitlines()
                scores.append(self._missing(f"render failed ({prediction.error_kind}): {' '.join(message)[:300]}"))
                continue
            scores.append(None)
            rendered.append((index, render_array(prediction.image), render_array(reference.image)))

        image_pairs = [(prediction, reference) for _, prediction, reference in rendered]
        lpips_values = (
            self.lpips.distances(image_pairs, self.batch_size, self.device) if self.lpips and image_pairs else None
        )
        clip_values = self.clip.similarities(image_pairs) if self.clip and image_pairs else None
        for k, (index, prediction, reference) in enumerate(rendered):
            ssim = ssim_rgb(prediction, reference)
            lpips = None if lpips_values is None else float(lpips_values[k])
            clip = None if clip_values is None else float(clip_values[k])
            scores[index] = SVGScore(True, ssim, lpips, clip, combine(ssim, lpips, clip), None)
        return scores  # type: ignore[return-value]


def aggregate(scores: Sequence[SVGScore]) -> dict[str, Any]:
    """Means over ALL samples (0-1 scale); a component that was not run is None and listed in `not_run`."""
    n = len(scores)
    not_run = [name for name in ("lpips", "clip") if any(getattr(s, name) is None for s in scores)]

    def mean(values: list[float | None]) -> float | None:
        if n == 0 or any(v is None for v in values):
            return None
        return float(np.mean(values))

    result: dict[str, Any] = {
        "n": n,
        "render_rate": None if n == 0 else sum(s.rendered for s in scores) / n,
        "ssim": mean([s.ssim for s in scores]),
        "lpips": mean([s.lpips for s in scores]),
        "clip": mean([s.clip for s in scores]),
        "low_level": mean([s.low_level for s in scores]),
        "high_level": mean([s.high_level for s in scores]),
        "score": mean([s.score for s in scores]),
        "not_run": not_run,
    }
    if not_run:
        result["note"] = f"score not computed: {', '.join(not_run)} not run (no weights given)"
    return result
