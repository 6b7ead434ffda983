"""Every renderer's output becomes the same thing: an RGB PNG on white, within the pixel limit."""

from __future__ import annotations

import io
import warnings
from typing import Any

from renderers.result import RenderFailure, RenderOptions, png_size


def _rgb_png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) when `data` is an 8-bit, non-interlaced RGB PNG (already in the output format)."""
    size = png_size(data)
    if size is None or len(data) < 29:
        return None
    bit_depth, color_type, interlace = data[24], data[25], data[28]
    return size if (bit_depth, color_type, interlace) == (8, 2, 0) else None


def normalize(produced: bytes, options: RenderOptions, trusted: bool = False) -> tuple[bytes, int, int, dict[str, Any]]:
    """(png, width, height, notes) for encoded image bytes; raises RenderFailure('bad_image') when unusable.

    An 8-bit RGB PNG is already in the output format and passes through unchanged (no re-encoding): decoded once
    to verify it, or, when `trusted` (Chromium's own screenshots), only its header is checked.
    """
    from PIL import Image

    if not produced:
        raise RenderFailure("no_output", "the renderer produced no image data")
    size = _rgb_png_size(produced)
    if size is not None and trusted:
        width, height = size
        if width * height > options.max_pixels:
            raise RenderFailure("bad_image", f"{width}x{height} exceeds max_pixels={options.max_pixels}")
        return produced, width, height, {}
    previous, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, options.max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(produced))
            width, height = img.size
            if width < 1 or height < 1:
                raise RenderFailure("bad_image", f"the image is {width}x{height}")
            if width * height > options.max_pixels:
                raise RenderFailure("bad_image", f"{width}x{height} exceeds max_pixels={options.max_pixels}")
            img.load()
    except RenderFailure:
        raise
    except Image.DecompressionBombError as exc:
        raise RenderFailure("bad_image", f"exceeds max_pixels={options.max_pixels}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - any decoder error means the output is not an image
        raise RenderFailure("bad_image", f"the output is not a readable image: {exc}") from None
    finally:
        Image.MAX_IMAGE_PIXELS = previous
    rgb = flatten(img)
    notes: dict[str, Any] = {}
    low, high = zip(*rgb.getextrema(), strict=True)
    if low == high:
        notes["blank"] = True
    if size is not None:  # verified by the decode above; already RGB
        return produced, width, height, notes
    buf = io.BytesIO()
    rgb.save(buf, "PNG", compress_level=3)
    return buf.getvalue(), width, height, notes


def flatten(img):
    """RGB image with any transparency composited onto white."""
    from PIL import Image

    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        background.alpha_composite(rgba)
        return background.convert("RGB")
    return img.convert("RGB")
