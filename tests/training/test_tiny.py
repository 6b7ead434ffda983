"""The offline tiny Qwen2-VL: it loads through the real transformers / peft paths, and the model loader around it."""

from __future__ import annotations

import importlib.util
import json
import logging
import shutil
from dataclasses import asdict
from pathlib import Path

import pytest
import torch
from PIL import Image, ImageDraw

from training.models import LoraSpec, ModelSpec, image_only_processor, load_model, load_processor
from training.tiny import CHAT_TEMPLATE, SPECIAL_TOKENS, SYSTEM_PROMPT, TinySpec, build_tiny_vlm

SPEC = TinySpec()
USER_TURN = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Write the code."}]}]
EXPECTED_PROMPT = (
    f"<|im_start|>system\n{SYSTEM_PROMPT}<|im_end|>\n"
    "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Write the code.<|im_end|>\n"
    "<|im_start|>assistant\n"
)
CODE_TEXTS = [
    "ünïcode → λ\tx",
    "import matplotlib.pyplot as plt\n\nplt.title('Überschrift — 温度 °C')\r\n\tplt.savefig(\"a b.png\")\n",
    '<svg viewBox="0 0 10 10"><text>😀 émoji &amp; ∑</text></svg>',
    '\\draw[->] (0,0) -- (1,1) node {$\\alpha^2_{ij}$}; % ~`!@#$%^&*()_+{}|:"<>?',
    "    leading spaces\n\n\n   trailing   \t\n",
    "\x00\x01\x7f control bytes",
]


def chart(size: tuple[int, int], color=(76, 114, 176)) -> Image.Image:
    im = Image.new("RGB", size, "white")
    w, h = size
    ImageDraw.Draw(im).rectangle([w // 4, h // 3, w // 2, h - 2], fill=color)
    return im


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return build_tiny_vlm(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="module")
def processor(tiny):
    return load_processor(tiny)


@pytest.fixture(scope="module")
def model(tiny):
    from transformers import AutoModelForImageTextToText

    return AutoModelForImageTextToText.from_pretrained(tiny).eval()


def folder_bytes(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir()) if p.is_file()}


def test_folder_contents_and_stamp(tiny):
    names = {p.name for p in tiny.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "processor_config.json", "vinci_tiny.json"} <= names
    stamp = json.loads((tiny / "vinci_tiny.json").read_text())
    assert stamp["spec"] == asdict(SPEC)
    assert stamp["architecture"] == "Qwen2-VL"
    assert 10_000 < stamp["parameters"] < 5_000_000


def test_loads_with_auto_model_class(tiny, model, processor):
    from transformers import Qwen2VLForConditionalGeneration

    assert isinstance(model, Qwen2VLForConditionalGeneration)
    assert model.dtype == torch.float32
    assert (
        sum(p.numel() for p in model.parameters()) == json.loads((tiny / "vinci_tiny.json").read_text())["parameters"]
    )
    tok = processor.tokenizer
    config = model.config
    assert config.image_token_id == tok.convert_tokens_to_ids("<|image_pad|>")
    assert config.video_token_id == tok.convert_tokens_to_ids("<|video_pad|>")
    assert config.vision_start_token_id == tok.convert_tokens_to_ids("<|vision_start|>")
    assert config.vision_end_token_id == tok.convert_tokens_to_ids("<|vision_end|>")
    assert model.get_input_embeddings().num_embeddings == len(tok)
    assert model.generation_config.eos_token_id == tok.convert_tokens_to_ids("<|im_end|>")
    assert model.generation_config.pad_token_id == tok.convert_tokens_to_ids("<|endoftext|>")
    # tied embeddings: the output head is the input table
    assert model.get_output_embeddings().weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()


def test_processor_is_image_only_qwen2vl_with_pil_image_processor(tiny, processor, caplog):
    from transformers import Qwen2VLProcessor
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    assert isinstance(processor, Qwen2VLProcessor)
    assert isinstance(processor.image_processor, Qwen2VLImageProcessorPil)
    assert processor.tokenizer.padding_side == "left"
    assert processor.image_token == "<|image_pad|>"
    assert processor.image_token_id == processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    assert processor.chat_template == CHAT_TEMPLATE
    if importlib.util.find_spec("torchvision") is None:
        assert not hasattr(processor, "video_processor")
        with caplog.at_level(logging.INFO, logger="training.models"):
            again = load_processor(tiny)
        assert "image-only" in caplog.text
        assert type(again).__name__ == "Qwen2VLProcessor"
    direct = image_only_processor(str(tiny))
    assert isinstance(direct, Qwen2VLProcessor)
    assert isinstance(direct.image_processor, Qwen2VLImageProcessorPil)
    assert direct.chat_template == CHAT_TEMPLATE


def test_chat_template_qwen_layout(processor):
    tok = processor.tokenizer
    assert processor.apply_chat_template(USER_TURN, add_generation_prompt=True, tokenize=False) == EXPECTED_PROMPT
    assert tok.apply_chat_template(USER_TURN, add_generation_prompt=True, tokenize=False) == EXPECTED_PROMPT
    no_prompt = processor.apply_chat_template(USER_TURN, add_generation_prompt=False, tokenize=False)
    assert no_prompt == EXPECTED_PROMPT.removesuffix("<|im_start|>assistant\n")
    conversation = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "image"}]},
        {"role": "assistant", "content": "```python\nx = 1\n```"},
    ]
    assert processor.apply_chat_template(conversation, tokenize=False) == (
        "<|im_start|>system\nBe brief.<|im_end|>\n"
        "<|im_start|>user\nHi<|vision_start|><|image_pad|><|vision_end|><|im_end|>\n"
        "<|im_start|>assistant\n```python\nx = 1\n```<|im_end|>\n"
    )


