"""How close a draft's render is to the target image: SSIM on a common grey-scale canvas.

A weights-free similarity in [0, 1] (negative SSIM is clipped to 0), computed with scikit-image on both images
resized to `SIZE`. 1.0 means the draft draws the target; a draft that fails to render has no score (None) and
is imperfect by definition.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

SIZE = (256, 256)


def _grey(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        if im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):  # 16/32-bit grey: scale to 8 bits, not clip
            values = np.asarray(im, dtype=np.float64)
            top = 65535.0 if im.mode.startswith("I;16") else max(float(values.max()), 1.0)
            im = Image.fromarray(np.clip(values / top * 255.0, 0, 255).astype(np.uint8), "L")
        im = im.convert("RGBA")
        canvas = Image.new("RGBA", im.size, (255, 255, 255, 255))  # transparent areas read as white paper
        canvas.alpha_composite(im)
        return np.asarray(canvas.convert("L").resize(SIZE, Image.Resampling.BILINEAR), dtype=np.float64) / 255.0


def similarity(target: bytes, draft: bytes) -> float:
    """SSIM of the two images (PNG/JPEG bytes) after resizing, clipped to [0, 1]."""
    from skimage.metrics import structural_similarity

    score = structural_similarity(_grey(target), _grey(draft), data_range=1.0)
    return float(min(1.0, max(0.0, score)))
