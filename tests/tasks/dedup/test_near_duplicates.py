"""Acceptance test of near-duplicate grouping on the real shared images with injected copies.

The 150 originals are the shared ChartMimic charts (120, ~640x480) and Design2Code screenshots (30, scaled to
480 px wide to keep the test fast). Every original gets one copy per transformation in ``TRANSFORMS``; all
150 + 150 x 30 hashes are grouped together by ``group_duplicates`` with the originals first in priority.

* recall (per transformation) = copies that are removed (not a representative) into a group whose representative
  comes from their own original (the original itself or another copy of it);
* false merges = items whose representative comes from a different original (an original absorbed by another
  original, or a copy recorded under the wrong original), over all 4650 items, all transformations included.

Measured (percent; pHash distances between balanced hashes are even, so r=10 and r=11 behave alike). The
in-range set is asserted at ``DEFAULT_RADIUS`` (each >= 95 %, false merges <= 1 %); the rest is reported only.
Run this file as a script to print the table again (``python tests/tasks/dedup/test_near_duplicates.py 6 8 10 12``).

    transformation   range r=6    r=8    r=10   r=12
    jpeg_q95         in      99.3   99.3   99.3   99.3
    jpeg_q75         in      99.3   99.3   99.3   99.3
    jpeg_q50         in      99.3   99.3   99.3   99.3
    jpeg_q30         in      98.7  100.0  100.0  100.0
    jpeg_q10         in      99.3  100.0  100.0  100.0
    scale_50         in      99.3   99.3   99.3   99.3
    scale_150        in      99.3   99.3   99.3  100.0
    scale_25         in     100.0  100.0  100.0  100.0
    aspect_80        in      99.3   99.3  100.0  100.0
    crop_1           in      98.7   99.3  100.0  100.0
    crop_2           in      96.0   98.7  100.0  100.0
    bright_90        in      99.3   99.3  100.0   99.3
    contrast_120     in      99.3   99.3   99.3   99.3
    grey             in     100.0  100.0  100.0  100.0
    box_blur_1       in     100.0  100.0  100.0  100.0
    noise_8          in      99.3   99.3   99.3  100.0
    bright_110       out     92.0   94.0   96.0   96.7
    crop_5           out     54.0   71.3   86.0   92.7
    crop_10          out     21.3   29.3   36.7   46.7
    crop_2_corner    out     83.3   93.3   98.7   98.7
    crop_5_corner    out     28.0   43.3   58.7   76.7
    pad_5            out     17.3   30.7   50.0   68.0
    hue_30           out     84.7   90.0   96.0   96.7
    hue_180          out     62.0   72.0   79.3   83.3
    rotate_1         out     91.3   92.7   94.7   96.7
    rotate_2         out     74.0   88.0   94.7   96.7
    rotate_5         out     32.7   45.3   60.0   72.7
    watermark        out     78.7   88.0   92.7   95.3
    flip             out      0.0    0.0    0.0    0.7
    invert           out      0.0    0.0    0.0    0.0
    false merges %           0.02   0.06   0.13   0.34
    originals absorbed          0      0      0      2

Why these lines: the in-range rows stay >= 98.7 % at every radius from 8 up. bright_110, crop_2_corner and hue_30
pass 95 % here at r=10 but measured 93-97 % with the screenshots at full size or 640 px wide during development,
and rotate_1 is at 94.7 %, so they are reported, not asserted. The 99.3 % rows are one chart (density_2, a smooth
filled density plot whose low-frequency DCT coefficients sit close to their median): even a JPEG q95 re-encode
moves its hash by 16 bits.
r=10 is the default: the closest pair of distinct originals is 12 bits apart (2 of 11175 pairs), and r=12 absorbs
exactly those 2 originals into other groups; at r=10 no original is absorbed and false merges stay at 0.13 %.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

from tasks.dedup.neighbors import DEFAULT_RADIUS, group_duplicates
from tasks.dedup.phash import phash_batch

WEB_WIDTH = 480


def _jpeg(quality: int) -> Callable[[Image.Image], Image.Image]:
    def f(im: Image.Image) -> Image.Image:
        buf = io.BytesIO()
        im.convert("RGB").save(buf, "JPEG", quality=quality)
        return Image.open(io.BytesIO(buf.getvalue()))

    return f


def _scale(kx: float, ky: float | None = None) -> Callable[[Image.Image], Image.Image]:
    ky = kx if ky is None else ky
    return lambda im: im.resize(
        (max(1, round(im.width * kx)), max(1, round(im.height * ky))), Image.Resampling.BILINEAR
    )


def _crop(frac: float, corner: bool = False) -> Callable[[Image.Image], Image.Image]:
    """Remove ``frac`` of the width and of the height: split over both edges, or all from the right and bottom."""

    def f(im: Image.Image) -> Image.Image:
        w, h = im.size
        dx, dy = round(w * frac), round(h * frac)
        if corner:
            return im.crop((0, 0, w - dx, h - dy))
        return im.crop((dx // 2, dy // 2, w - (dx - dx // 2), h - (dy - dy // 2)))

    return f


def _pad(frac: float) -> Callable[[Image.Image], Image.Image]:
    def f(im: Image.Image) -> Image.Image:
        dx, dy = round(im.width * frac), round(im.height * frac)
        out = Image.new("RGB", (im.width + 2 * dx, im.height + 2 * dy), (255, 255, 255))
        out.paste(im.convert("RGB"), (dx, dy))
        return out

    return f


def _hue(degrees: float) -> Callable[[Image.Image], Image.Image]:
    def f(im: Image.Image) -> Image.Image:
        hsv = np.asarray(im.convert("RGB").convert("HSV")).copy()
        hsv[..., 0] = (hsv[..., 0].astype(np.int64) + round(degrees * 256 / 360)) % 256
        return Image.fromarray(hsv, "HSV").convert("RGB")

    return f


def _enhance(kind: type, factor: float) -> Callable[[Image.Image], Image.Image]:
    return lambda im: kind(im.convert("RGB")).enhance(factor)


def _rotate(degrees: float) -> Callable[[Image.Image], Image.Image]:
    return lambda im: im.convert("RGB").rotate(degrees, Image.Resampling.BILINEAR, fillcolor=(255, 255, 255))


def _watermark(im: Image.Image) -> Image.Image:
    im = im.convert("RGB")
    draw = ImageDraw.Draw(im, "RGBA")
    font = ImageFont.load_default(size=max(12, im.height // 12))
    draw.text((im.width * 0.05, im.height * 0.85), "(c) sample watermark", fill=(128, 128, 128, 160), font=font)
    return im


def _noise(sigma: float) -> Callable[[Image.Image], Image.Image]:
    """Gaussian noise (a fixed 256x256 tile repeated over the image, cheaper than fresh noise per pixel)."""
    tile = np.random.default_rng(0).normal(0.0, sigma, (256, 256, 3)).astype(np.float32)

    def f(im: Image.Image) -> Image.Image:
        a = np.asarray(im.convert("RGB"), dtype=np.float32)
        reps = (-(-a.shape[0] // 256), -(-a.shape[1] // 256), 1)
        a = a + np.tile(tile, reps)[: a.shape[0], : a.shape[1]]
        return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))

    return f


# (name, transformation, in range at DEFAULT_RADIUS)
TRANSFORMS: list[tuple[str, Callable[[Image.Image], Image.Image], bool]] = [
    ("jpeg_q95", _jpeg(95), True),
    ("jpeg_q75", _jpeg(75), True),
    ("jpeg_q50", _jpeg(50), True),
    ("jpeg_q30", _jpeg(30), True),
    ("jpeg_q10", _jpeg(10), True),
    ("scale_50", _scale(0.5), True),
    ("scale_150", _scale(1.5), True),
    ("scale_25", _scale(0.25), True),
    ("aspect_80", _scale(0.8, 1.0), True),
    ("crop_1", _crop(0.01), True),
    ("crop_2", _crop(0.02), True),
    ("bright_90", _enhance(ImageEnhance.Brightness, 0.9), True),
    ("contrast_120", _enhance(ImageEnhance.Contrast, 1.2), True),
    ("grey", lambda im: im.convert("L"), True),
    ("box_blur_1", lambda im: im.convert("RGB").filter(ImageFilter.BoxBlur(1)), True),
    ("noise_8", _noise(8), True),
    ("bright_110", _enhance(ImageEnhance.Brightness, 1.1), False),
    ("crop_5", _crop(0.05), False),
    ("crop_10", _crop(0.10), False),
    ("crop_2_corner", _crop(0.02, corner=True), False),
    ("crop_5_corner", _crop(0.05, corner=True), False),
    ("pad_5", _pad(0.05), False),
    ("hue_30", _hue(30), False),
    ("hue_180", _hue(180), False),
    ("rotate_1", _rotate(1), False),
    ("rotate_2", _rotate(2), False),
    ("rotate_5", _rotate(5), False),
    ("watermark", _watermark, False),
    ("flip", ImageOps.mirror, False),
    ("invert", lambda im: ImageOps.invert(im.convert("RGB")), False),
]


def load_originals(shared: Path) -> list[Image.Image]:
    images = []
    for path in sorted((shared / "charts").glob("*.png")) + sorted((shared / "web").glob("*.png")):
        im = Image.open(path)
        im.load()
        if im.width > WEB_WIDTH:
            im = im.resize((WEB_WIDTH, round(im.height * WEB_WIDTH / im.width)), Image.Resampling.LANCZOS)
        images.append(im)
    return images


def hash_all(originals: list[Image.Image]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hashes, owner original, transformation index or -1 for originals) over originals + every copy."""
    items = list(originals)
    owner = list(range(len(originals)))
    kind = [-1] * len(originals)
    rgb = [im.convert("RGB") for im in originals]  # once, instead of in every transformation
    for t, (_, fn, _) in enumerate(TRANSFORMS):
        items.extend(fn(im) for im in rgb)
        owner.extend(range(len(originals)))
        kind.extend([t] * len(originals))
    batch = phash_batch(items)
    assert batch.valid.all()
    return batch.hashes, np.array(owner), np.array(kind)


