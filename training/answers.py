"""Code out of a model's answer: the rule shared by drafts, the alignment reward and evaluation.

The code is the last fenced block whose tag names the target language (through the one alias table in
`schemas.languages`); failing that, the last fenced block of any tag; failing that, the whole answer. An
unterminated last fence (a cut-off generation) still counts as a block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from schemas.languages import canonical_language

# an opening fence with its tag, the body, and a closing fence at the start of a line (or the end of the text)
FENCE = re.compile(r"^[ \t]*```[ \t]*([^\s`]*)[^\n]*(?:\n|\Z)(.*?)(?:^[ \t]*```[ \t]*$|\Z)", re.DOTALL | re.MULTILINE)


@dataclass(frozen=True)
class Block:
    tag: str  # as written, lower case ("" when untagged)
    language: str | None  # canonical language of the tag, None when the tag is not a known alias
    code: str


@dataclass(frozen=True)
class Extracted:
    code: str | None
    rule: str  # "tagged" | "any_fence" | "whole_answer" | "empty"
    tag: str | None = None


def fenced_blocks(text: str) -> list[Block]:
    blocks = []
    for match in FENCE.finditer(text or ""):
        tag = match.group(1).strip().lower()
        code = match.group(2).replace("\r\n", "\n").rstrip("\n")
        blocks.append(Block(tag=tag, language=canonical_language(tag) if tag else None, code=code))
    return blocks


def extract_code(text: str | None, language: str) -> Extracted:
    """The code to render for `language` from an answer, and which rule found it."""
    if not text or not text.strip():
        return Extracted(None, "empty")
    blocks = fenced_blocks(text)
    tagged = [b for b in blocks if b.language == language]
    if tagged:
        code = tagged[-1].code.strip("\n")
        return Extracted(code or None, "tagged", tagged[-1].tag)
    if blocks:
        code = blocks[-1].code.strip("\n")
        return Extracted(code or None, "any_fence", blocks[-1].tag or None)
    return Extracted(text.strip(), "whole_answer")
