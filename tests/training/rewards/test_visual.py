"""The batched visual reward against a plain per-tile reference, with a tiny random DINOv2 and with SSIM."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from training.rewards.encoders import IMAGENET_MEAN, IMAGENET_STD, SSIMEncoder, ViTEncoder, build_tiny_dinov2
from training.rewards.tiling import TILE, VisualInputError, choose_grid
from training.rewards.visual import VisualScore, visual_score, visual_scores


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models run fastest single-threaded, and do not slow to a crawl when the cores are busy."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def dinov2():
    return build_tiny_dinov2()


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def picture(width: int, height: int, seed: int) -> Image.Image:
    """Smooth shapes plus noise, different per seed."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    a = np.empty((height, width, 3), np.float64)
    for channel in range(3):
        fx, fy, phase = rng.uniform(0.002, 0.05), rng.uniform(0.002, 0.05), rng.uniform(0, 6.3)
        a[:, :, channel] = 127 + 100 * np.sin(fx * x + fy * y + phase)
    a += rng.normal(0, 20, a.shape)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "RGB")


def reference_visual(model, target: Image.Image, rendered: Image.Image) -> float:
    """The spec written out naively: one tile at a time through the model."""
    rendered = rendered.resize(target.size, Image.Resampling.BICUBIC)
    cols, rows = choose_grid(*target.size)

    def cut(img):
        big = img.resize((TILE * cols, TILE * rows), Image.Resampling.BICUBIC)
        out = [big.crop((c * TILE, r * TILE, (c + 1) * TILE, (r + 1) * TILE)) for r in range(rows) for c in range(cols)]
        return out + ([img.resize((TILE, TILE), Image.Resampling.BICUBIC)] if cols * rows > 1 else [])

    def cls(tile):
        x = (np.asarray(tile, np.float32) / 255.0 - np.array(IMAGENET_MEAN, np.float32)) / np.array(
            IMAGENET_STD, np.float32
        )
        pixel_values = torch.from_numpy(x.transpose(2, 0, 1).copy())[None]
        with torch.no_grad():
            return model(pixel_values=pixel_values, output_hidden_states=True).hidden_states[-1][0, 0]

    scores = []
    for t, r in zip(cut(target), cut(rendered), strict=True):
        s = torch.nn.functional.cosine_similarity(cls(t), cls(r), dim=0).item()
        scores.append((s + 1) / 2)
    return sum(scores) / len(scores)


def test_batched_reward_equals_the_per_tile_loop(dinov2):
    samples = [
        (picture(800, 600, 1), picture(640, 400, 2)),  # grid (4,3): 13 pairs; render of another size
        (picture(300, 300, 3), picture(300, 300, 4)),  # (1,1): 1 pair
        (picture(1000, 500, 5), picture(1000, 500, 5)),  # (2,1): 3 pairs, identical
        (picture(200, 600, 6), picture(250, 500, 7)),  # (1,3): 4 pairs
        (picture(1300, 650, 8), picture(700, 300, 9)),  # (4,2): 9 pairs
    ]
    encoder = ViTEncoder(dinov2, name="dinov2:tiny", batch_size=5)  # batches straddle samples and pairs
    inputs = [(png_bytes(t), r) for t, r in samples]  # bytes and PIL mixed
    got = visual_scores(inputs, encoder)
    assert [s.grid for s in got] == [(4, 3), (1, 1), (2, 1), (1, 3), (4, 2)]
    assert [s.tiles for s in got] == [13, 1, 3, 4, 9]
    want = [reference_visual(dinov2, t, r) for t, r in samples]
    for score, expected in zip(got, want, strict=True):
        assert score.score == pytest.approx(expected, abs=1e-5)
    assert got[2].score == pytest.approx(1.0, abs=1e-6)
    assert all(s.score < 1 - 1e-6 for i, s in enumerate(got) if i != 2)
    # The batch size does not change the result.
    again = visual_scores(inputs, ViTEncoder(dinov2, batch_size=64))
    assert [s.score for s in again] == pytest.approx([s.score for s in got], abs=1e-6)


