"""A tiny Qwen2-VL-architecture model built fully offline, saved as a normal checkpoint folder.

Tests and the offline demo need a vision-language model that the real `transformers` / TRL code paths accept
(`AutoModelForImageTextToText`, `AutoProcessor`, `SFTTrainer`, `GRPOTrainer`) without downloading anything. The
factory trains a small byte-level BPE tokenizer on the project's own prompts and code samples, writes a chat
template in the Qwen layout (`<|im_start|>role ... <|im_end|>`, images as `<|vision_start|><|image_pad|>
<|vision_end|>`), uses the PIL image processor (torchvision must not be installed here), and initialises a
two-layer Qwen2-VL with random weights from a seed. Same arguments, same folder contents.

For the backbone merge (training/merge), `build_tiny_lm` saves the tiny VLM's language model as a Qwen2 causal LM
(the "base" the VLM started from) and `build_tiny_coder` that base plus seeded noise (a stand-in for a coding
fine-tune of it), both with the VLM's tokenizer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from schemas.languages import LANGUAGES

SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)

SYSTEM_PROMPT = "You are a coding assistant that writes the code which draws a given image."

# Qwen-style chat layout. A system turn is added when the conversation has none; image parts become the vision
# placeholder that the processor expands to one `<|image_pad|>` per merged patch.
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if loop.first and message['role'] != 'system' -%}"
    "{{ '<|im_start|>system\\n" + SYSTEM_PROMPT + "<|im_end|>\\n' }}"
    "{%- endif -%}"
    "{{ '<|im_start|>' + message['role'] + '\\n' }}"
    "{%- if message['content'] is string -%}{{ message['content'] }}"
    "{%- else -%}{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'image' -%}{{ '<|vision_start|><|image_pad|><|vision_end|>' }}"
    "{%- elif part['type'] == 'text' -%}{{ part['text'] }}{%- endif -%}"
    "{%- endfor -%}{%- endif -%}"
    "{{ '<|im_end|>\\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\\n' }}{%- endif -%}"
)

# Code that teaches the tokenizer the usual pieces of each language.
_CODE_SAMPLES = (
    "import matplotlib.pyplot as plt\nimport numpy as np\nfig, ax = plt.subplots(figsize=(6, 4))\n"
    "ax.bar(['a', 'b', 'c'], [3, 5, 2], color='#4c72b0')\nax.set_title('Sales')\nplt.savefig('out.png')\n",
    "<!DOCTYPE html>\n<html>\n<head>\n<style>\nbody { margin: 0; font-family: sans-serif; }\n</style>\n</head>\n"
    '<body>\n<div class="header"><h1>Title</h1><p>Text</p></div>\n</body>\n</html>\n',
    '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100" viewBox="0 0 100 100">\n'
    '<rect x="10" y="10" width="80" height="80" fill="#ff0000"/>\n<circle cx="50" cy="50" r="20"/>\n</svg>\n',
    "\\documentclass[tikz]{standalone}\n\\begin{document}\n\\begin{tikzpicture}\n"
    "\\draw[thick,->] (0,0) -- (2,1) node[right] {$x$};\n\\end{tikzpicture}\n\\end{document}\n",
    "flowchart TD\n    A[Start] --> B{Decision}\n    B -->|yes| C[Done]\n",
    'size(200);\ndraw((0,0)--(1,1)--(2,0)--cycle, blue);\nlabel("$A$", (0,0), SW);\n',
    "CC(=O)Oc1ccccc1C(=O)O\nc1ccc2c(c1)cccc2\n",
)


@dataclass(frozen=True)
class TinySpec:
    """Sizes of the tiny model; the defaults make a ~1 M parameter model that trains in seconds on a CPU."""

    vocab_size: int = 1024
    hidden_size: int = 64
    intermediate_size: int = 128
    num_layers: int = 2
    num_heads: int = 4
    num_kv_heads: int = 2
    vision_depth: int = 2
    vision_dim: int = 32
    vision_heads: int = 2
    # image budget in pixels: 28x28 is one merged patch (= one <|image_pad|> token)
    min_pixels: int = 28 * 28 * 4
    max_pixels: int = 28 * 28 * 16
    max_position_embeddings: int = 4096
    seed: int = 0


def _tokenizer_corpus(extra: Iterable[str]) -> list[str]:
    from training.prompts import direct_instruction, format_answer, refine_instruction

    texts = list(_CODE_SAMPLES)
    for language in LANGUAGES:
        for variant in range(3):
            texts.append(direct_instruction(language, variant=variant))
        for variant in range(2):
            texts.append(refine_instruction(language, _CODE_SAMPLES[0], variant=variant))
        texts.append(format_answer(_CODE_SAMPLES[0], language))
    texts.extend(extra)
    return texts


def build_tokenizer(spec: TinySpec, extra_texts: Iterable[str] = ()):
    """A byte-level BPE tokenizer (every string encodes, nothing is unknown) with Qwen's special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=spec.vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(_tokenizer_corpus(extra_texts), trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
        additional_special_tokens=list(SPECIAL_TOKENS[1:]),
        padding_side="left",
        model_max_length=spec.max_position_embeddings,
        chat_template=CHAT_TEMPLATE,
    )


