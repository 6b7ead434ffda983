"""Perceptual hashes and cheap clustering features, computed in one decode of each image.

The hash is bit-for-bit ``imagehash.phash(img)`` (hash_size=8, highfreq_factor=4), as an unsigned 64-bit integer
whose hexadecimal form equals ``str(imagehash.phash(img))``:

1. ``img.convert("L")`` (so alpha, palette, 16-bit and CMYK images behave exactly as in imagehash),
2. resize to 32x32 with LANCZOS,
3. 2-D DCT-II, unnormalised: ``scipy.fftpack.dct`` along axis 0, then along axis 1,
4. the top-left 8x8 block; bit = coefficient > median of the block,
5. bits in row-major order, the first bit the most significant.

Decoding and resizing happen per image with Pillow (they are >99 % of the cost: a PNG has to be inflated in full);
the DCT, the median and the bit packing run once over the whole stack. The batched ``scipy.fftpack.dct`` applies
the same 1-D transforms as the per-image calls, so the coefficients are identical, not merely close (tested).
``workers > 1`` decodes in threads; Pillow releases the GIL while decoding, converting and resizing.

Features (float32, ``FEATURE_DIM`` = 81 columns), weights-free and nearly free to compute:

* ``layout`` (63): the 8x8 low-frequency DCT block that the hash thresholds, without the DC term, divided by its
  L2 norm: the coarse arrangement of light and dark, independent of overall brightness and contrast.
* ``colour`` (13): a 12-bin hue histogram where each pixel counts with saturation x value (grey, white and black
  pixels count ~0), plus the mean saturation. Sampled from a 64x64 nearest-neighbour grid of the decoded image
  (4096 point samples, no extra pass over the full-size pixels); transparent pixels are composited on white.
* ``tone`` (5): the fraction of sampled pixels in four brightness bins (dark / mid / light / near-white) and
  log(width / height).

``FEATURE_WEIGHTS`` gives each column a multiplier for use after standardisation (see ``diverse.diverse_sample``)
so that the blocks weigh 1/2 (layout), 1/4 (colour), 1/4 (tone) of the squared distance, whatever their widths.
"""

from __future__ import annotations

import io
import re
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
import scipy.fftpack
from PIL import Image

_ADDRESS = re.compile(r"\s*<[^<>]* at 0x[0-9a-fA-F]+>")
HASH_SIZE = 8
IMG_SIZE = 32  # hash_size * highfreq_factor
SAMPLE_SIZE = 64  # nearest-neighbour colour sample grid
HUE_BINS = 12
TONE_EDGES = (64, 160, 230)  # value bins: [0,64) dark, [64,160) mid, [160,230) light, [230,255] near-white

LAYOUT = slice(0, 63)
COLOUR = slice(63, 76)
TONE = slice(76, 81)
FEATURE_DIM = 81
_BLOCK_SHARE = ((LAYOUT, 0.5), (COLOUR, 0.25), (TONE, 0.25))
FEATURE_WEIGHTS = np.zeros(FEATURE_DIM, dtype=np.float32)
for _block, _share in _BLOCK_SHARE:
    FEATURE_WEIGHTS[_block] = np.sqrt(_share / (_block.stop - _block.start))


class HashBatch(NamedTuple):
    """Result of ``phash_batch``: row i of every array belongs to input i."""

    hashes: np.ndarray  # uint64 (n,), 0 where invalid
    features: np.ndarray  # float32 (n, FEATURE_DIM), 0 where invalid
    valid: np.ndarray  # bool (n,)
    errors: list[str | None]  # why an item is invalid ("ExceptionType: message"), None when valid


class _Decoded(NamedTuple):
    grey: np.ndarray  # uint8 (32, 32): the image imagehash would transform
    sample: np.ndarray  # uint8 (64, 64, 3): HSV point samples
    aspect: float


def _open(data: bytes | Image.Image, max_pixels: int | None) -> Image.Image:
    img = data if isinstance(data, Image.Image) else Image.open(io.BytesIO(data))
    w, h = img.size
    if max_pixels is not None and w * h > max_pixels:
        raise Image.DecompressionBombError(f"image has {w * h} pixels, over the limit of {max_pixels}")
    if w < 1 or h < 1:
        raise ValueError(f"image has no pixels ({w}x{h})")
    img.load()
    return img


def _colour_sample(img: Image.Image) -> np.ndarray:
    small = img.resize((SAMPLE_SIZE, SAMPLE_SIZE), Image.Resampling.NEAREST)
    if small.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (small.mode == "P" and "transparency" in small.info):
        rgba = small.convert("RGBA")
        small = Image.new("RGB", rgba.size, (255, 255, 255))
        small.paste(rgba, mask=rgba.getchannel("A"))
    elif small.mode != "RGB":
        try:
            small = small.convert("RGB")
        except (ValueError, OSError):  # modes Pillow cannot turn into RGB directly (e.g. I;16): via L
            small = small.convert("L").convert("RGB")
    return np.asarray(small.convert("HSV"))


def _decode(data: bytes | Image.Image, max_pixels: int | None) -> _Decoded:
    img = _open(data, max_pixels)
    grey = img.convert("L").resize((IMG_SIZE, IMG_SIZE), Image.Resampling.LANCZOS)
    w, h = img.size
    return _Decoded(np.asarray(grey), _colour_sample(img), float(np.log(w / h)))


