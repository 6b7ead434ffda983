"""Tile grid choice, tile cutting and image loading of the coarse-to-fine visual reward."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from training.rewards.tiling import (
    MAX_PIXELS,
    TILE,
    VisualInputError,
    candidate_grids,
    choose_grid,
    load_rgb,
    tile_pairs,
    tiles,
)

# Half the pixel area of one 448x448 tile: a tie goes to a grid of n tiles only when width * height > HALF * n.
HALF = 0.5 * TILE * TILE  # 100352


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def test_candidates_are_ordered_by_tile_count_like_internvl():
    grids = candidate_grids()
    assert len(grids) == len(set(grids)) == 35  # sum over n = 1..12 of the divisor count of n
    assert all(1 <= c * r <= 12 for c, r in grids)
    assert [c * r for c, r in grids] == sorted(c * r for c, r in grids)
    # InternVL's target_ratios order (a set sorted by tile count; same-count order is the set's iteration order).
    assert grids[:6] == [(1, 1), (1, 2), (2, 1), (3, 1), (1, 3), (2, 2)]
    assert grids[-5:] == [(3, 4), (4, 3), (1, 12), (6, 2), (2, 6)]
    narrow = candidate_grids(2, 4)
    assert set(narrow) == {(1, 2), (2, 1), (3, 1), (1, 3), (2, 2), (4, 1), (1, 4)}
    assert [c * r for c, r in narrow] == [2, 2, 3, 3, 4, 4, 4]
    assert candidate_grids(1, 1) == [(1, 1)]


@pytest.mark.parametrize(
    ("size", "grid"),
    [
        ((448, 448), (1, 1)),  # ratio 1 exact; (2,2) ties but 448² = 200704 <= HALF*4
        ((1, 1), (1, 1)),
        ((896, 448), (2, 1)),  # ratio 2 exact; (4,2) ties but 401408 <= HALF*8
        ((448, 896), (1, 2)),
        ((1344, 448), (3, 1)),  # ratio 3 exact; (6,2) ties but 602112 <= HALF*12
        ((10000, 100), (12, 1)),  # ratio 100: the widest candidate
        ((100, 10000), (1, 12)),
        ((800, 600), (4, 3)),  # 4/3 exact, 12 tiles; (8,6) is over the limit
        ((600, 800), (3, 4)),
        ((1024, 768), (4, 3)),
        ((1000, 500), (2, 1)),  # (4,2) ties: 500000 <= HALF*8 = 802816 -> stays (2,1)
        ((2000, 1000), (4, 2)),  # 2e6 > 802816 -> (4,2); (6,3) = 18 tiles is not a candidate
        ((1000, 2000), (2, 4)),
        ((100, 50), (2, 1)),
        ((1500, 1000), (3, 2)),  # 1.5 exact
        ((1920, 1080), (4, 2)),  # 1.78: 2/1 is closest (5/3 needs 15 tiles); 2073600 > HALF*8 -> (4,2)
        ((1280, 720), (4, 2)),  # 921600 > 802816
        ((1000, 1000), (3, 3)),  # (2,2): 1e6 > HALF*4; (3,3): 1e6 > HALF*9 = 903168
        ((900, 900), (2, 2)),  # 810000 > HALF*4 = 401408 but <= HALF*9
        ((500, 400), (4, 3)),  # 1.25: 4/3 (0.083) beats 1 and 3/2 (0.25 each)
        ((700, 400), (2, 1)),  # 1.75: 3/2 and 4/2 tie with 2/1 (0.25) but 280000 <= HALF*6
        ((1750, 1000), (4, 2)),  # 1.75 again: 1.75e6 > HALF*6 -> (3,2), then > HALF*8 -> (4,2)
        ((1000, 300), (3, 1)),  # 3.33: 3 (0.33) beats 4 (0.67)
    ],
)
def test_grid_choice(size, grid):
    assert choose_grid(*size) == grid


def test_tie_rule_both_ways_at_the_threshold():
    # Ratio 2 (2,1) first, then (4,2) with the same ratio: replaces only when the area is strictly above HALF * 8.
    threshold = HALF * 8  # 802816 = 1267.1... x 633.5...; use exact areas around it
    assert choose_grid(1268, 634) == (4, 2)  # 803912 > threshold
    assert choose_grid(1266, 633) == (2, 1)  # 801378 <= threshold
    assert 1268 * 634 > threshold > 1266 * 633
    # Exactly at the threshold the larger grid does not win (strictly greater): 1008 x 896 = 903168 = HALF * 9,
    # ratio 1.125 -> (1,1), (2,2) and (3,3) tie; (2,2) replaces (903168 > HALF*4), (3,3) does not.
    assert HALF * 9 == 1008 * 896
    assert choose_grid(1008, 896) == (2, 2)
    assert choose_grid(1009, 896) == (3, 3)
    # 2048 x 588 = 1204224 = HALF * 12: (3,1) and (6,2) tie in ratio, the area is not above -> (3,1).
    assert HALF * 12 == 2048 * 588
    assert choose_grid(2048, 588) == (3, 1)
    assert choose_grid(2048, 589) == (6, 2)


def test_min_and_max_tiles_are_respected():
    assert choose_grid(2000, 1000, max_tiles=6) == (2, 1)  # (4,2) is out of range
    assert choose_grid(10000, 100, max_tiles=6) == (6, 1)
    assert choose_grid(448, 448, min_tiles=2) == (2, 2)  # (1,1) excluded; ratio 1 exact first at 4 tiles
    assert choose_grid(5000, 5000, max_tiles=1) == (1, 1)
    for width, height in [(123, 4567), (3000, 20), (640, 480), (50, 50)]:
        cols, rows = choose_grid(width, height, min_tiles=3, max_tiles=5)
        assert 3 <= cols * rows <= 5


def test_min_tiles_tie_follows_candidate_order():
    # Ratio 1 with 2..3 tiles: (1,2) is 0.5 away, (1,3) 0.67, (2,1) 1, (3,1) 2.
    assert choose_grid(448, 448, min_tiles=2, max_tiles=3) == (1, 2)


def quadrants(width: int, height: int) -> Image.Image:
    """Red, green / blue, yellow quadrants."""
    a = np.zeros((height, width, 3), np.uint8)
    a[: height // 2, : width // 2] = (255, 0, 0)
    a[: height // 2, width // 2 :] = (0, 255, 0)
    a[height // 2 :, : width // 2] = (0, 0, 255)
    a[height // 2 :, width // 2 :] = (255, 255, 0)
    return Image.fromarray(a, "RGB")


def centre(tile: Image.Image) -> tuple[int, ...]:
    return tile.getpixel((TILE // 2, TILE // 2))


def test_tiles_row_by_row_with_thumbnail_last():
    out = tiles(quadrants(900, 900), (2, 2))
    assert len(out) == 5
    assert all(t.size == (TILE, TILE) and t.mode == "RGB" for t in out)
    assert [centre(t) for t in out[:4]] == [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
    thumb = np.asarray(out[4])  # the whole image squashed: its four quadrants again
    assert tuple(thumb[100, 100]) == (255, 0, 0) and tuple(thumb[100, 350]) == (0, 255, 0)
    assert tuple(thumb[350, 100]) == (0, 0, 255) and tuple(thumb[350, 350]) == (255, 255, 0)


def test_wide_grid_order_and_count():
    a = np.zeros((100, 300, 3), np.uint8)
    for i, value in enumerate((10, 120, 230)):
        a[:, i * 100 : (i + 1) * 100] = value
    img = Image.fromarray(a, "RGB")
    out = tiles(img, (3, 1))
    assert len(out) == 4
    assert [centre(t)[0] for t in out[:3]] == [10, 120, 230]


def test_single_tile_has_no_thumbnail():
    img = quadrants(300, 300)
    out = tiles(img, (1, 1))
    assert len(out) == 1 and out[0].size == (TILE, TILE)
    assert np.array_equal(np.asarray(out[0]), np.asarray(img.resize((TILE, TILE), Image.Resampling.BICUBIC)))


def test_tiles_are_bicubic_crops_of_the_resized_image():
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 256, (300, 500, 3), dtype=np.uint8), "RGB")
    out = tiles(img, (2, 1))
    big = np.asarray(img.resize((2 * TILE, TILE), Image.Resampling.BICUBIC))
    assert np.array_equal(np.asarray(out[0]), big[:, :TILE])
    assert np.array_equal(np.asarray(out[1]), big[:, TILE:])
    assert np.array_equal(np.asarray(out[2]), np.asarray(img.resize((TILE, TILE), Image.Resampling.BICUBIC)))


@pytest.mark.parametrize(("size", "count"), [((448, 448), 1), ((2000, 1000), 9), ((800, 600), 13), ((100, 50), 3)])
def test_tile_pairs_count(size, count):
    img = quadrants(*size)
    pairs = tile_pairs(png_bytes(img), img)
    cols, rows = pairs.grid
    assert len(pairs.targets) == len(pairs.renders) == count == cols * rows + (cols * rows > 1)


def test_render_is_resized_to_the_target_before_tiling():
    target = quadrants(2000, 1000)  # grid (4,2)
    rendered = quadrants(300, 900)  # on its own it would get a tall grid
    pairs = tile_pairs(target, png_bytes(rendered))
    assert pairs.grid == (4, 2) == choose_grid(2000, 1000)
    expected = tiles(rendered.resize((2000, 1000), Image.Resampling.BICUBIC), (4, 2))
    assert len(pairs.renders) == len(expected) == 9
    for got, want in zip(pairs.renders, expected, strict=True):
        assert np.array_equal(np.asarray(got), np.asarray(want))
    # The quadrant layout survives the resize: top-left tile red, bottom-right tile yellow.
    assert centre(pairs.renders[0]) == (255, 0, 0) and centre(pairs.renders[7]) == (255, 255, 0)


def test_identical_sizes_need_no_resize():
    img = quadrants(640, 480)
    pairs = tile_pairs(img, img.copy())
    for a, b in zip(pairs.targets, pairs.renders, strict=True):
        assert np.array_equal(np.asarray(a), np.asarray(b))


def test_load_rgb_flattens_transparency_onto_white():
    rgba = Image.new("RGBA", (10, 10), (255, 0, 0, 0))
    rgba.putpixel((0, 0), (0, 0, 255, 255))
    out = load_rgb(png_bytes(rgba))
    assert out.mode == "RGB" and out.size == (10, 10)
    assert out.getpixel((5, 5)) == (255, 255, 255)
    assert out.getpixel((0, 0)) == (0, 0, 255)
    assert load_rgb(Image.new("LA", (4, 4), (0, 0))).getpixel((1, 1)) == (255, 255, 255)


def test_load_rgb_scales_16_bit_grey_instead_of_clipping():
    a = np.full((8, 8), 32768, np.uint16)  # mid grey in 16 bits
    a[0, 0] = 65535
    img = Image.fromarray(a)
    data = png_bytes(img)
    with Image.open(io.BytesIO(data)) as check:
        assert check.mode.startswith("I")
    out = load_rgb(data)
    assert out.mode == "RGB"
    assert out.getpixel((4, 4)) == (127, 127, 127)  # 32768 / 65535 * 255 = 127.5 (clipping would give 255)
    assert out.getpixel((0, 0)) == (255, 255, 255)
    f = Image.fromarray(np.array([[0.0, 2.0], [4.0, 8.0]], np.float32))  # 32-bit float: scaled by its maximum
    assert np.asarray(load_rgb(f))[:, :, 0].tolist() == [[0, 63], [127, 255]]


def png_header_claiming(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims width x height, with a tiny (wrong-sized) pixel stream."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")


def test_too_large_is_refused_from_the_header():
    previous = Image.MAX_IMAGE_PIXELS
    with pytest.raises(VisualInputError) as info:
        load_rgb(png_header_claiming(100_000, 100_000))  # 1e10 pixels: would be PIL's bomb error otherwise
    assert info.value.kind == "too_large" and "max_pixels" in str(info.value)
    assert previous == Image.MAX_IMAGE_PIXELS  # PIL's guard is restored
    with pytest.raises(VisualInputError) as info:
        load_rgb(png_header_claiming(10_000, 8_301))  # 83_010_000 > MAX_PIXELS
    assert info.value.kind == "too_large"
    assert MAX_PIXELS < 10_000 * 8_301


def test_max_pixels_applies_to_real_images_and_pil_inputs():
    img = quadrants(100, 100)
    for source in (png_bytes(img), img):
        with pytest.raises(VisualInputError) as info:
            load_rgb(source, max_pixels=9_999)
        assert info.value.kind == "too_large"
        assert load_rgb(source, max_pixels=10_000).size == (100, 100)
    with pytest.raises(VisualInputError):
        tile_pairs(img, img, max_pixels=9_999)
    with pytest.raises(VisualInputError):
        tile_pairs(img.resize((10, 10)), img, max_pixels=9_999)  # the render is checked too
    assert tile_pairs(img, img, max_pixels=10_000).grid == (1, 1)


@pytest.mark.parametrize("data", [b"", b"not an image at all", png_bytes(Image.new("RGB", (50, 50)))[:60]])
def test_bad_bytes_are_bad_image(data):
    with pytest.raises(VisualInputError) as info:
        load_rgb(data)
    assert info.value.kind == "bad_image"
    assert isinstance(info.value, ValueError)


def test_jpeg_and_palette_inputs():
    buf = io.BytesIO()
    quadrants(64, 64).save(buf, "JPEG")
    assert load_rgb(buf.getvalue()).mode == "RGB"
    palette = quadrants(64, 64).convert("P")
    assert load_rgb(png_bytes(palette)).getpixel((0, 0)) == (255, 0, 0)
