"""Image2Struct LaTeX: a rendered LaTeX image is turned back into LaTeX; the answer is compiled and its image is
compared with the reference image by the Earth Mover Similarity (EMS).

Compilation. The answer goes through the render sandbox (`renderers.engine`, language ``"latex"``; a snippet is
wrapped into a standalone document, a complete document is compiled as written). Of the first page (a document with
more pages is scored on its first page, not failed), the bottom 20 % is cut off (where an article puts its page
number) and then the uniform white border: the image is cropped to the bounding box of the pixels that are not pure
white; an image with no such pixel is kept whole. Rasterisation is at 200 dpi, the resolution Image2Struct used
(pdf2image's default). Any compile failure scores 0 for every metric and counts against the rendering success rate.
Caveat: the 20 % cut is part of the benchmark's definition and is applied as specified even to tight standalone
pages, where it removes the bottom of the drawing (of prediction and reference alike).

Earth Mover Similarity, as defined by Image2Struct and implemented here:

1. Grey: g = (0.299 R + 0.587 G + 0.114 B) / 255, so 0 is black and 1 is white.
2. The smaller image is padded with white at the bottom/right until both have the same size (Image2Struct pastes
   the smaller image at the top-left of a white canvas).
3. With 8x8 patches, an image of W x H pixels has ceil(W/8) * ceil(H/8) patches. Over 100, both images are resized
   (bicubic, the Pillow default Image2Struct relied on) to a grid of whole patches: with d = sqrt(patches / 100) the
   grid is c = ceil(W / 8 / d) columns (at most 100) by r = floor(100 / c) rows, i.e. 8c x 8r pixels, keeping the
   aspect ratio as well as whole patches allow. Otherwise the size is kept and the last row/column of patches is
   completed with the dominant grey (below). RGB images are resized in RGB and then turned grey, as Image2Struct
   does; grey inputs are resized as grey.
4. The dominant grey is the most frequent grey value of the (resized) reference, its share the fraction of the
   reference's pixels that have it (ties: the darker value).
5. Patch weight = 0.001 + 0.999 * [the patch holds some value other than the dominant grey], normalised to sum 1
   per image. When the dominant share is over 50 %, patches made only of the dominant grey in both images are
   dropped (Image2Struct's rule: "constant" means constant at the dominant grey; if every patch would go, the first
   one is kept). The two images then share one weight per patch: the larger of the two weights, re-normalised.
6. Cost of moving patch i of the prediction onto patch j of the reference = the pixel-level EMD between the two
   patches + the L1 distance between the patch positions (row / rows, column / columns) * sqrt(64) / (W + H), with
   W x H the compared size in pixels. The pixel-level EMD treats each of the 64 pixels as a point (grey value, x / 8,
   y / 8) with L1 ground distance and weight 0.001 + 0.999 * [value differs from the dominant grey], normalised per
   patch; i.e. the value is a coordinate and the dominant-coloured background carries almost no mass, exactly as
   Image2Struct's signatures do.
7. EMD(pred, ref) = OpenCV's EMD between the two patch signatures (the shared weights) with that cost matrix.
8. EMS = 1 - EMD(pred, ref) / EMD(constant, ref), the constant image being white when the reference's dominant grey
   is below 127/255 and black otherwise (decided on the padded reference before any resize; the denominator is
   computed with the same procedure, the constant image in the prediction's place).

Edge cases. Identical inputs give EMD 0 and EMS exactly 1. EMS is not clamped: a prediction farther from the
reference than the constant image gets a negative score, as in Image2Struct's own numbers (the mean over samples
includes it). A zero denominator cannot happen for a real reference (the constant image always differs from the
reference's dominant grey); if it did, EMS is 1 when the numerator is 0 too and 0 otherwise.

Speed. The cost matrix needs up to 100 x 100 pixel-level EMDs (about 1.5 ms each). Equal patches cost 0 without a
solve, and each pair of distinct patch contents is solved once (EMD is symmetric), which makes the denominator (a
constant image) and mostly-blank drawings cheap; a fully busy 100-patch pair still takes ~10 s.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

GREY_WEIGHTS = (0.299, 0.587, 0.114)
PATCH = 8
MAX_PATCHES = 100
DOMINANT_WEIGHT = 0.001  # weight of a patch/pixel that shows only the dominant grey (others: 1)
DOMINANT_SHARE = 0.5  # drop all-dominant patches when the dominant grey covers more than this
CONSTANT_THRESHOLD = 127 / 255  # reference's dominant grey below this: the constant image is white, else black
CROP_BOTTOM = 0.2
LATEX_DPI = 200
MAX_THREADS = 8  # pixel-level EMDs solved in parallel (at most the CPUs this process may use)


@dataclass
class LatexScore:
    """One answer: whether it compiled, its EMS (0 when it did not) and why it did not."""

    rendered: bool
    ems: float
    error: str | None


# ---------------------------------------------------------------------------------------------------- images


def grey(rgb: np.ndarray) -> np.ndarray:
    """Grey values in [0, 1] (float64) of an RGB uint8 array."""
    return np.asarray(rgb, dtype=np.float64)[..., :3] @ np.asarray(GREY_WEIGHTS) / 255.0


def _as_pil(image: Any):
    """A PIL image in mode RGB (RGB input), L (grey uint8) or F (grey float in [0, 1]) for the supported inputs."""
    from PIL import Image

    if isinstance(image, Image.Image):
        return _flatten(image)
    if isinstance(image, bytes | bytearray | memoryview):
        with Image.open(io.BytesIO(bytes(image))) as img:
            return _flatten(img)
    if isinstance(image, str | Path):
        with Image.open(image) as img:
            return _flatten(img)
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] in (3, 4):
        if array.dtype == np.uint8:
            return _flatten(Image.fromarray(np.ascontiguousarray(array)))
        return _as_pil(np.asarray(array, dtype=np.float64)[..., :3] @ np.asarray(GREY_WEIGHTS))  # RGB in [0, 1]
    if array.ndim != 2:
        raise ValueError(f"expected a grey (H, W) or RGB (H, W, 3) array, got shape {array.shape}")
    if array.dtype == np.uint8:
        return Image.fromarray(np.ascontiguousarray(array), "L")
    if array.dtype == bool:
        array = array.astype(np.float32)
    return Image.fromarray(np.clip(np.asarray(array, dtype=np.float32), 0.0, 1.0), "F")


def _flatten(img):
    """RGB with transparency composited onto white (grey "L" images stay grey)."""
    from PIL import Image

    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        canvas.alpha_composite(rgba)
        return canvas.convert("RGB")
    if img.mode in ("L", "F", "RGB"):
        img.load()
        return img.copy()
    return img.convert("RGB")


def _white(mode: str) -> Any:
    return {"RGB": (255, 255, 255), "L": 255, "F": 1.0}[mode]


def _to_grey_array(img) -> np.ndarray:
    if img.mode == "RGB":
        return grey(np.asarray(img))
    if img.mode == "L":
        return np.asarray(img, dtype=np.float64) / 255.0
    return np.clip(np.asarray(img, dtype=np.float64), 0.0, 1.0)


def _pad_to(img, width: int, height: int):
    """`img` on a white canvas of width x height, at the top-left."""
    from PIL import Image

    if img.size == (width, height):
        return img
    canvas = Image.new(img.mode, (width, height), _white(img.mode))
    canvas.paste(img, (0, 0))
    return canvas


def resized_size(width: int, height: int, patch: int = PATCH, max_patches: int = MAX_PATCHES) -> tuple[int, int]:
    """The (width, height) EMS compares an image of this size at (see the module docstring, step 3)."""
    patches = math.ceil(width / patch) * math.ceil(height / patch)
    if patches <= max_patches:
        return width, height
    divider = math.sqrt(patches / max_patches)
    columns = min(max_patches, max(1, math.ceil(width / patch / divider)))
    rows = max(1, max_patches // columns)
    return columns * patch, rows * patch


def patch_grid(width: int, height: int, patch: int = PATCH, max_patches: int = MAX_PATCHES) -> tuple[int, int]:
    """(rows, columns) of patches EMS uses for an image of this size; rows * columns <= max_patches."""
    w, h = resized_size(width, height, patch, max_patches)
    return math.ceil(h / patch), math.ceil(w / patch)


def prepare(pred: Any, ref: Any) -> tuple[np.ndarray, np.ndarray, float]:
    """(pred grey, ref grey, the reference's grey before resizing's dominant value): steps 1-3 of the docstring."""
    pred_img, ref_img = _as_pil(pred), _as_pil(ref)
    if pred_img.mode != ref_img.mode:
        pred_img, ref_img = _as_float(pred_img), _as_float(ref_img)
    width = max(pred_img.size[0], ref_img.size[0])
    height = max(pred_img.size[1], ref_img.size[1])
    pred_img, ref_img = _pad_to(pred_img, width, height), _pad_to(ref_img, width, height)
    padded_dominant, _ = dominant_grey(_to_grey_array(ref_img))
    size = resized_size(width, height)
    if size != (width, height):
        from PIL import Image

        pred_img = pred_img.resize(size, Image.Resampling.BICUBIC)
        ref_img = ref_img.resize(size, Image.Resampling.BICUBIC)
    return _to_grey_array(pred_img), _to_grey_array(ref_img), padded_dominant


def _as_float(img):
    """A grey float image ("F", values in [0, 1]) for RGB/L/F input."""
    from PIL import Image

    if img.mode == "F":
        return img
    return Image.fromarray(_to_grey_array(img).astype(np.float32), "F")


def dominant_grey(image: np.ndarray) -> tuple[float, float]:
    """(most frequent value, its share of the pixels); ties go to the smaller value."""
    values, counts = np.unique(np.asarray(image).ravel(), return_counts=True)
    best = int(np.argmax(counts))
    return float(values[best]), float(counts[best]) / float(np.asarray(image).size)


# ---------------------------------------------------------------------------------------------------- EMD


def _patches(image: np.ndarray, fill: float) -> tuple[np.ndarray, np.ndarray]:
    """(patches (n, 64) row-major, positions (n, 2) as (row / rows, column / columns)) of a grey image, completed
    at the bottom/right with `fill` to whole patches."""
    height, width = image.shape
    rows, columns = math.ceil(height / PATCH), math.ceil(width / PATCH)
    full = np.full((rows * PATCH, columns * PATCH), fill, dtype=np.float64)
    full[:height, :width] = image
    patches = full.reshape(rows, PATCH, columns, PATCH).transpose(0, 2, 1, 3).reshape(rows * columns, PATCH * PATCH)
    r, c = np.divmod(np.arange(rows * columns), columns)
    positions = np.stack([r / rows, c / columns], axis=1)
    return patches, positions


_PIXEL_XY = np.stack(np.divmod(np.arange(PATCH * PATCH), PATCH)[::-1], axis=1) / PATCH  # (x, y) per pixel


def pixel_signature(patch: np.ndarray, dominant: float) -> np.ndarray:
    """OpenCV signature of one patch: rows (weight, grey value, x, y); the weight is 0.001 for a pixel of the
    dominant grey and 1 otherwise, normalised over the patch."""
    values = np.asarray(patch, dtype=np.float64).reshape(-1)
    weights = DOMINANT_WEIGHT + (1.0 - DOMINANT_WEIGHT) * (values != dominant)
    weights = weights / weights.sum()
    return np.column_stack([weights, values, _PIXEL_XY]).astype(np.float32)


def pixel_emd(patch_a: np.ndarray, patch_b: np.ndarray, dominant: float) -> float:
    """Pixel-level EMD between two 8x8 patches (L1 over grey value and in-patch position)."""
    import cv2

    if np.array_equal(patch_a, patch_b):
        return 0.0
    distance, _, _ = cv2.EMD(pixel_signature(patch_a, dominant), pixel_signature(patch_b, dominant), cv2.DIST_L1)
    return float(distance)


def _patch_weights(patches: np.ndarray, dominant: float) -> np.ndarray:
    weights = DOMINANT_WEIGHT + (1.0 - DOMINANT_WEIGHT) * np.any(patches != dominant, axis=1)
    return weights / weights.sum()


def _pixel_cost(patches_a: np.ndarray, patches_b: np.ndarray, dominant: float) -> np.ndarray:
    """Pixel-level EMD for every (a, b) pair, each distinct pair of contents solved once (in threads: OpenCV
    releases the GIL while it solves)."""
    unique_a, inverse_a = np.unique(patches_a, axis=0, return_inverse=True)
    unique_b, inverse_b = np.unique(patches_b, axis=0, return_inverse=True)
    keys_a = [row.tobytes() for row in unique_a]
    keys_b = [row.tobytes() for row in unique_b]
    pairs: dict[tuple[bytes, bytes], tuple[np.ndarray, np.ndarray]] = {}
    for i, key_a in enumerate(keys_a):
        for j, key_b in enumerate(keys_b):
            if key_a != key_b:
                key = (key_a, key_b) if key_a < key_b else (key_b, key_a)
                pairs.setdefault(key, (unique_a[i], unique_b[j]))
    solved = dict(zip(pairs, _solve_all(list(pairs.values()), dominant), strict=True))
    table = np.zeros((len(unique_a), len(unique_b)))
    for i, key_a in enumerate(keys_a):
        for j, key_b in enumerate(keys_b):
            if key_a != key_b:
                table[i, j] = solved[(key_a, key_b) if key_a < key_b else (key_b, key_a)]
    return table[np.ravel(inverse_a)][:, np.ravel(inverse_b)]


def _solve_all(pairs: list[tuple[np.ndarray, np.ndarray]], dominant: float) -> list[float]:
    try:
        workers = min(MAX_THREADS, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        workers = min(MAX_THREADS, os.cpu_count() or 1)
    if workers < 2 or len(pairs) < 256:
        return [pixel_emd(a, b, dominant) for a, b in pairs]
    size = math.ceil(len(pairs) / workers)
    chunks = [pairs[k : k + size] for k in range(0, len(pairs), size)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        parts = pool.map(lambda chunk: [pixel_emd(a, b, dominant) for a, b in chunk], chunks)
        return [value for part in parts for value in part]


@dataclass
class PatchSignatures:
    """What the patch-level EMD compares (steps 4-5): the kept patches of both images (n, 64), their positions
    (n, 2) as (row / rows, column / columns), the shared weights (n,), and the reference's dominant grey/share."""

    pred: np.ndarray
    ref: np.ndarray
    positions: np.ndarray
    weights: np.ndarray
    dominant: float
    share: float