def measure(hashes: np.ndarray, owner: np.ndarray, kind: np.ndarray, radius: int) -> tuple[dict[str, float], float]:
    """Recall per transformation and the false-merge rate over all items (see the module docstring)."""
    priority = (kind < 0).astype(np.float64)  # originals lead their groups
    rep = group_duplicates(hashes, radius, priority).representative
    removed_right = (rep != np.arange(len(rep))) & (owner[rep] == owner)
    recall = {name: float(removed_right[kind == t].mean()) for t, (name, _, _) in enumerate(TRANSFORMS)}
    return recall, float((owner[rep] != owner).mean())


@pytest.fixture(scope="module")
def hashed(shared_data):
    return hash_all(load_originals(shared_data))


def test_in_range_recall_and_false_merges(hashed):
    recall, false_merge = measure(*hashed, DEFAULT_RADIUS)
    for name, _, in_range in TRANSFORMS:
        print(f"{name:16s} {'in' if in_range else 'out':4s} recall {recall[name] * 100:5.1f} %")
    print(f"false merges {false_merge * 100:.2f} %")
    low = {name: recall[name] for name, _, in_range in TRANSFORMS if in_range and recall[name] < 0.95}
    assert not low, f"in-range transformations under 95 % recall: {low}"
    assert false_merge <= 0.01