def build_processor(tokenizer, spec: TinySpec):
    from transformers import Qwen2VLProcessor
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    from training.models import build_image_only

    image_processor = Qwen2VLImageProcessorPil(min_pixels=spec.min_pixels, max_pixels=spec.max_pixels)
    # Qwen2VLProcessor without its video part, which needs torchvision; saved under the class's own name.
    return build_image_only(Qwen2VLProcessor, image_processor, tokenizer, CHAT_TEMPLATE)


def vision_token_ids(tokenizer) -> dict[str, int]:
    """The config fields that tie a Qwen-VL model to its tokenizer's vision tokens."""
    names = {
        "image_token_id": "<|image_pad|>",
        "video_token_id": "<|video_pad|>",
        "vision_start_token_id": "<|vision_start|>",
        "vision_end_token_id": "<|vision_end|>",
    }
    return {field: tokenizer.convert_tokens_to_ids(token) for field, token in names.items()}


def build_model(tokenizer, spec: TinySpec):
    import torch
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

    ids = {tok: tokenizer.convert_tokens_to_ids(tok) for tok in SPECIAL_TOKENS}
    head_dim = spec.hidden_size // spec.num_heads
    quarter = head_dim // 4  # mrope splits the rotary half of head_dim over (time, height, width)
    text_config = {
        "vocab_size": len(tokenizer),
        "hidden_size": spec.hidden_size,
        "intermediate_size": spec.intermediate_size,
        "num_hidden_layers": spec.num_layers,
        "num_attention_heads": spec.num_heads,
        "num_key_value_heads": spec.num_kv_heads,
        "max_position_embeddings": spec.max_position_embeddings,
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 10000.0,
            "mrope_section": [head_dim // 2 - 2 * quarter, quarter, quarter],
        },
        "bos_token_id": None,
        "eos_token_id": ids["<|im_end|>"],
        "pad_token_id": ids["<|endoftext|>"],
    }
    vision_config = {
        "depth": spec.vision_depth,
        "embed_dim": spec.vision_dim,
        "hidden_size": spec.hidden_size,
        "num_heads": spec.vision_heads,
        "mlp_ratio": 2,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
    }
    config = Qwen2VLConfig(
        text_config=text_config, vision_config=vision_config, tie_word_embeddings=True, **vision_token_ids(tokenizer)
    )
    torch.manual_seed(spec.seed)
    model = Qwen2VLForConditionalGeneration(config)
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.generation_config.bos_token_id = None
    return model


def build_tiny_vlm(out_dir: str | Path, spec: TinySpec | None = None, extra_texts: Iterable[str] = ()) -> Path:
    """Build and save the tiny model, tokenizer, chat template and processor into `out_dir`; returns it.

    Skips the work when `out_dir` already holds a tiny model built from the same spec.
    """
    spec = spec or TinySpec()
    extra = list(extra_texts)
    texts_hash = hashlib.blake2b("\x1e".join(extra).encode(), digest_size=8).hexdigest()
    out = Path(out_dir)
    stamp = out / "vinci_tiny.json"
    if stamp.exists():
        built = json.loads(stamp.read_text())
        if built.get("spec") == asdict(spec) and built.get("extra_texts") == texts_hash:
            return out
    tokenizer = build_tokenizer(spec, extra)
    processor = build_processor(tokenizer, spec)
    model = build_model(tokenizer, spec)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    params = sum(p.numel() for p in model.parameters())
    info = {"spec": asdict(spec), "extra_texts": texts_hash, "parameters": params, "architecture": "Qwen2-VL"}
    stamp.write_text(json.dumps(info, indent=2))
    return out