def test_cls_is_taken_before_the_final_layer_norm():
    model = build_tiny_dinov2()
    with torch.no_grad():  # a final layer norm that changes directions, so that before/after differ
        g = torch.Generator().manual_seed(1)
        model.layernorm.weight.copy_(torch.rand(model.config.hidden_size, generator=g) * 3)
        model.layernorm.bias.copy_(torch.randn(model.config.hidden_size, generator=g))
    encoder = ViTEncoder(model, batch_size=4)
    tiles = [picture(TILE, TILE, seed) for seed in (10, 11, 12)]
    features = encoder.embed(tiles)
    x = np.stack([(np.asarray(t, np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD for t in tiles])
    pixel_values = torch.from_numpy(x.transpose(0, 3, 1, 2).astype(np.float32))
    with torch.no_grad():
        out = model(pixel_values=pixel_values, output_hidden_states=True)
    before, after = out.hidden_states[-1][:, 0], out.last_hidden_state[:, 0]
    assert torch.allclose(features, before, atol=1e-5)
    assert not torch.allclose(features, after, atol=1e-2)
    sims = encoder.similarities([(tiles[0], tiles[1]), (tiles[0], tiles[2])])
    cos = torch.nn.functional.cosine_similarity
    assert sims == pytest.approx([(cos(before[0], before[i], dim=0).item() + 1) / 2 for i in (1, 2)], abs=1e-5)
    assert sims != pytest.approx([(cos(after[0], after[i], dim=0).item() + 1) / 2 for i in (1, 2)], abs=1e-3)


@pytest.mark.parametrize("encoder_kind", ["dinov2", "ssim"])
def test_identical_images_score_one_and_different_less(dinov2, encoder_kind):
    encoder = ViTEncoder(dinov2, batch_size=8) if encoder_kind == "dinov2" else SSIMEncoder()
    target = picture(1300, 650, 20)  # ratio 2, 845000 px > 0.5 * 448² * 8 -> (4,2)
    same = visual_score(png_bytes(target), png_bytes(target), encoder)
    assert isinstance(same, VisualScore) and same.grid == (4, 2) and same.tiles == 9
    assert same.score == pytest.approx(1.0, abs=1e-6)
    other = visual_score(target, picture(1300, 650, 21), encoder)
    assert 0.0 <= other.score < 1.0 - 1e-4
    blank = visual_score(target, Image.new("RGB", (1300, 650), "white"), encoder)
    assert 0.0 <= blank.score < 1.0 - 1e-4


def test_ssim_tiles_match_skimage():
    from skimage.metrics import structural_similarity

    a, b = picture(TILE, TILE, 30), picture(TILE, TILE, 31)
    grey = [np.asarray(img.convert("L"), np.float64) / 255.0 for img in (a, b)]
    expected = max(0.0, structural_similarity(*grey, data_range=1.0))
    assert SSIMEncoder().similarities([(a, b), (a, a)]) == pytest.approx([expected, 1.0], abs=1e-9)


def test_unusable_images_raise_with_their_kind(dinov2):
    encoder = SSIMEncoder()
    good = png_bytes(picture(100, 100, 40))
    with pytest.raises(VisualInputError) as info:
        visual_scores([(good, good), (good, b"<svg>not rendered</svg>")], encoder)
    assert info.value.kind == "bad_image" and "sample 1" in str(info.value)
    assert visual_scores([], encoder) == []
    with pytest.raises(VisualInputError) as info:
        visual_score(good, good, encoder, max_pixels=9_999)
    assert info.value.kind == "too_large" and "sample 0" in str(info.value)


def test_visual_scores_make_one_encoder_call():
    calls = []

    class Recorder:
        name = "recorder"

        def similarities(self, pairs):
            calls.append(len(pairs))
            return [0.25 + 0.5 * (i % 2) for i in range(len(pairs))]

    samples = [(picture(100, 50, 1), picture(100, 50, 2)), (picture(60, 60, 3), picture(60, 60, 4))]
    scores = visual_scores(samples, Recorder())
    assert calls == [4]  # 3 pairs of the (2,1) grid plus 1 of the (1,1) grid, in one call
    assert [s.score for s in scores] == pytest.approx([(0.25 + 0.75 + 0.25) / 3, 0.75])