def _dct_block(grey: np.ndarray) -> np.ndarray:
    """(n, 32, 32) pixels -> (n, 8, 8) float64 low-frequency DCT coefficients, as imagehash computes them."""
    dct = scipy.fftpack.dct(scipy.fftpack.dct(grey, axis=1), axis=2)
    return dct[:, :HASH_SIZE, :HASH_SIZE]


def _bits_to_uint64(bits: np.ndarray) -> np.ndarray:
    """(n, 64) booleans, first the most significant -> (n,) uint64."""
    packed = np.packbits(bits.astype(np.uint8), axis=1)  # big-endian bit order within each byte
    return packed.view(">u8").reshape(-1).astype(np.uint64)


def _hash_block(block: np.ndarray) -> np.ndarray:
    flat = block.reshape(len(block), HASH_SIZE * HASH_SIZE)
    med = np.median(flat, axis=1)
    return _bits_to_uint64(flat > med[:, None])


def _features(block: np.ndarray, sample: np.ndarray, aspect: np.ndarray) -> np.ndarray:
    n = len(block)
    out = np.zeros((n, FEATURE_DIM), dtype=np.float32)
    ac = block.reshape(n, -1)[:, 1:]
    norm = np.linalg.norm(ac, axis=1, keepdims=True)
    out[:, LAYOUT] = np.divide(ac, norm, out=np.zeros_like(ac), where=norm > 0)

    hsv = sample.reshape(n, -1, 3).astype(np.float32)
    hue, sat, val = hsv[..., 0], hsv[..., 1] / 255.0, hsv[..., 2]
    weight = sat * (val / 255.0)
    hue_bin = np.minimum((hue * HUE_BINS / 256.0).astype(np.int64), HUE_BINS - 1)
    rows = np.repeat(np.arange(n), hue.shape[1])
    hist = np.zeros((n, HUE_BINS), dtype=np.float64)
    np.add.at(hist, (rows, hue_bin.reshape(-1)), weight.reshape(-1))
    out[:, COLOUR.start : COLOUR.start + HUE_BINS] = hist / hue.shape[1]
    out[:, COLOUR.stop - 1] = sat.mean(axis=1)

    tone = np.searchsorted(np.asarray(TONE_EDGES), val.reshape(-1), side="right").reshape(n, -1)
    for b in range(len(TONE_EDGES) + 1):
        out[:, TONE.start + b] = (tone == b).mean(axis=1)
    out[:, TONE.stop - 1] = aspect
    return out


def _describe(exc: Exception) -> str:
    """'Type: message', without object addresses (Pillow names the BytesIO it could not read), at most 300 chars."""
    message = _ADDRESS.sub("", str(exc)).strip()
    return f"{type(exc).__name__}: {message}"[:300]


def phash_batch(images: list[bytes | Image.Image], *, workers: int = 1, max_pixels: int | None = None) -> HashBatch:
    """pHash and clustering features of every image; undecodable or oversized items are marked invalid.

    ``max_pixels`` defaults to Pillow's ``Image.MAX_IMAGE_PIXELS`` (read at call time); larger images are treated
    as decompression bombs and marked invalid without being decoded (Pillow's own hard stop at twice its limit
    applies whatever ``max_pixels`` says). One bad item never fails the batch. ``workers > 1`` decodes in that many
    threads; leave it at 1 where every core already runs a shard.
    """
    limit = Image.MAX_IMAGE_PIXELS if max_pixels is None else max_pixels
    n = len(images)

    def one(item):
        try:
            return _decode(item, limit)
        except Exception as exc:  # noqa: BLE001 - any decoder failure is a per-item result
            return _describe(exc)

    with warnings.catch_warnings():  # once per batch (not per thread): the limit above decides, not the warning
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        if workers > 1 and n > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                decoded = list(pool.map(one, images))
        else:
            decoded = [one(item) for item in images]

    valid = np.array([isinstance(d, _Decoded) for d in decoded], dtype=bool)
    errors = [None if isinstance(d, _Decoded) else d for d in decoded]
    hashes = np.zeros(n, dtype=np.uint64)
    features = np.zeros((n, FEATURE_DIM), dtype=np.float32)
    ok = [d for d in decoded if isinstance(d, _Decoded)]
    if ok:
        block = _dct_block(np.stack([d.grey for d in ok]))
        hashes[valid] = _hash_block(block)
        sample = np.stack([d.sample for d in ok])
        aspect = np.array([d.aspect for d in ok])
        features[valid] = _features(block, sample, aspect)
    return HashBatch(hashes, features, valid, errors)


def phash(image: Image.Image | bytes) -> int:
    """The 64-bit pHash of one image (``int(str(imagehash.phash(img)), 16)``); raises if it cannot be decoded."""
    if isinstance(image, bytes | bytearray):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = _open(bytes(image), Image.MAX_IMAGE_PIXELS)
    grey = np.asarray(image.convert("L").resize((IMG_SIZE, IMG_SIZE), Image.Resampling.LANCZOS))
    return int(_hash_block(_dct_block(grey[None]))[0])


def hamming(a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
    """Element-wise Hamming distance between uint64 hashes (broadcasting), as uint8."""
    x = np.bitwise_xor(np.asarray(a, dtype=np.uint64), np.asarray(b, dtype=np.uint64))
    return np.bitwise_count(x)
