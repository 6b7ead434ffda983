"""Coarse-to-fine tiling of a target image and its render for the visual reward.

The visual reward compares the image a completion draws with the target image piece by piece. Both images are
decoded to RGB on white paper, the render is resized to the target's exact size, and one tile grid chosen from the
target's aspect ratio cuts both into 448x448 tiles (the fine level); when the grid has more than one tile, a 448x448
thumbnail of the whole image is added last (the coarse level, aspect ratio squashed).

The grid choice is InternVL's dynamic-resolution rule with a tile size of 448: among all (cols, rows) with
`min_tiles <= cols * rows <= max_tiles`, take the grid whose cols/rows is closest to width/height; on an exact tie
in that distance, a later (larger) candidate replaces the current one only when the image area exceeds half of the
candidate grid's pixel area (0.5 * 448² * cols * rows), so small images do not get blown up into many tiles.

Only PIL and numpy are needed here; the encoders live in `training.rewards.encoders`.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image

TILE = 448
MIN_TILES = 1
MAX_TILES = 12
MAX_PIXELS = 83_000_000

_WIDE_GREY_MODES = ("I", "I;16", "I;16B", "I;16L", "F")


class VisualInputError(ValueError):
    """An image the visual reward cannot use; `kind` is "too_large" or "bad_image" (the caller scores it 0)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class TilePairs:
    """Tiles of a target image and of its render cut with the same grid: fine tiles row by row, thumbnail last."""

    grid: tuple[int, int]
    targets: list[Image.Image]
    renders: list[Image.Image]


def _to_8bit_grey(img: Image.Image) -> Image.Image:
    """16-bit and 32-bit grey images scaled (not clipped) to 8-bit "L"; other modes unchanged."""
    if img.mode not in _WIDE_GREY_MODES:
        return img
    values = np.asarray(img, dtype=np.float64)
    top = 65535.0 if img.mode.startswith("I;16") else max(float(values.max()), 1.0)
    return Image.fromarray(np.clip(values / top * 255.0, 0, 255).astype(np.uint8), "L")


def _check_size(width: int, height: int, max_pixels: int) -> None:
    if width < 1 or height < 1:
        raise VisualInputError("bad_image", f"the image is {width}x{height}")
    if width * height > max_pixels:
        raise VisualInputError("too_large", f"{width}x{height} exceeds max_pixels={max_pixels}")


def _decode(data: bytes, max_pixels: int) -> Image.Image:
    """Decode image bytes, refusing oversized images from the header before any pixel is decoded."""
    # PIL's own decompression-bomb guard is switched off while opening so that our limit is the one that applies.
    previous, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            _check_size(*img.size, max_pixels)
            img.load()
    except VisualInputError:
        raise
    except Image.DecompressionBombError as exc:  # another thread restored PIL's guard meanwhile
        raise VisualInputError("too_large", f"exceeds PIL's pixel limit: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - any decoder error means the bytes are not a usable image
        raise VisualInputError("bad_image", f"not a readable image: {exc}") from None
    finally:
        Image.MAX_IMAGE_PIXELS = previous
    return img


def load_rgb(source: bytes | Image.Image, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """RGB image (transparency composited onto white) from PNG/JPEG/... bytes or a PIL image.

    Raises VisualInputError("too_large") above `max_pixels` (width * height, from the header) and
    VisualInputError("bad_image") for anything that does not decode to a non-empty image.
    """
    from renderers.image import flatten  # the render stage's own compositing; imported late (renderers is heavy)

    if isinstance(source, Image.Image):
        _check_size(*source.size, max_pixels)
        img = source
    elif isinstance(source, bytes | bytearray | memoryview):
        img = _decode(bytes(source), max_pixels)
    else:
        raise VisualInputError("bad_image", f"expected image bytes or a PIL image, got {type(source).__name__}")
    try:
        return flatten(_to_8bit_grey(img))
    except Exception as exc:  # noqa: BLE001 - exotic modes without an RGB conversion
        raise VisualInputError("bad_image", f"cannot convert mode {img.mode} to RGB: {exc}") from None


def candidate_grids(min_tiles: int = MIN_TILES, max_tiles: int = MAX_TILES) -> list[tuple[int, int]]:
    """All (cols, rows) with min_tiles <= cols * rows <= max_tiles, ordered by cols * rows.

    Built exactly as InternVL builds its target ratios (a set sorted by tile count), so grids with the same tile
    count come in the same order as there: Python's iteration order of a set of small-int tuples, which does not
    depend on the hash seed (integer hashes are not randomised).
    """
    grids = {
        (i, j)
        for n in range(min_tiles, max_tiles + 1)
        for i in range(1, n + 1)
        for j in range(1, n + 1)
        if min_tiles <= i * j <= max_tiles
    }
    return sorted(grids, key=lambda grid: grid[0] * grid[1])


def choose_grid(
    width: int, height: int, min_tiles: int = MIN_TILES, max_tiles: int = MAX_TILES, tile: int = TILE
) -> tuple[int, int]:
    """(cols, rows) whose ratio is closest to width / height; exact ties go to a larger grid for large images."""
    aspect = width / height
    area = width * height
    best, best_diff = (1, 1), float("inf")
    for cols, rows in candidate_grids(min_tiles, max_tiles):
        diff = abs(aspect - cols / rows)
        if diff < best_diff:
            best, best_diff = (cols, rows), diff
        elif diff == best_diff and area > 0.5 * tile * tile * cols * rows:
            best = (cols, rows)
    return best


def tiles(image: Image.Image, grid: tuple[int, int], tile: int = TILE) -> list[Image.Image]:
    """Fine tiles of `image` resized to the grid, row by row (left to right, top to bottom), then the thumbnail
    (the whole image squashed to tile x tile) when the grid has more than one tile."""
    cols, rows = grid
    resized = image.resize((tile * cols, tile * rows), Image.Resampling.BICUBIC)
    out = [resized.crop((c * tile, r * tile, (c + 1) * tile, (r + 1) * tile)) for r in range(rows) for c in range(cols)]
    if cols * rows > 1:
        out.append(image.resize((tile, tile), Image.Resampling.BICUBIC))
    return out


def tile_pairs(
    target: bytes | Image.Image,
    rendered: bytes | Image.Image,
    min_tiles: int = MIN_TILES,
    max_tiles: int = MAX_TILES,
    tile: int = TILE,
    max_pixels: int = MAX_PIXELS,
) -> TilePairs:
    """Tiles of the target and of the render resized to the target's size, both cut with the target's grid."""
    target_img = load_rgb(target, max_pixels)
    rendered_img = load_rgb(rendered, max_pixels)
    if rendered_img.size != target_img.size:
        rendered_img = rendered_img.resize(target_img.size, Image.Resampling.BICUBIC)
    grid = choose_grid(*target_img.size, min_tiles=min_tiles, max_tiles=max_tiles, tile=tile)
    return TilePairs(grid=grid, targets=tiles(target_img, grid, tile), renders=tiles(rendered_img, grid, tile))