def test_special_tokens_are_single_tokens(processor):
    tok = processor.tokenizer
    ids = {}
    for token in SPECIAL_TOKENS:
        encoded = tok.encode(token, add_special_tokens=False)
        assert len(encoded) == 1, (token, encoded)
        assert tok.convert_ids_to_tokens(encoded[0]) == token
        ids[token] = encoded[0]
        # glued to text it stays one token
        assert ids[token] in tok.encode(f"a{token}b", add_special_tokens=False)
    assert len(set(ids.values())) == len(SPECIAL_TOKENS)
    assert tok.eos_token == "<|im_end|>" and tok.pad_token == "<|endoftext|>"
    assert tok.unk_token is None
    prompt_ids = tok.encode(EXPECTED_PROMPT, add_special_tokens=False)
    assert prompt_ids.count(ids["<|im_start|>"]) == 3 and prompt_ids.count(ids["<|image_pad|>"]) == 1


@pytest.mark.parametrize("text", CODE_TEXTS)
def test_byte_level_round_trip(processor, text):
    tok = processor.tokenizer
    ids = tok.encode(text, add_special_tokens=False)
    assert ids and all(0 <= i < len(tok) for i in ids)
    assert tok.unk_token_id is None or tok.unk_token_id not in ids
    assert tok.decode(ids) == text
    assert tok.decode(ids, skip_special_tokens=True) == text


@pytest.mark.parametrize("size", [(56, 56), (100, 40), (640, 480), (300, 900), (1280, 1000)])
def test_image_expands_to_merged_patch_count_within_budget(processor, size):
    text = processor.apply_chat_template(USER_TURN, add_generation_prompt=True, tokenize=False)
    out = processor(text=[text], images=[chart(size)], return_tensors="pt")
    grid = out["image_grid_thw"]
    assert grid.shape == (1, 3) and grid[0, 0] == 1
    patches = int(grid.prod())
    n_pad = int((out["input_ids"] == processor.image_token_id).sum())
    assert n_pad == patches // 4
    assert out["pixel_values"].shape[0] == patches
    assert SPEC.min_pixels <= patches * 14 * 14 <= SPEC.max_pixels
    # aspect ratio survives (h, w order), up to the 28-pixel rounding
    _, gh, gw = (int(v) for v in grid[0])
    w, h = size
    if w > 1.5 * h:
        assert gw > gh
    elif h > 1.5 * w:
        assert gh > gw
    # one placeholder turns into the run of pads, framed by vision start/end
    tokens = processor.tokenizer.convert_ids_to_tokens(out["input_ids"][0].tolist())
    start = tokens.index("<|vision_start|>")
    assert tokens[start + 1 : start + 1 + n_pad] == ["<|image_pad|>"] * n_pad
    assert tokens[start + 1 + n_pad] == "<|vision_end|>"


def test_large_image_uses_most_of_the_budget(processor):
    out = processor(text=["<|vision_start|><|image_pad|><|vision_end|>"], images=[chart((1280, 1000))])
    patches = int(out["image_grid_thw"].prod())
    assert SPEC.max_pixels // 2 < patches * 14 * 14 <= SPEC.max_pixels


