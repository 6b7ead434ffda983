"""Image2Struct LaTeX: the Earth Mover Similarity on hand-worked images, the size rules, and compilation through the
render sandbox with real TikZ documents."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image

from evaluation.metrics import image2struct as m

# one black pixel in a white 8x8 patch: its weight is 1/1.063, each white pixel's 0.001/1.063
BLACK_PIXEL_WEIGHT = 1 / 1.063
WHITE_PIXEL_WEIGHT = 0.001 / 1.063


def one_pixel(x: int, y: int = 0, height: int = 8, width: int = 8) -> np.ndarray:
    image = np.ones((height, width))
    image[y, x] = 0.0
    return image


def square(x: int, height: int = 32, width: int = 64) -> np.ndarray:
    """A 6x6 black square at column x on white, with a grey rule across the top."""
    image = np.ones((height, width))
    image[12:18, x : x + 6] = 0.0
    image[4:6, 2:60] = 0.4
    return image


def block(k: int, height: int = 16, width: int = 64) -> np.ndarray:
    """A black patch (with one white pixel, so it is not uniform) aligned on the patch grid, k patches right."""
    image = np.ones((height, width))
    image[0:8, 8 * k : 8 * k + 8] = 0.0
    image[2, 8 * k + 3] = 1.0
    return image


# ---------------------------------------------------------------------------------------------------- EMS


def test_identical_images_score_one():
    image = square(10)
    assert m.earth_mover_similarity(image, image) == 1.0
    rgb = np.stack([(image * 255).astype(np.uint8)] * 3, axis=-1)
    assert m.earth_mover_similarity(rgb, rgb.copy()) == 1.0
    assert m.block_emd(image, image) == 0.0


def test_shifted_image_scores_between_zero_and_identical():
    reference = square(10)
    shifted = m.earth_mover_similarity(square(11), reference)
    assert 0.0 < shifted < 1.0


def test_pixel_level_emd_hand_worked():
    """Pure white patch vs one black pixel at (0, 0): the black pixel's mass 1/1.063 (value change 1) is fed by every
    white pixel's surplus 1/64 - 0.001/1.063, each also travelling x/8 + y/8; sum of x + y over the patch = 56/8 * 8."""
    expected = BLACK_PIXEL_WEIGHT + (1 / 64 - WHITE_PIXEL_WEIGHT) * 56
    value = m.pixel_emd(np.ones(64), one_pixel(0).reshape(-1), dominant=1.0)
    assert value == pytest.approx(expected, rel=1e-6)
    assert m.pixel_emd(np.ones(64), np.ones(64), dominant=1.0) == 0.0


def test_two_level_emd_hand_worked():
    """A black pixel moved into the neighbouring patch: the patch-level EMD swaps the two patches (pixel cost 0 each)
    and pays only the position term, L1 = 1/2 (one column of two) * sqrt(64) / (16 + 8), half the mass each way."""
    reference = one_pixel(0, width=16)
    moved = one_pixel(8, width=16)
    signatures = m.patch_signatures(moved, reference)
    assert len(signatures.weights) == 2
    np.testing.assert_allclose(signatures.weights, [0.5, 0.5])  # max(1, 0.001)/1.001 per patch, re-normalised
    assert m.block_emd(moved, reference) == pytest.approx(0.5 * 8 / 24, rel=1e-6)


def test_bigger_shift_inside_a_patch_scores_lower():
    """One black pixel moving by dx inside a single patch: all its mass travels dx/8 (and each white pixel's tiny
    mass the other way), so EMD = dx/8 * 1.001/1.063, linear in dx."""
    reference = one_pixel(0)
    previous = 1.0
    for dx in (1, 2, 4, 7):
        emd = m.block_emd(one_pixel(dx), reference)
        assert emd == pytest.approx(dx / 8 * (BLACK_PIXEL_WEIGHT + WHITE_PIXEL_WEIGHT), rel=1e-5)
        ems = m.earth_mover_similarity(one_pixel(dx), reference)
        assert 0.0 < ems < previous
        previous = ems