def test_exact_copies_always_group(hashed):
    hashes, owner, kind = hashed
    originals = hashes[kind < 0]
    doubled = np.concatenate([originals, originals])
    rep = group_duplicates(doubled, 0).representative
    n = len(originals)
    assert (rep[n:] == rep[:n]).all()


if __name__ == "__main__":  # print the table for several radii
    shared = Path(os.environ.get("VINCI_SHARED_DATA", Path(__file__).resolve().parents[4] / "shared" / "data"))
    data = hash_all(load_originals(shared))
    radii = [int(r) for r in sys.argv[1:]] or [6, 8, 10, 12]
    results = {r: measure(*data, r) for r in radii}
    print(f"{'transformation':16s} {'range':5s} " + " ".join(f"r={r:<4d}" for r in radii))
    for name, _, in_range in TRANSFORMS:
        cells = " ".join(f"{results[r][0][name] * 100:6.1f}" for r in radii)
        print(f"{name:16s} {'in' if in_range else 'out':5s} {cells}")
    print(f"{'false merges %':22s} " + " ".join(f"{results[r][1] * 100:6.2f}" for r in radii))
    hashes, owner, kind = data
    n = int((kind < 0).sum())
    absorbed = [group_duplicates(hashes, r, (kind < 0) * 1.0).representative[:n] != np.arange(n) for r in radii]
    print(f"{'originals absorbed':22s} " + " ".join(f"{int(a.sum()):6d}" for a in absorbed))
