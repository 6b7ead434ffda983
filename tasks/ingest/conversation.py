"""Reading chat-formatted rows: the user's instruction and the code inside the assistant's answer."""

from __future__ import annotations

import re
from typing import Any

from schemas.languages import canonical_language

FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+#.-]*)[^\n]*\n(.*?)(?:\n[ \t]*```|\Z)", re.DOTALL)
IMAGE_TOKENS = re.compile(r"<image>|<\|image\|>|<img>|<\|vision_start\|>.*?<\|vision_end\|>", re.DOTALL)
USER_ROLES = {"user", "human"}
ASSISTANT_ROLES = {"assistant", "gpt", "model", "bot"}


def _text(content: Any) -> str:
    """Message content as text: plain strings, or OpenAI/Qwen-style lists of typed parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and part.get("type", "text") == "text":
                parts.append(str(part.get("text") or part.get("content") or ""))
        return "\n".join(p for p in parts if p)
    return str(content)


def split_conversation(messages: Any) -> tuple[str | None, str | None]:
    """(first user turn, last assistant turn) of a chat; accepts role/content and from/value turns."""
    if not isinstance(messages, list):
        return None, None
    instruction = answer = None
    for turn in messages:
        if not isinstance(turn, dict):
            continue
        role = str(turn.get("role") or turn.get("from") or "").lower()
        text = _text(turn.get("content", turn.get("value")))
        if role in USER_ROLES and instruction is None:
            instruction = text
        elif role in ASSISTANT_ROLES:
            answer = text
    return instruction, answer


def clean_instruction(text: str | None) -> str | None:
    """Drop image placeholder tokens from a prompt."""
    if text is None:
        return None
    cleaned = IMAGE_TOKENS.sub("", text).strip()
    return cleaned or None


def extract_code(answer: str | None, expected: str | None = None) -> tuple[str | None, str | None]:
    """Code of an answer and its fence language.

    With fenced blocks: the block tagged with the expected language if there is one, else the longest block.
    Without fences the whole answer is the code. Returns (code, canonical language of the fence or None).
    """
    if answer is None:
        return None, None
    blocks = [(canonical_language(m.group(1)), m.group(2)) for m in FENCE.finditer(answer)]
    if not blocks:
        return answer.strip() or None, None
    if expected is not None:
        tagged = [b for b in blocks if b[0] == expected]
        if tagged:
            blocks = tagged
    language, code = max(blocks, key=lambda b: len(b[1]))
    return code.strip("\n") or None, language