def patch_signatures(pred: np.ndarray, ref: np.ndarray) -> PatchSignatures:
    """Steps 4-5 of the module docstring on two grey arrays of one size (already padded and resized)."""
    pred, ref = np.asarray(pred, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    if pred.shape != ref.shape or pred.ndim != 2:
        raise ValueError(f"EMD needs two grey images of one size, got {pred.shape} and {ref.shape}")
    dominant, share = dominant_grey(ref)
    pred_patches, positions = _patches(pred, dominant)
    ref_patches, _ = _patches(ref, dominant)
    pred_weights = _patch_weights(pred_patches, dominant)
    ref_weights = _patch_weights(ref_patches, dominant)
    if share > DOMINANT_SHARE:
        keep = np.any(pred_patches != dominant, axis=1) | np.any(ref_patches != dominant, axis=1)
        if not keep.any():
            keep[0] = True
        pred_patches, ref_patches, positions = pred_patches[keep], ref_patches[keep], positions[keep]
        pred_weights, ref_weights = pred_weights[keep], ref_weights[keep]
    weights = np.maximum(pred_weights, ref_weights)
    return PatchSignatures(pred_patches, ref_patches, positions, weights / weights.sum(), dominant, share)


def block_emd(pred: np.ndarray, ref: np.ndarray) -> float:
    """Steps 4-7 of the module docstring on two grey arrays of one size (already padded and resized)."""
    import cv2

    signatures = patch_signatures(pred, ref)
    if np.array_equal(np.asarray(pred), np.asarray(ref)):
        return 0.0
    height, width = np.asarray(ref).shape
    positions = signatures.positions
    moves = np.abs(positions[:, None, :] - positions[None, :, :]).sum(axis=2) * math.sqrt(PATCH * PATCH)
    cost = _pixel_cost(signatures.pred, signatures.ref, signatures.dominant) + moves / (width + height)
    weights = signatures.weights.astype(np.float32).reshape(-1, 1)
    distance, _, _ = cv2.EMD(weights, weights.copy(), cv2.DIST_USER, cost.astype(np.float32))
    return max(0.0, float(distance))


def emd(pred: Any, ref: Any) -> float:
    """EMD(pred, ref) for images of any sizes (grey or RGB arrays, PIL images, PNG bytes): steps 1-7."""
    pred_grey, ref_grey, _ = prepare(pred, ref)
    return block_emd(pred_grey, ref_grey)


def earth_mover_similarity(pred: Any, ref: Any) -> float:
    """EMS = 1 - EMD(pred, ref) / EMD(constant, ref); 1 for identical images (see the module docstring)."""
    pred_grey, ref_grey, padded_dominant = prepare(pred, ref)
    numerator = block_emd(pred_grey, ref_grey)
    if numerator == 0.0:
        return 1.0
    constant = np.full(ref_grey.shape, 1.0 if padded_dominant < CONSTANT_THRESHOLD else 0.0)
    denominator = block_emd(constant, ref_grey)
    if denominator <= 0.0:
        return 0.0
    return 1.0 - numerator / denominator


# ---------------------------------------------------------------------------------------------------- LaTeX


def compile_latex(code: str, engine: Any = None, dpi: int = LATEX_DPI, timeout_s: float = 30.0):
    """The engine's RenderResult for LaTeX code (first page as PNG, or a typed failure); not cropped."""
    from renderers.engine import default_engine
    from renderers.result import RenderOptions

    engine = engine or default_engine()
    return engine.render(code, "latex", RenderOptions(dpi=dpi, timeout_s=timeout_s))


def crop_page(image: Any):
    """Image2Struct's crop of a rendered first page: drop the bottom 20 %, then the white border."""
    img = _as_pil(image)
    if img.mode != "RGB":
        img = img.convert("RGB") if img.mode == "L" else _as_float(img).convert("L").convert("RGB")
    width, height = img.size
    img = img.crop((0, 0, width, height - int(height * CROP_BOTTOM)))
    ink = np.any(np.asarray(img) != 255, axis=2)
    if not ink.any():
        return img
    rows, columns = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return img.crop((int(columns[0]), int(rows[0]), int(columns[-1]) + 1, int(rows[-1]) + 1))


def render_latex(code: str, engine: Any = None, dpi: int = LATEX_DPI, timeout_s: float = 30.0):
    """(cropped RGB PIL image, None) or (None, error) for LaTeX code; a multi-page document keeps its first page."""
    if not code or not code.strip():
        return None, "empty answer"
    result = compile_latex(code, engine, dpi, timeout_s)
    usable = result.ok or (result.error_kind == "multi_page" and result.image)
    if not usable or not result.image:
        return None, f"{result.error_kind}: {result.error_message}"
    return crop_page(result.image), None


def score(
    pred_code: str | None,
    ref_code_or_image: Any,
    engine: Any = None,
    *,
    dpi: int = LATEX_DPI,
    timeout_s: float = 30.0,
) -> LatexScore:
    """Score LaTeX code against reference LaTeX code (a str, compiled and cropped the same way) or a reference image
    (PNG bytes, a path, a PIL image or an array, used as it is: Image2Struct's reference images are already
    cropped). A reference that does not compile raises ValueError."""
    if isinstance(ref_code_or_image, str):
        reference, error = render_latex(ref_code_or_image, engine, dpi, timeout_s)
        if reference is None:
            raise ValueError(f"the reference LaTeX does not compile: {error}")
    else:
        reference = ref_code_or_image
    predicted, error = render_latex(pred_code or "", engine, dpi, timeout_s)
    if predicted is None:
        return LatexScore(False, 0.0, error)
    return LatexScore(True, earth_mover_similarity(predicted, reference), None)


def aggregate(scores: Iterable[LatexScore]) -> dict[str, Any]:
    """{"n", "rendering_success_rate", "ems"}: percentages over ALL samples (a failed render counts 0)."""
    scores = list(scores)
    n = len(scores)
    return {
        "n": n,
        "rendering_success_rate": 100.0 * sum(s.rendered for s in scores) / n if n else 0.0,
        "ems": 100.0 * sum(s.ems if s.rendered else 0.0 for s in scores) / n if n else 0.0,
    }