def test_bigger_whole_patch_shift_scores_lower():
    """A patch moved by k whole patches costs only the position term: k/8 columns * 8 / (64 + 16)."""
    reference = block(0)
    previous = 1.0
    for k in (1, 2, 3, 7):
        assert m.block_emd(block(k), reference) == pytest.approx(k / 8 * 8 / 80, rel=1e-5)
        ems = m.earth_mover_similarity(block(k), reference)
        assert ems < previous
        previous = ems


def test_constant_image_scores_zero():
    """EMS normalises by the constant image: black on a light reference, white on a dark one, scoring exactly 0."""
    light = square(10)
    assert m.earth_mover_similarity(np.zeros_like(light), light) == pytest.approx(0.0, abs=1e-6)
    dark = 1.0 - light
    assert m.earth_mover_similarity(np.ones_like(dark), dark) == pytest.approx(0.0, abs=1e-6)
    # the hand-worked denominator of the one-pixel patch: every white pixel needs its 0.001/1.063 of black (value
    # change 1), the rest of each black pixel's 1/64 travels to (0, 0)
    expected = 63 * WHITE_PIXEL_WEIGHT + (1 / 64 - WHITE_PIXEL_WEIGHT) * 56
    assert m.block_emd(np.zeros((8, 8)), one_pixel(0)) == pytest.approx(expected, rel=1e-6)


def test_blank_white_prediction_is_not_the_constant():
    """On a white page the constant image is black; a blank white answer is a different (and, here, worse) one."""
    reference = square(10)
    blank = m.earth_mover_similarity(np.ones_like(reference), reference)
    assert blank < m.earth_mover_similarity(square(11), reference)
    assert blank != pytest.approx(0.0, abs=1e-3)