def test_model_spec_pixel_budget_reaches_the_processor(tiny):
    spec = ModelSpec(path=str(tiny), min_pixels=28 * 28, max_pixels=28 * 28 * 4)
    small = load_processor(tiny, spec)
    assert small.image_processor.size["shortest_edge"] == 28 * 28
    assert small.image_processor.size["longest_edge"] == 28 * 28 * 4
    out = small(text=["<|vision_start|><|image_pad|><|vision_end|>"], images=[chart((1280, 1000))])
    assert int(out["image_grid_thw"].prod()) * 14 * 14 <= 28 * 28 * 4
    assert sum(t == small.image_token_id for t in out["input_ids"][0]) <= 4


def test_generate_on_a_left_padded_batch_of_two_sizes(processor, model):
    prompts = [
        processor.apply_chat_template(USER_TURN, add_generation_prompt=True, tokenize=False),
        processor.apply_chat_template(
            [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "A longer request " * 5}]}],
            add_generation_prompt=True,
            tokenize=False,
        ),
    ]
    images = [chart((200, 150)), chart((500, 320), color=(200, 60, 60))]
    batch = processor(text=prompts, images=images, return_tensors="pt", padding=True)
    grids = batch["image_grid_thw"]
    assert not torch.equal(grids[0], grids[1])
    mask = batch["attention_mask"]
    assert mask[0, 0] == 0 and mask[1, 0] == 1 and mask[:, -1].all()  # left padding
    prompt_len = batch["input_ids"].shape[1]
    with torch.no_grad():
        out = model.generate(**batch, max_new_tokens=6, min_new_tokens=6, do_sample=False)
        batched_logits = model(**batch).logits[:, -1]
    assert out.shape == (2, prompt_len + 6)
    assert torch.equal(out[:, :prompt_len], batch["input_ids"])
    new = out[:, prompt_len:]
    assert ((new >= 0) & (new < len(processor.tokenizer))).all()
    # padding does not change what each sample sees: last-position logits match the unbatched run
    for i in range(2):
        single = processor(text=[prompts[i]], images=[images[i]], return_tensors="pt")
        with torch.no_grad():
            alone = model(**single).logits[0, -1]
        torch.testing.assert_close(batched_logits[i], alone, atol=1e-4, rtol=1e-4)


def test_same_spec_rebuild_is_a_no_op(tiny, tmp_path):
    before = {p.name: p.stat().st_mtime_ns for p in tiny.iterdir()}
    assert build_tiny_vlm(tiny, SPEC) == tiny
    assert build_tiny_vlm(str(tiny)) == tiny
    assert {p.name: p.stat().st_mtime_ns for p in tiny.iterdir()} == before
    # a different spec in the same folder is rebuilt, and so is a folder whose stamp is for another spec
    copy = tmp_path / "copy"
    shutil.copytree(tiny, copy)
    other = TinySpec(seed=1)
    build_tiny_vlm(copy, other)
    assert json.loads((copy / "vinci_tiny.json").read_text())["spec"] == asdict(other)
    assert (copy / "model.safetensors").read_bytes() != (tiny / "model.safetensors").read_bytes()