def _stamped(out: Path, info: dict) -> bool:
    stamp = out / "vinci_tiny.json"
    return stamp.exists() and json.loads(stamp.read_text()).get("built_from") == info.get("built_from")


def _source_stamp(source: Path) -> dict | None:
    stamp = Path(source) / "vinci_tiny.json"
    return json.loads(stamp.read_text()) if stamp.exists() else None


def build_tiny_lm(out_dir: str | Path, vlm_dir: str | Path) -> Path:
    """The tiny VLM's language model as a Qwen2 causal LM with the VLM's tokenizer, saved into `out_dir`: the base
    LLM of a backbone merge (same weights as the VLM's language model, so the VLM "started from" it).

    Skips the work when `out_dir` was built from the same tiny VLM (its `vinci_tiny.json`)."""
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM, Qwen2VLForConditionalGeneration

    out, source = Path(out_dir), _source_stamp(Path(vlm_dir))
    info = {"architecture": "Qwen2 (the tiny VLM's language model)", "built_from": source}
    if source is not None and _stamped(out, info):
        return out
    vlm = Qwen2VLForConditionalGeneration.from_pretrained(vlm_dir, dtype="float32")
    text = vlm.config.text_config
    rope = {k: v for k, v in dict(text.rope_parameters).items() if k != "mrope_section"}
    config = Qwen2Config(
        vocab_size=text.vocab_size,
        hidden_size=text.hidden_size,
        intermediate_size=text.intermediate_size,
        num_hidden_layers=text.num_hidden_layers,
        num_attention_heads=text.num_attention_heads,
        num_key_value_heads=text.num_key_value_heads,
        max_position_embeddings=text.max_position_embeddings,
        rms_norm_eps=text.rms_norm_eps,
        rope_parameters=rope,
        tie_word_embeddings=vlm.config.tie_word_embeddings,
        bos_token_id=None,
        eos_token_id=text.eos_token_id,
        pad_token_id=text.pad_token_id,
    )
    lm = Qwen2ForCausalLM(config)
    lm.model.load_state_dict(vlm.model.language_model.state_dict())
    if not config.tie_word_embeddings:
        lm.lm_head.load_state_dict(vlm.lm_head.state_dict())
    lm.generation_config.eos_token_id = text.eos_token_id
    lm.generation_config.pad_token_id = text.pad_token_id
    return _save_lm(lm, AutoTokenizer.from_pretrained(vlm_dir), out, info)


def build_tiny_coder(out_dir: str | Path, base_dir: str | Path, noise: float = 0.02, seed: int = 1) -> Path:
    """`base_dir`'s causal LM with `noise` x N(0, 1) added to every weight (seeded), saved into `out_dir`: the tiny
    stand-in for a coding LLM fine-tuned from that base. Skips the work when already built from the same base."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out, source = Path(out_dir), _source_stamp(Path(base_dir))
    info = {"architecture": "Qwen2 (tiny coder)", "built_from": {"base": source, "noise": noise, "seed": seed}}
    if source is not None and _stamped(out, info):
        return out
    lm = AutoModelForCausalLM.from_pretrained(base_dir, dtype="float32")
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in lm.parameters():
            param.add_(noise * torch.randn(param.shape, generator=generator))
    return _save_lm(lm, AutoTokenizer.from_pretrained(base_dir), out, info)


def _save_lm(lm, tokenizer, out: Path, info: dict) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    lm.save_pretrained(out)
    tokenizer.save_pretrained(out)
    info["parameters"] = sum(p.numel() for p in lm.parameters())
    (out / "vinci_tiny.json").write_text(json.dumps(info, indent=2))
    return out
