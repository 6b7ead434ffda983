"""Every renderer's output becomes the same thing: an RGB PNG on white, within the pixel limit."""

from __future__ import annotations

import io
import warnings
from typing import Any

from renderers.result import RenderFailure, RenderOptions


def normalize(produced: bytes, options: RenderOptions) -> tuple[bytes, int, int, dict[str, Any]]:
    """(png, width, height, notes) for encoded image bytes; raises RenderFailure('bad_image') when unusable."""
    from PIL import Image

    if not produced:
        raise RenderFailure("no_output", "the renderer produced no image data")
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
