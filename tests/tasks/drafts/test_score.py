"""Draft similarity: SSIM in [0, 1] on a common grey canvas; transparency reads as white paper."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tasks.drafts.score import similarity

BARS = (100, 200, 150, 250)
BLUE = (76, 114, 176)


def encode(im: Image.Image, fmt: str = "PNG", **kwargs) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kwargs)
    return buf.getvalue()


def bar_chart(size=(400, 300), mode="RGB", background=(255, 255, 255), bars=BARS, color=BLUE) -> Image.Image:
    """A bar chart drawn with PIL (axes + bars) on `background`; coordinates scale with `size`."""
    w, h = size
    sx, sy = w / 400, h / 300
    im = Image.new(mode, size, background)
    draw = ImageDraw.Draw(im)
    opaque = (255,) if mode == "RGBA" else ()
    for i, height in enumerate(bars):
        box = [(50 + i * 80) * sx, (280 - height) * sy, (100 + i * 80) * sx, 280 * sy]
        draw.rectangle(box, fill=color + opaque)
    draw.line([40 * sx, 20 * sy, 40 * sx, 280 * sy], fill=(0, 0, 0) + opaque, width=2)
    draw.line([40 * sx, 280 * sy, 380 * sx, 280 * sy], fill=(0, 0, 0) + opaque, width=2)
    return im


def noise(size=(400, 300), seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def test_identical_images_score_one():
    for im in (bar_chart(), noise(), bar_chart((37, 911))):
        data = encode(im)
        assert similarity(data, data) == pytest.approx(1.0, abs=1e-9)
    # same pixels, different encodings
    chart = bar_chart()
    assert similarity(encode(chart), encode(chart, optimize=True, compress_level=1)) == pytest.approx(1.0, abs=1e-9)


def test_small_perturbation_scores_high_but_below_one():
    target = encode(bar_chart())
    one_bar_taller = encode(bar_chart(bars=(100, 210, 150, 250)))
    recoloured = encode(bar_chart(color=(90, 120, 170)))
    for draft in (one_bar_taller, recoloured):
        score = similarity(target, draft)
        assert 0.9 < score < 1.0
    # a bigger change scores lower than a small one
    different_bars = encode(bar_chart(bars=(250, 40, 220, 60)))
    assert similarity(target, different_bars) < similarity(target, one_bar_taller)


def test_unrelated_image_scores_low():
    chart = encode(bar_chart())
    assert similarity(chart, encode(noise())) < 0.2
    assert similarity(encode(noise(seed=1)), encode(noise(seed=2))) < 0.2
    white, black = Image.new("RGB", (64, 64), "white"), Image.new("RGB", (64, 64), "black")
    assert similarity(encode(white), encode(black)) < 0.01


def test_range_and_symmetry():
    images = [encode(bar_chart()), encode(noise()), encode(bar_chart(bars=(10, 20, 30, 40))), encode(noise(seed=3))]
    for a in images:
        for b in images:
            score = similarity(a, b)
            assert isinstance(score, float)
            assert 0.0 <= score <= 1.0
            assert score == pytest.approx(similarity(b, a), abs=1e-12)


def test_negative_ssim_is_clipped_to_zero():
    """A checkerboard against its inverse has SSIM < 0 before clipping."""
    tiles = (np.indices((256, 256)).sum(axis=0) // 8 % 2 * 255).astype(np.uint8)
    board, inverse = Image.fromarray(tiles), Image.fromarray(255 - tiles)
    assert similarity(encode(board), encode(inverse)) == 0.0


def test_transparent_png_reads_as_white_paper():
    on_white = encode(bar_chart())
    # transparent black background: without compositing on white it would read as black
    transparent = encode(bar_chart(mode="RGBA", background=(0, 0, 0, 0)))
    assert similarity(on_white, transparent) == pytest.approx(1.0, abs=1e-9)
    assert similarity(transparent, on_white) == pytest.approx(1.0, abs=1e-9)
    other = encode(bar_chart(bars=(250, 40, 220, 60)))
    assert similarity(other, transparent) == pytest.approx(similarity(other, on_white), abs=1e-12)
    # palette PNG with a transparent index, and grey + alpha
    rgba = bar_chart(mode="RGBA", background=(0, 0, 0, 0))
    assert similarity(on_white, encode(rgba.convert("LA"))) == pytest.approx(1.0, abs=1e-9)
    palette = bar_chart(background=(255, 0, 255)).convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    key = palette.getpixel((0, 0))
    assert palette.getpalette()[3 * key : 3 * key + 3] == [255, 0, 255]
    assert similarity(on_white, encode(palette, transparency=key)) == pytest.approx(1.0, abs=1e-9)


def test_different_sizes_are_compared_on_one_canvas():
    target = encode(bar_chart((400, 300)))
    for size in ((800, 600), (200, 150), (403, 297)):
        assert similarity(target, encode(bar_chart(size))) > 0.9
    # a tiny and a huge image still give a score in range
    score = similarity(encode(bar_chart((9, 7))), encode(bar_chart((1600, 1200))))
    assert 0.0 <= score <= 1.0


def test_jpeg_and_grey_inputs():
    chart = bar_chart()
    assert similarity(encode(chart), encode(chart, "JPEG", quality=90)) > 0.95
    assert similarity(encode(chart), encode(chart.convert("L"))) == pytest.approx(1.0, abs=1e-9)


def test_sixteen_bit_grey_png_scores_like_its_eight_bit_copy():
    grey = bar_chart().convert("L")
    sixteen = Image.fromarray(np.asarray(grey).astype(np.uint16) * 257)
    assert sixteen.mode == "I;16"
    assert similarity(encode(grey), encode(sixteen)) == pytest.approx(1.0, abs=1e-6)


def chart_pngs(shared: Path) -> list[Path]:
    files = sorted((shared / "charts").glob("*.png"))
    assert len(files) >= 10
    return files


def test_real_charts(shared_data):
    files = chart_pngs(shared_data)
    target_path = files[0]
    target = target_path.read_bytes()
    assert similarity(target, target) == pytest.approx(1.0, abs=1e-9)
    with Image.open(target_path) as im:
        original = im.convert("RGB")
    # recompressed and half-size copies of the same chart: high but not perfect
    for draft in (encode(original, "JPEG", quality=60), encode(original.resize((im.width // 2, im.height // 2)))):
        assert 0.95 < similarity(target, draft) < 1.0
    # a thin extra line drawn across the chart lowers the score a little
    marked = original.copy()
    ImageDraw.Draw(marked).line([0, im.height // 2, im.width, im.height // 2], fill=(255, 0, 0), width=3)
    assert 0.8 < similarity(target, encode(marked)) < 1.0
    # other charts and noise score lower than any of those
    noise_score = similarity(target, encode(noise(original.size)))
    assert noise_score < 0.3
    others = [similarity(target, f.read_bytes()) for f in files[1:6]]
    assert max(others) < 0.7
    assert noise_score < max(others)