def test_same_seed_same_weights_other_seed_other_weights(tiny, tmp_path):
    from safetensors.torch import load_file

    twin = build_tiny_vlm(tmp_path / "twin", TinySpec())
    assert folder_bytes(twin) == folder_bytes(tiny)
    a, b = load_file(tiny / "model.safetensors"), load_file(twin / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    other = build_tiny_vlm(tmp_path / "other", TinySpec(seed=7))
    c = load_file(other / "model.safetensors")
    assert c.keys() == a.keys()
    # every randomly initialised tensor differs (norm weights start at one, biases at zero, whatever the seed)
    random_init = [k for k in a if a[k].float().std() > 0]
    assert len(random_init) >= 20 and "model.embed_tokens.weight" in random_init
    assert all(not torch.equal(a[k], c[k]) for k in random_init)
    assert (other / "tokenizer.json").read_bytes() == (tiny / "tokenizer.json").read_bytes()


def test_extra_texts_teach_the_tokenizer(tmp_path):
    from transformers import AutoTokenizer

    word = "zebra_quagga_xylophone()"
    plain = AutoTokenizer.from_pretrained(build_tiny_vlm(tmp_path / "plain"))
    taught = AutoTokenizer.from_pretrained(build_tiny_vlm(tmp_path / "taught", extra_texts=[f"{word}\n"] * 50))
    assert len(taught.encode(word, add_special_tokens=False)) < len(plain.encode(word, add_special_tokens=False)) // 2


def test_rebuild_with_other_extra_texts_is_not_skipped(tmp_path):
    extra = ["zebra_quagga_xylophone()\n"] * 50
    reference = build_tiny_vlm(tmp_path / "reference", extra_texts=extra)
    folder = build_tiny_vlm(tmp_path / "folder")
    build_tiny_vlm(folder, extra_texts=extra)
    assert (folder / "tokenizer.json").read_bytes() == (reference / "tokenizer.json").read_bytes()


def test_model_spec_kwargs():
    assert ModelSpec(path="/m", dtype="float32").model_kwargs() == {"trust_remote_code": False, "dtype": torch.float32}
    assert ModelSpec(path="/m").model_kwargs() == {"trust_remote_code": False, "dtype": "auto"}
    kwargs = ModelSpec(path="/m", dtype="bfloat16", attn_implementation="eager", trust_remote_code=True).model_kwargs()
    assert kwargs == {"trust_remote_code": True, "dtype": torch.bfloat16, "attn_implementation": "eager"}


def test_model_spec_rejects_unknown_fields_and_dtypes():
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        ModelSpec(path="/m", dtype="float64")
    with pytest.raises(ValidationError):
        ModelSpec(path="/m", revision="main")
    with pytest.raises(ValidationError):
        LoraSpec(rank=4)


def test_load_model_dtype_and_eval(tiny):
    model = load_model(ModelSpec(path=str(tiny), dtype="bfloat16"))
    assert not model.training
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}


def test_load_model_with_lora_trains_only_adapters(tiny, processor):
    from peft import PeftModel

    spec = ModelSpec(path=str(tiny), dtype="float32", lora=LoraSpec(r=4, alpha=8, target_modules=["q_proj", "v_proj"]))
    model = load_model(spec)
    assert isinstance(model, PeftModel)
    assert not model.training
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
    assert all(("q_proj" in n or "v_proj" in n) for n in trainable)
    # two text layers x (q_proj, v_proj) x (A, B); the vision tower has fused qkv, so no adapters there
    assert len(trainable) == SPEC.num_layers * 2 * 2
    assert all(p.shape[0] == 4 for n, p in trainable.items() if "lora_A" in n)
    assert not any(p.requires_grad for n, p in model.named_parameters() if "lora_" not in n)
    # a training step's gradients land on the adapters only
    model.train()
    batch = processor(
        text=[processor.apply_chat_template(USER_TURN, add_generation_prompt=True, tokenize=False)],
        images=[chart((120, 90))],
        return_tensors="pt",
    )
    loss = model(**batch, labels=batch["input_ids"]).loss
    loss.backward()
    grads = {n for n, p in model.named_parameters() if p.grad is not None}
    assert grads and grads <= set(trainable)
    assert any(p.grad.abs().sum() > 0 for n, p in trainable.items() if "lora_B" in n)


@pytest.mark.skipif(importlib.util.find_spec("torchvision") is not None, reason="full processor in use")
def test_image_only_processor_refuses_videos(processor):
    frames = [chart((56, 56)), chart((56, 56))]
    with pytest.raises((ValueError, TypeError, NotImplementedError)):
        processor(text=["<|vision_start|><|video_pad|><|vision_end|>"], videos=[frames])


@pytest.mark.parametrize("name", ["Qwen2VLProcessor", "Qwen2_5_VLProcessor", "Qwen3VLProcessor"])
def test_image_only_processor_for_each_qwen_family(tiny, name):
    import transformers
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    from training.models import build_image_only, load_processor

    base = load_processor(tiny)
    cls = getattr(transformers, name)
    processor = build_image_only(cls, Qwen2VLImageProcessorPil(), base.tokenizer, base.chat_template)
    assert isinstance(processor, cls) and type(processor).__name__ == name
    out = processor(
        images=[Image.new("RGB", (64, 64))],
        text=["<|vision_start|><|image_pad|><|vision_end|>hi"],
        return_tensors="pt",
    )
    pad = base.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    assert int((out["input_ids"] == pad).sum()) == int(out["image_grid_thw"].prod()) // 4
