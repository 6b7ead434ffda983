"""Colour helpers shared by the evaluation metrics.

Colours arrive either as hex strings (``#RGB``, ``#RGBA``, ``#RRGGBB`` or ``#RRGGBBAA``; an alpha part is ignored)
or as sRGB triples on the 0-255 scale (floats allowed, e.g. the mean of a block's pixels). Perceptual distance is
CIEDE2000 in CIELAB (D65, 2° observer) as computed by scikit-image, and the similarity that ChartMimic and
Design2Code both use is ``max(0, 1 - ΔE2000 / 100)``: identical colours give 1, a difference of 100 or more gives 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from skimage.color import deltaE_ciede2000, rgb2lab

RGB = tuple[float, float, float]

#: ΔE2000 at (and beyond) which two colours count as completely different.
DELTA_E_SCALE = 100.0

_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def is_hex_color(value: str) -> bool:
    """True for ``#`` followed by 3, 4, 6 or 8 hex digits."""
    if not isinstance(value, str) or not value.startswith("#"):
        return False
    digits = value[1:]
    return len(digits) in (3, 4, 6, 8) and all(ch in _HEX_DIGITS for ch in digits)


def normalize_hex(value: str) -> str:
    """Upper-case ``#RRGGBB`` form of a hex colour (short forms expanded, alpha dropped)."""
    if not is_hex_color(value):
        raise ValueError(f"not a hex colour: {value!r}")
    digits = value[1:]
    if len(digits) in (3, 4):
        digits = "".join(ch * 2 for ch in digits[:3])
    return "#" + digits[:6].upper()


def hex_to_rgb(value: str) -> tuple[int, int, int]:
    """``'#ff8000'`` → ``(255, 128, 0)``."""
    digits = normalize_hex(value)[1:]
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def rgb_to_hex(rgb: Sequence[float]) -> str:
    """``(255, 128, 0)`` → ``'#FF8000'`` (channels rounded and clipped to 0-255)."""
    r, g, b = (int(min(255, max(0, round(float(c))))) for c in rgb[:3])
    return f"#{r:02X}{g:02X}{b:02X}"


def as_rgb(color: str | Sequence[float]) -> RGB:
    """A hex string or a 0-255 triple as a float triple."""
    if isinstance(color, str):
        return tuple(float(c) for c in hex_to_rgb(color))  # type: ignore[return-value]
    values = tuple(float(c) for c in color)
    if len(values) < 3:
        raise ValueError(f"an RGB colour needs three channels: {color!r}")
    return values[0], values[1], values[2]


@lru_cache(maxsize=65536)
def _lab(rgb: RGB) -> tuple[float, float, float]:
    lab = rgb2lab(np.asarray(rgb, dtype=float).reshape(1, 1, 3) / 255.0).reshape(3)
    return float(lab[0]), float(lab[1]), float(lab[2])


def rgb_to_lab(color: str | Sequence[float]) -> tuple[float, float, float]:
    """CIELAB (D65, 2°) of an sRGB colour given as hex or 0-255 triple."""
    return _lab(as_rgb(color))


def ciede2000_lab(lab_a: Sequence[float], lab_b: Sequence[float]) -> float:
    """CIEDE2000 difference of two Lab colours (kL = kC = kH = 1)."""
    return float(deltaE_ciede2000(np.asarray(lab_a, dtype=float), np.asarray(lab_b, dtype=float)))


def ciede2000(rgb_a: str | Sequence[float], rgb_b: str | Sequence[float]) -> float:
    """CIEDE2000 difference of two sRGB colours (hex strings or 0-255 triples)."""
    return ciede2000_lab(rgb_to_lab(rgb_a), rgb_to_lab(rgb_b))


def similarity_from_delta_e(delta_e: float) -> float:
    """``max(0, 1 - ΔE / 100)``."""
    return max(0.0, 1.0 - float(delta_e) / DELTA_E_SCALE)


def color_similarity(a: str | Sequence[float], b: str | Sequence[float]) -> float:
    """``max(0, 1 - ΔE2000(a, b) / 100)`` for two sRGB colours."""
    return similarity_from_delta_e(ciede2000(a, b))
