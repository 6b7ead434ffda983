"""RL rows for the ViRL stage: image + instruction prompts in TRL's GRPO form.

Rows come from the recipe's datasets through the same selection as SFT (`training.sft_data.select_rows`); rows the
base checkpoint trained on (its `train_ids.parquet`) are left out unless the recipe says otherwise, and rows whose
instruction is longer than `max_prompt_tokens` tokens are dropped (TRL does not truncate GRPO prompts; the image
tokens, bounded by the pixel budget, come on top). Each example keeps `image` (the target), `instruction` and
`language` for the reward, and `id`, `domain`, `task` for the rollout log.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.sft_data import read_ids, select_rows, shuffle_and_cap

KEEP_COLUMNS = ("id", "domain", "language", "task", "instruction", "image")


@dataclass
class RLData:
    dataset: Any  # datasets.Dataset: prompt, image, instruction, language, id, domain, task
    sources: list[dict[str, Any]]
    base_trained_rows: int  # ids in the base checkpoint's train_ids.parquet (left out)
    dropped_long_prompts: int


def base_train_ids(model_path: str) -> set[str]:
    """Ids the checkpoint at `model_path` was trained on (empty when it is not one of our runs)."""
    ids_file = Path(model_path) / "train_ids.parquet"
    return read_ids(str(ids_file)) if ids_file.exists() else set()


def _prompts(instructions: list[str]) -> dict[str, list]:
    return {"prompt": [[{"role": "user", "content": text}] for text in instructions]}


def load_rl_dataset(recipe, root: str, model_path: str, processor, *, num_proc: int | None = None) -> RLData:
    """The shuffled RL set for a `ViRLRecipe`."""
    exclude = base_train_ids(model_path) if recipe.exclude_base_rows else set()
    ds, sources = select_rows(recipe.data, root, num_proc=num_proc, exclude=exclude)
    ds = ds.remove_columns([c for c in ds.column_names if c not in KEEP_COLUMNS])
    before = len(ds)
    limit = recipe.max_prompt_tokens
    if limit is not None and before:
        tokenizer = getattr(processor, "tokenizer", processor)

        def short(instructions: list[str]) -> list[bool]:
            lengths = tokenizer(instructions, add_special_tokens=False)["input_ids"]
            return [len(ids) <= limit for ids in lengths]

        ds = ds.filter(short, batched=True, input_columns=["instruction"], num_proc=num_proc, desc="prompt length")
    dropped = before - len(ds)
    ds = ds.map(_prompts, batched=True, input_columns=["instruction"], num_proc=num_proc, desc="GRPO prompts")
    return RLData(shuffle_and_cap(ds, recipe.data), sources, len(exclude), dropped)
