"""GPU smoke run of an SFT recipe: the real-size architecture with random weights, a few steps, tokens/s and memory.

No weights are downloaded: the model is built from the published sizes of Qwen2.5-VL-7B / Qwen3-VL-8B (their
config.json values, written out below) with random initialisation, and the tokenizer and chat template come from
the offline tiny model (its token ids are all below the real vocabulary size, so embedding lookups are valid).
Batches are synthetic but shaped like the recipe's data: images of `--image-size` pixels through the recipe's
pixel budget and answers of `--answer-tokens` tokens. The run goes through TRL's SFTTrainer exactly as
`training/sft.py` does, so what it measures is what a real run of that recipe costs per step on that device.

    python -m training.smoke --recipe qwen2.5-vl-7b --steps 6 --out smoke.json

`--shrink` replaces the sizes with tiny ones so the same code path runs on a CPU (tests).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

# Sizes from each model's published config.json.
REAL_SIZES: dict[str, dict[str, Any]] = {
    "qwen2_5_vl": {
        "config_class": "Qwen2_5_VLConfig",
        "model_class": "Qwen2_5_VLForConditionalGeneration",
        "text": {
            "vocab_size": 152064,
            "hidden_size": 3584,
            "intermediate_size": 18944,
            "num_hidden_layers": 28,
            "num_attention_heads": 28,
            "num_key_value_heads": 4,
            "max_position_embeddings": 128000,
            "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [16, 24, 24]},
        },
        "vision": {
            "depth": 32,
            "hidden_size": 1280,
            "intermediate_size": 3420,
            "num_heads": 16,
            "out_hidden_size": 3584,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "window_size": 112,
            "fullatt_block_indexes": [7, 15, 23, 31],
        },
        "tie_word_embeddings": False,
    },
    "qwen3_vl": {
        "config_class": "Qwen3VLConfig",
        "model_class": "Qwen3VLForConditionalGeneration",
        "text": {
            "vocab_size": 151936,
            "hidden_size": 4096,
            "intermediate_size": 12288,
            "num_hidden_layers": 36,
            "num_attention_heads": 32,
            "num_key_value_heads": 8,
            "head_dim": 128,
            "max_position_embeddings": 262144,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 5000000.0,
                "mrope_section": [24, 20, 20],
                "mrope_interleaved": True,
            },
        },
        "vision": {
            "depth": 27,
            "hidden_size": 1152,
            "intermediate_size": 4304,
            "num_heads": 16,
            "out_hidden_size": 4096,
            "patch_size": 16,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "num_position_embeddings": 2304,
            "deepstack_visual_indexes": [8, 16, 24],
        },
        "tie_word_embeddings": False,
    },
}

# `--shrink`: the same architecture at toy size, for CPU tests of this module.
SHRUNK_TEXT = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4}
SHRUNK_TEXT |= {"num_key_value_heads": 2, "head_dim": 16, "vocab_size": 2048}
SHRUNK_VISION = {"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "out_hidden_size": 64}


def architecture_of(model_path: str) -> str:
    name = model_path.lower().replace("-", "").replace("_", "").replace(".", "")
    if "qwen3vl" in name:
        return "qwen3_vl"
    if "qwen25vl" in name:
        return "qwen2_5_vl"
    raise ValueError(f"no real-size architecture known for {model_path}; known: Qwen2.5-VL, Qwen3-VL")


def build_config(arch: str, tokenizer, shrink: bool = False):
    import transformers

    sizes = REAL_SIZES[arch]
    text, vision = dict(sizes["text"]), dict(sizes["vision"])
    if shrink:
        text.update(SHRUNK_TEXT)
        head_dim = text["hidden_size"] // text["num_attention_heads"]
        rope = dict(text["rope_parameters"])
        quarter = head_dim // 4
        rope["mrope_section"] = [head_dim // 2 - 2 * quarter, quarter, quarter]
        text["rope_parameters"] = rope
        vision.update(SHRUNK_VISION)
        vision["out_hidden_size"] = text["hidden_size"]
        if "fullatt_block_indexes" in vision:
            vision["fullatt_block_indexes"] = [1]
        if "deepstack_visual_indexes" in vision:
            vision["deepstack_visual_indexes"] = [0]
    if arch == "qwen2_5_vl":
        text.pop("head_dim", None)
    from training.tiny import vision_token_ids

    text["eos_token_id"] = tokenizer.convert_tokens_to_ids("<|im_end|>")
    text["pad_token_id"] = tokenizer.pad_token_id
    text["bos_token_id"] = None
    config_class = getattr(transformers, sizes["config_class"])
    config = config_class(
        text_config=text,
        vision_config=vision,
        tie_word_embeddings=sizes["tie_word_embeddings"],
        **vision_token_ids(tokenizer),
    )
    return config, getattr(transformers, sizes["model_class"])


def synthetic_rows(n: int, image_size: tuple[int, int], answer_tokens: int, seed: int = 0) -> list[dict[str, Any]]:
    """Rows shaped like SFT data: a drawn image, an instruction, an answer of about `answer_tokens` tokens."""
    import numpy as np
    from PIL import Image

    from training.conversation import prompt_completion
    from training.prompts import direct_instruction

    rng = np.random.default_rng(seed)
    line = "ax.plot(x, np.sin(x) * {k}, color='#{c:06x}', label='series {k}')\n"
    rows = []
    for i in range(n):
        pixels = rng.integers(0, 255, size=(image_size[1] // 16, image_size[0] // 16, 3), dtype=np.uint8)
        image = Image.fromarray(pixels).resize(image_size, Image.Resampling.NEAREST)
        code = "".join(line.format(k=k, c=int(rng.integers(0, 2**24))) for k in range(answer_tokens // 12 + 1))
        example = prompt_completion(
            {"language": "python", "instruction": direct_instruction("python", variant=i), "code": code}
        )
        rows.append({"image": image, **example})
    return rows


def run_smoke(
    recipe: str,
    *,
    steps: int = 6,
    image_size: tuple[int, int] = (1024, 768),
    answer_tokens: int = 2048,
    shrink: bool = False,
    workdir: str = "smoke-run",
) -> dict[str, Any]:
    import datasets
    import torch
    from transformers import TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from training.models import build_image_only
    from training.recipes import SFTRecipe, load_recipe
    from training.tiny import build_tiny_vlm

    cfg = load_recipe(recipe, SFTRecipe)
    arch = architecture_of(cfg.model.path)
    tiny = build_tiny_vlm(Path(workdir) / "tokenizer")
    from training.models import load_processor

    tiny_processor = load_processor(tiny)
    tokenizer = tiny_processor.tokenizer
    config, model_class = build_config(arch, tokenizer, shrink)
    cuda = torch.cuda.is_available()
    dtype = torch.bfloat16 if cuda and cfg.model.dtype in ("bfloat16", "auto") else torch.float32
    torch.manual_seed(0)
    attn = cfg.model.attn_implementation if cuda else None
    model = model_class._from_config(config, dtype=dtype, **({"attn_implementation": attn} if attn else {}))
    if cuda:
        model.to("cuda")

    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil
    from transformers.models.qwen2_vl.processing_qwen2_vl import Qwen2VLProcessor

    vision = config.vision_config
    image_processor = Qwen2VLImageProcessorPil(
        patch_size=vision.patch_size,
        merge_size=vision.spatial_merge_size,
        temporal_patch_size=vision.temporal_patch_size,
        min_pixels=cfg.model.min_pixels or 256 * 28 * 28,
        max_pixels=cfg.model.max_pixels or 1280 * 28 * 28,
    )
    processor = build_image_only(Qwen2VLProcessor, image_processor, tokenizer, tiny_processor.chat_template)

    batch = int(cfg.trainer.get("per_device_train_batch_size", 1))
    rows = synthetic_rows(batch * steps, image_size, answer_tokens)
    dataset = datasets.Dataset.from_list(rows)
    trainer_args = {k: v for k, v in cfg.trainer.items() if k not in ("num_train_epochs", "save_steps", "seed")}
    trainer_args.update(
        max_steps=steps,
        gradient_accumulation_steps=1,
        report_to="none",
        save_strategy="no",
        logging_steps=1,
        include_num_input_tokens_seen="non_padding",
        dataloader_num_workers=0,
        bf16=dtype == torch.bfloat16,
        use_cpu=not cuda,
        max_length=None,
    )
    step_times: list[float] = []

    class Timer(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            if cuda:
                torch.cuda.synchronize()
            self._t = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            if cuda:
                torch.cuda.synchronize()
            step_times.append(time.perf_counter() - self._t)

    if cuda:
        torch.cuda.reset_peak_memory_stats()
    trainer = SFTTrainer(
        model=model,
        args=SFTConfig(output_dir=str(Path(workdir) / "out"), **trainer_args),
        train_dataset=dataset,
        processing_class=processor,
        callbacks=[Timer()],
    )
    started = time.perf_counter()
    trainer.train()
    wall = time.perf_counter() - started
    tokens = int(trainer.state.num_input_tokens_seen or 0)
    per_step = tokens / max(1, len(step_times))
    steady = step_times[1:] or step_times  # the first step pays for kernels, allocator and compilation
    device = torch.cuda.get_device_name(0) if cuda else "cpu"
    return {
        "recipe": cfg.name,
        "architecture": arch,
        "shrunk": shrink,
        "parameters": sum(p.numel() for p in model.parameters()),
        "device": device,
        "dtype": str(dtype).removeprefix("torch."),
        "attn_implementation": attn or "default",
        "per_device_batch": batch,
        "steps": len(step_times),
        "tokens_per_step": round(per_step, 1),
        "tokens_per_second": round(per_step / (sum(steady) / len(steady)), 1),
        "step_seconds": [round(s, 3) for s in step_times],
        "wall_seconds": round(wall, 2),
        "peak_gpu_memory_gb": round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda else None,
        "image_size": list(image_size),
        "answer_tokens": answer_tokens,
        "activation_checkpointing": bool(cfg.trainer.get("activation_checkpointing", True)),
    }


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - command line
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipe", default="qwen2.5-vl-7b")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--image-size", type=int, nargs=2, default=(1024, 768))
    parser.add_argument("--answer-tokens", type=int, default=2048)
    parser.add_argument("--shrink", action="store_true", help="toy sizes (CPU check of the code path)")
    parser.add_argument("--workdir", default="smoke-run")
    parser.add_argument("--out", default=None, help="write the result JSON here too")
    args = parser.parse_args(argv)
    result = run_smoke(
        args.recipe,
        steps=args.steps,
        image_size=tuple(args.image_size),
        answer_tokens=args.answer_tokens,
        shrink=args.shrink,
        workdir=args.workdir,
    )
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":  # pragma: no cover
    main()
