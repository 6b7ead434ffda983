"""Instruction templates for the two tasks, per language: one module used by ingest, drafts, SFT, ViRL and eval.

Direct generation: image + instruction -> code. Visual refinement: image + instruction + flawed draft -> code.
Every template names its language explicitly, so the alignment reward can read the target language back out of
the instruction, and asks for one fenced code block tagged with that language.
"""

from __future__ import annotations

import hashlib

from schemas.languages import FENCE_TAG, LANGUAGES

# How each language is named to the model, and what the finished code must do.
_SUBJECT: dict[str, tuple[str, str]] = {
    "python": ("Python (matplotlib)", "a Python script that draws this figure"),
    "html": ("HTML and CSS", "a single self-contained HTML file (inline CSS) that renders this web page"),
    "svg": ("SVG", "an SVG document that draws this graphic"),
    "latex": ("LaTeX/TikZ", "LaTeX code (a standalone TikZ document) that compiles to this figure"),
    "mermaid": ("Mermaid", "a Mermaid diagram definition that renders this diagram"),
    "asymptote": ("Asymptote", "an Asymptote program that draws this figure"),
    "smiles": ("SMILES", "the SMILES string of the molecule shown in this drawing"),
}

_DIRECT: tuple[str, ...] = (
    "Look at the image and write {what}. Use {name}. Match the layout, colours, text and proportions as closely "
    "as you can, and answer with the complete code in one ```{tag}``` block.",
    "Reproduce this picture in {name}: give {what}. Every visible element (shapes, labels, colours, sizes) should "
    "come out the same when the code is rendered. Reply with a single ```{tag}``` code block.",
    "Convert the image into {name} code. I need {what}, faithful to the original in structure and style. Return "
    "only the finished code inside a ```{tag}``` fence.",
)

_REFINE: tuple[str, ...] = (
    "The image is the target. Below is a first attempt in {name} that does not reproduce it correctly:\n\n"
    "```{tag}\n{draft}\n```\n\n"
    "Find where the attempt's output differs from the image and write the corrected {name} code in full, in one "
    "```{tag}``` block.",
    "Here is {name} code that was meant to draw the picture above, but its rendering is off:\n\n"
    "```{tag}\n{draft}\n```\n\n"
    "Fix it so that the rendered result matches the image in layout, colours and text. Give the complete fixed "
    "code in a ```{tag}``` block.",
)


def _pick(options: tuple[str, ...], key: str | None, variant: int | None) -> str:
    if variant is not None:
        return options[variant % len(options)]
    if key is None:
        return options[0]
    digest = hashlib.blake2b(key.encode(), digest_size=4).digest()
    return options[int.from_bytes(digest, "big") % len(options)]


def _check(language: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; expected one of {', '.join(LANGUAGES)}")


def direct_instruction(language: str, key: str | None = None, variant: int | None = None) -> str:
    """Instruction for direct generation; `key` (e.g. a row id) picks a template variant deterministically."""
    _check(language)
    name, what = _SUBJECT[language]
    return _pick(_DIRECT, key, variant).format(name=name, what=what, tag=FENCE_TAG[language])


def refine_instruction(language: str, draft: str, key: str | None = None, variant: int | None = None) -> str:
    """Instruction for visual refinement; carries the flawed draft in a fenced block."""
    _check(language)
    name, _ = _SUBJECT[language]
    return _pick(_REFINE, key, variant).format(name=name, tag=FENCE_TAG[language], draft=draft.rstrip("\n"))


def format_answer(code: str, language: str) -> str:
    """The assistant's answer: the code fenced with its language tag."""
    _check(language)
    return f"```{FENCE_TAG[language]}\n{code.rstrip()}\n```"
