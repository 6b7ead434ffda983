"""Loading vision encoders from specs, folders and (absent) hub ids, and what they score."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from PIL import Image

from training.rewards.encoders import (
    CLIP_MEAN,
    CLIP_STD,
    DINOV2_LARGE,
    IMAGENET_MEAN,
    IMAGENET_STD,
    Encoder,
    EncoderUnavailable,
    SSIMEncoder,
    ViTEncoder,
    build_tiny_dinov2,
    load_encoder,
)
from training.rewards.tiling import TILE


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def dinov2_dir(tmp_path_factory):
    return build_tiny_dinov2(tmp_path_factory.mktemp("dinov2") / "tiny-dinov2")


def tiny_clip_config():
    from transformers import CLIPVisionConfig

    return CLIPVisionConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, image_size=56, patch_size=14
    )


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    from transformers import CLIPVisionModel

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("clip") / "tiny-clip"
    CLIPVisionModel(tiny_clip_config()).save_pretrained(path)
    return path


def tiles(n: int, seed: int = 0) -> list[Image.Image]:
    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 256, (TILE, TILE, 3), dtype=np.uint8), "RGB") for _ in range(n)]


def test_ssim_spec():
    encoder = load_encoder("ssim")
    assert isinstance(encoder, SSIMEncoder) and isinstance(encoder, Encoder)
    assert encoder.name == "ssim"
    a, b = tiles(2)
    scores = encoder.similarities([(a, a), (a, b)])
    assert scores[0] == pytest.approx(1.0) and 0.0 <= scores[1] < 0.5


def test_dinov2_folder_loads_by_spec_and_by_bare_path(dinov2_dir):
    by_spec = load_encoder(f"dinov2:{dinov2_dir}", device="cpu", batch_size=3)
    bare = load_encoder(str(dinov2_dir), device="cpu")
    assert isinstance(by_spec, ViTEncoder) and isinstance(bare, ViTEncoder)
    assert by_spec.name == bare.name == f"dinov2:{dinov2_dir}"
    assert by_spec.batch_size == 3 and bare.batch_size == 64
    assert by_spec.dtype == torch.float32 and by_spec.device.type == "cpu"  # float32 on the CPU
    assert by_spec.mean.tolist() == pytest.approx(IMAGENET_MEAN) and by_spec.std.tolist() == pytest.approx(IMAGENET_STD)
    # The saved weights are the tiny model's: same features as the in-memory build.
    images = tiles(4)
    reference = ViTEncoder(build_tiny_dinov2()).embed(images)
    assert torch.allclose(by_spec.embed(images), reference, atol=1e-6)
    assert torch.allclose(bare.embed(images), reference, atol=1e-6)
    assert by_spec.embed([]).shape == (0, 32)


def test_dtype_is_configurable(dinov2_dir):
    encoder = load_encoder(f"dinov2:{dinov2_dir}", device="cpu", dtype="bf16")
    assert encoder.dtype == torch.bfloat16
    a, b = tiles(2)
    same, different = encoder.similarities([(a, a), (a, b)])
    assert same == pytest.approx(1.0, abs=1e-6) and 0.0 <= different <= 1.0
    assert encoder.embed([a]).dtype == torch.float32
    assert load_encoder(f"dinov2:{dinov2_dir}", device="cpu", dtype="auto").dtype == torch.float32
    assert load_encoder(f"dinov2:{dinov2_dir}", device="cpu", dtype=torch.float16).dtype == torch.float16
    with pytest.raises(ValueError, match="unknown encoder dtype"):
        load_encoder(f"dinov2:{dinov2_dir}", device="cpu", dtype="float13")


def test_clip_folder_loads_and_scores_identical_pairs_one(clip_dir):
    encoder = load_encoder(f"clip:{clip_dir}", device="cpu", batch_size=2)
    assert isinstance(encoder, ViTEncoder) and encoder.name == f"clip:{clip_dir}"
    assert encoder.mean.tolist() == pytest.approx(CLIP_MEAN) and encoder.std.tolist() == pytest.approx(CLIP_STD)
    a, b, c = tiles(3, seed=1)
    scores = encoder.similarities([(a, a), (b, b), (a, c)])
    assert scores[0] == pytest.approx(1.0, abs=1e-6) and scores[1] == pytest.approx(1.0, abs=1e-6)
    assert 0.0 <= scores[2] < 1.0
    assert load_encoder(str(clip_dir), device="cpu").name == f"clip:{clip_dir}"  # family from config.model_type


def test_clip_features_are_the_last_hidden_layer_cls_at_448(clip_dir):
    from transformers import CLIPVisionModel

    encoder = load_encoder(f"clip:{clip_dir}", device="cpu")
    model = CLIPVisionModel.from_pretrained(clip_dir).eval()
    image = tiles(1, seed=2)[0]
    x = (np.asarray(image, np.float32) / 255.0 - CLIP_MEAN) / CLIP_STD
    pixel_values = torch.from_numpy(x.transpose(2, 0, 1)[None].astype(np.float32))
    with torch.no_grad():
        out = model(pixel_values=pixel_values, output_hidden_states=True, interpolate_pos_encoding=True)
    assert out.hidden_states[-1].shape[1] == (TILE // 14) ** 2 + 1  # run at 448, not the config's 56
    assert torch.allclose(encoder.embed([image])[0], out.hidden_states[-1][0, 0], atol=1e-5)


def test_full_clip_checkpoint_loads_its_vision_tower(tmp_path):
    from transformers import CLIPConfig, CLIPModel

    text = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, vocab_size=99)
    config = CLIPConfig(text_config=text, vision_config=tiny_clip_config().to_dict(), projection_dim=16)
    CLIPModel(config).save_pretrained(tmp_path / "clip-full")
    encoder = load_encoder(str(tmp_path / "clip-full"), device="cpu")  # model_type "clip"
    assert encoder.name == f"clip:{tmp_path / 'clip-full'}"
    a = tiles(1)[0]
    assert encoder.similarities([(a, a)]) == pytest.approx([1.0], abs=1e-6)


def test_missing_folder_is_unavailable_with_a_fix():
    start = time.monotonic()
    with pytest.raises(EncoderUnavailable) as info:
        load_encoder("dinov2:/nonexistent/path")
    message = str(info.value)
    assert "/nonexistent/path" in message
    assert "--encoder dinov2:/path/to/dinov2-large" in message and "reward.encoder: ssim" in message
    assert time.monotonic() - start < 5


def test_default_dinov2_offline_is_unavailable_quickly(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty cache
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    start = time.monotonic()
    with pytest.raises(EncoderUnavailable) as info:
        load_encoder("dinov2")
    message = str(info.value)
    assert "facebook/dinov2-large" in message and "HF_HUB_OFFLINE" in message
    assert "--encoder dinov2:/path/to/dinov2-large" in message and "reward.encoder: ssim" in message
    with pytest.raises(EncoderUnavailable):
        load_encoder("some-org/not-a-model-here")  # a bare hub id: its config cannot be found either
    assert time.monotonic() - start < 10


def test_folder_without_weights_is_unavailable(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(EncoderUnavailable) as info:
        load_encoder(f"dinov2:{tmp_path / 'empty'}")
    assert "reward.encoder: ssim" in str(info.value)


def test_malformed_specs():
    with pytest.raises(ValueError, match="clip:PATH"):
        load_encoder("clip")
    assert not issubclass(EncoderUnavailable, ValueError)


def test_unsupported_model_type(tmp_path):
    from transformers import BertConfig

    BertConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=8).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="unsupported vision encoder model_type 'bert'"):
        load_encoder(str(tmp_path))


def test_batches_hold_tiles_of_many_pairs(dinov2_dir):
    encoder = load_encoder(f"dinov2:{dinov2_dir}", device="cpu", batch_size=4)
    sizes, modes = [], []
    original = encoder.model.forward

    def forward(*args, **kwargs):
        sizes.append(kwargs["pixel_values"].shape[0])
        modes.append(torch.is_inference_mode_enabled())
        return original(*args, **kwargs)

    encoder.model.forward = forward
    images = tiles(5)
    pairs = [(images[i], images[(i + 1) % 5]) for i in range(5)]
    scores = encoder.similarities(pairs)
    assert sizes == [4, 4, 2]  # 10 tiles, both sides of all pairs together
    assert modes == [True, True, True]
    assert len(scores) == 5 and all(0.0 <= s <= 1.0 for s in scores)
    single = [ViTEncoder(encoder.model, batch_size=1).similarities([pair])[0] for pair in pairs]
    assert scores == pytest.approx(single, abs=1e-5)


def test_features_are_plain_float32(dinov2_dir):
    encoder = load_encoder(f"dinov2:{dinov2_dir}", device="cpu")
    features = encoder.embed(tiles(2))
    assert not features.requires_grad
    assert features.dtype == torch.float32 and features.shape == (2, 32)


def test_real_size_config_kwargs():
    from transformers import Dinov2Config

    config = Dinov2Config(**DINOV2_LARGE)
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads) == (1024, 24, 16)
    assert (config.patch_size, config.image_size, config.mlp_ratio) == (14, 518, 4)


def test_tiny_build_is_seeded_and_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    first = build_tiny_dinov2()
    after = torch.rand(3)
    second = build_tiny_dinov2()
    assert torch.equal(after, expected)
    first_state, second_state = first.state_dict(), second.state_dict()
    assert first_state.keys() == second_state.keys()
    assert all(torch.equal(first_state[key], second_state[key]) for key in first_state)
    assert first.config.num_hidden_layers == 2 and build_tiny_dinov2(num_hidden_layers=1).config.num_hidden_layers == 1
