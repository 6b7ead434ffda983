"""Sample rows as chat examples: the one place that decides what a model sees and what it must answer.

A row's `instruction` already carries everything the user turn says (for `task=refine` rows the drafts stage
builds it with `training.prompts.refine_instruction`, so the draft code is inside it); the image comes first in
the user turn; the answer is the ground-truth code fenced with its language tag (`training.prompts.format_answer`).
SFT, the exports, ViRL prompts and evaluation all go through these functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from training.prompts import format_answer

SYSTEM = "system"
USER = "user"
ASSISTANT = "assistant"

# Columns a row needs to become an example.
EXAMPLE_COLUMNS = ("id", "language", "task", "instruction", "code", "image")


def user_turn(instruction: str, *, with_image: bool = True) -> dict[str, Any]:
    """The user turn in the structured form processors' chat templates take (image part first)."""
    content: list[dict[str, Any]] = [{"type": "image"}] if with_image else []
    content.append({"type": "text", "text": instruction})
    return {"role": USER, "content": content}


def prompt_messages(instruction: str) -> list[dict[str, Any]]:
    """Messages for generation: the user turn only (the template adds the assistant header)."""
    return [user_turn(instruction)]


def answer(row: Mapping[str, Any]) -> str:
    """The assistant's answer for a row: its code, fenced with the language tag."""
    return format_answer(row["code"], row["language"])


def prompt_completion(row: Mapping[str, Any]) -> dict[str, Any]:
    """TRL's conversational prompt-completion form with plain-string contents (Arrow-friendly).

    TRL inserts the image placeholder before the first user text itself, so the loss covers only the answer.
    """
    return {
        "prompt": [{"role": USER, "content": row["instruction"]}],
        "completion": [{"role": ASSISTANT, "content": answer(row)}],
    }


def messages(row: Mapping[str, Any], image_token: str | None = None) -> list[dict[str, str]]:
    """User + assistant turns as plain strings; `image_token` (e.g. ms-swift's `<image>`) is put before the text."""
    text = row["instruction"] if image_token is None else f"{image_token}{row['instruction']}"
    return [{"role": USER, "content": text}, {"role": ASSISTANT, "content": answer(row)}]
