"""The alignment reward: did the model answer in the language the instruction asked for?

The target language is read back from the instruction through the one alias table (`schemas.languages`), so
"TikZ", "tikz" and "LaTeX" all mean latex. Rules, first that applies wins, and the rule is recorded:

    fence_request  the instruction asks for a fence by tag (our prompts say "in one ```svg``` block")
    named          the first language name or alias mentioned in the instruction's prose
    column         the row's own `language` column (the instruction named nothing)
    default        python, as the paper's reference reward does

Code blocks inside the instruction (a refinement prompt carries the flawed draft) are skipped, so a draft that
mentions `<svg` cannot change the target. Alignment is 1 when the answer holds a fenced block tagged with any alias
of the target language, else 0; the code rendered for the visual reward is the last such block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from schemas.languages import LANGUAGE_ALIASES, canonical_language
from training.answers import FENCE, fenced_blocks

DEFAULT_LANGUAGE = "python"
# an inline fence request such as "in one ```svg``` block" (not at the start of a line, so not a code block)
_FENCE_REQUEST = re.compile(r"```[ \t]*([A-Za-z0-9_+.-]+)[ \t]*```")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9+]*")


@dataclass(frozen=True)
class Target:
    language: str
    rule: str  # fence_request | named | column | default
    alias: str | None = None  # the word that decided it


@dataclass(frozen=True)
class Alignment:
    score: float  # 1.0 or 0.0
    code: str | None  # the last block tagged with the target language (None when there is none)
    tag: str | None  # its tag as written
    blocks: int  # fenced blocks in the answer, of any tag


def prose(instruction: str) -> str:
    """The instruction without its fenced code blocks."""
    return FENCE.sub(" ", instruction or "")


def target_language(instruction: str | None, fallback: str | None = None) -> Target:
    """The language the instruction asks for, and which rule said so."""
    text = prose(instruction or "")
    for match in _FENCE_REQUEST.finditer(text):
        language = canonical_language(match.group(1))
        if language:
            return Target(language, "fence_request", match.group(1).lower())
    for match in _WORD.finditer(text):
        word = match.group(0).lower()
        if word in LANGUAGE_ALIASES:
            return Target(LANGUAGE_ALIASES[word], "named", word)
    fallback_language = canonical_language(fallback)
    if fallback_language:
        return Target(fallback_language, "column")
    return Target(DEFAULT_LANGUAGE, "default")


def completion_text(completion: object) -> str:
    """A completion as TRL passes it: a plain string, or (conversational) a list of messages."""
    if completion is None:
        return ""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        content = completion.get("content", "")
        if isinstance(content, list):  # structured parts: keep the text ones
            return "".join(p.get("text", "") for p in content if isinstance(p, dict))
        return str(content or "")
    if isinstance(completion, list | tuple):
        assistant = [m for m in completion if isinstance(m, dict) and m.get("role", "assistant") == "assistant"]
        return completion_text(assistant[-1]) if assistant else ""
    return str(completion)


def align(completion: str, language: str) -> Alignment:
    """Alignment of one answer with the target language, and the code to render."""
    blocks = fenced_blocks(completion)
    tagged = [b for b in blocks if b.language == language]
    if not tagged:
        return Alignment(0.0, None, None, len(blocks))
    last = tagged[-1]
    return Alignment(1.0, last.code.strip("\n") or None, last.tag, len(blocks))