@pytest.mark.parametrize(
    ("width", "height"), [(8, 8), (80, 80), (81, 80), (333, 777), (1000, 100), (100, 1000), (10000, 8), (1275, 1650)]
)
def test_at_most_100_patches(width, height):
    rows, columns = m.patch_grid(width, height)
    assert 1 <= rows * columns <= 100
    new_width, new_height = m.resized_size(width, height)
    if math.ceil(width / 8) * math.ceil(height / 8) <= 100:
        assert (new_width, new_height) == (width, height)
    else:
        assert new_width % 8 == 0 and new_height % 8 == 0
        assert (new_width // 8) * (new_height // 8) <= 100
    image = np.ones((height, width))
    image[0, 0] = 0.0
    pred, ref, _ = m.prepare(image, image)
    assert pred.shape == ref.shape == (new_height, new_width)
    assert len(m.patch_signatures(pred, 1.0 - ref).weights) == rows * columns  # nothing dropped: 1 - ref is dark


def test_resize_keeps_the_aspect_ratio():
    # 125 x 13 patches: d = sqrt(1625 / 100), ceil(125 / d) = 32 columns, floor(100 / 32) = 3 rows
    assert m.resized_size(1000, 100) == (256, 24)
    # a letter page at 150 dpi, 160 x 207 patches: 9 columns, 11 rows
    assert m.resized_size(1275, 1650) == (72, 88)
    for width, height in ((1000, 100), (1275, 1650), (640, 480)):
        new_width, new_height = m.resized_size(width, height)
        assert (new_width / new_height) / (width / height) == pytest.approx(1.0, abs=0.15)  # whole patches: coarse


def test_dominant_colour_drop_rule():
    reference = one_pixel(0, height=16, width=32)  # 2 x 4 patches, white covers 511/512
    prediction = one_pixel(9, y=8, height=16, width=32)
    signatures = m.patch_signatures(prediction, reference)
    assert signatures.dominant == 1.0 and signatures.share > 0.5
    assert len(signatures.weights) == 2  # only the two patches holding ink survive
    # white covers half of the reference or less: nothing is dropped
    half = np.ones((16, 32))
    half[:, :16] = 0.0
    assert len(m.patch_signatures(prediction, half).weights) == 8
    # all patches of the dominant colour in both images: the first one is kept
    blank = np.ones((16, 32))
    assert len(m.patch_signatures(blank, blank).weights) == 1


def test_pads_with_white_at_bottom_right():
    reference = square(10)
    reference[:, 48:] = 1.0
    reference[26:, :] = 1.0
    trimmed = reference[:26, :48]  # what a tighter crop of the same drawing gives
    assert m.earth_mover_similarity(trimmed, reference) == 1.0
    rgb = np.stack([(reference * 255).astype(np.uint8)] * 3, axis=-1)
    png = io.BytesIO()
    Image.fromarray(rgb[:26, :48]).save(png, "PNG")
    assert m.earth_mover_similarity(png.getvalue(), rgb) == 1.0


def test_crop_page_drops_bottom_fifth_and_white_border():
    page = np.full((100, 60, 3), 255, dtype=np.uint8)
    page[20:40, 10:30] = 0  # the content
    page[90:95, 28:32] = 0  # a page number in the bottom 20 %
    cropped = m.crop_page(Image.fromarray(page))
    assert cropped.size == (20, 20)
    assert np.all(np.asarray(cropped) == 0)
    assert m.crop_page(Image.new("RGB", (10, 10), "white")).size == (10, 8)  # nothing to trim to


def test_aggregate_counts_failures_as_zero():
    scores = [m.LatexScore(True, 1.0, None), m.LatexScore(True, 0.5, None), m.LatexScore(False, 0.0, "syntax")]
    summary = m.aggregate(scores)
    assert summary["n"] == 3
    assert summary["rendering_success_rate"] == pytest.approx(200 / 3)
    assert summary["ems"] == pytest.approx(50.0)
    assert m.aggregate([]) == {"n": 0, "rendering_success_rate": 0.0, "ems": 0.0}


# ---------------------------------------------------------------------------------------------------- LaTeX


@pytest.fixture(scope="module")
def engine():
    """The process-wide engine, shared with the other metric tests (one warm-up per session; closed at exit)."""
    from renderers.engine import default_engine

    return default_engine()


def test_real_tikz_compiles_and_scores_one_against_itself(engine, shared_data):
    code = (shared_data / "tikz" / "DNA__dna.tex").read_text()
    result = m.compile_latex(code, engine)
    assert result.ok, result.error_message
    image, error = m.render_latex(code, engine)
    assert error is None
    full = Image.open(io.BytesIO(result.image))
    assert image.size[0] <= full.size[0] and image.size[1] <= full.size[1] - int(full.size[1] * 0.2)
    score = m.score(code, code, engine)
    assert score == m.LatexScore(True, 1.0, None)


def test_compile_failure_scores_zero(engine, shared_data):
    code = (shared_data / "tikz" / "DNA__dna.tex").read_text()
    reference, _ = m.render_latex(code, engine)
    broken = m.score("\\begin{tikzpicture}\\draw (0,0) -- \\nosuchmacro;\\end{tikzpicture}", reference, engine)
    assert broken.rendered is False and broken.ems == 0.0 and broken.error
    empty = m.score("", reference, engine)
    assert empty.rendered is False and empty.ems == 0.0
    summary = m.aggregate([broken, empty, m.LatexScore(True, 1.0, None)])
    assert summary["rendering_success_rate"] == pytest.approx(100 / 3)
    assert summary["ems"] == pytest.approx(100 / 3)


def test_real_tikz_with_other_colours_scores_high_but_below_one(engine, shared_data):
    code = (shared_data / "tikz" / "Shortest_path_problem__shortest_path_problem.tex").read_text()
    reference, error = m.render_latex(code, engine)
    assert error is None
    recoloured = m.score(code.replace("red", "green").replace("blue", "orange"), reference, engine)
    assert recoloured.rendered
    assert 0.5 < recoloured.ems < 1.0
