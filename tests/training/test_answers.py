"""Code out of a model's answer: tagged block > any fence > whole answer, aliases, cut-off fences."""

from __future__ import annotations

import pytest

from schemas.languages import LANGUAGE_ALIASES
from training.answers import Block, Extracted, extract_code, fenced_blocks

F = "```"


def fence(tag: str, code: str, close: bool = True) -> str:
    return f"{F}{tag}\n{code}\n{F}" if close else f"{F}{tag}\n{code}"


@pytest.mark.parametrize("text", [None, "", "   ", "\n\n\t\n"])
def test_empty_answer(text):
    assert extract_code(text, "python") == Extracted(None, "empty", None)


def test_whole_answer_without_fences():
    text = "\n  import matplotlib.pyplot as plt\nplt.plot([1, 2])\n\n"
    assert extract_code(text, "python") == Extracted(
        "import matplotlib.pyplot as plt\nplt.plot([1, 2])", "whole_answer"
    )
    assert fenced_blocks(text) == []


def test_single_tagged_block_with_prose_around():
    text = "Here is the code:\n\n```python\nx = 1\nprint(x)\n```\n\nIt prints 1."
    assert extract_code(text, "python") == Extracted("x = 1\nprint(x)", "tagged", "python")


@pytest.mark.parametrize(("alias", "language"), sorted(LANGUAGE_ALIASES.items()))
def test_every_alias_counts_as_its_language(alias, language):
    text = fence("", "untagged first") + "\n" + fence(alias, "the code") + "\n" + fence("", "untagged last")
    got = extract_code(text, language)
    assert got == Extracted("the code", "tagged", alias)
    # the same answer for a language the alias does not name falls back to the last fence
    other = "mermaid" if language != "mermaid" else "python"
    assert extract_code(text, other) == Extracted("untagged last", "any_fence", None)


def test_tikz_and_py_aliases_and_tag_case():
    text = "```TikZ\n\\draw (0,0) -- (1,1);\n```"
    assert extract_code(text, "latex") == Extracted("\\draw (0,0) -- (1,1);", "tagged", "tikz")
    assert fenced_blocks(text) == [Block("tikz", "latex", "\\draw (0,0) -- (1,1);")]
    assert extract_code("```py\nprint(1)\n```", "python") == Extracted("print(1)", "tagged", "py")
    assert extract_code("```svg\n<svg/>\n```", "latex") == Extracted("<svg/>", "any_fence", "svg")


def test_last_block_of_the_target_language_wins():
    text = "\n".join(
        [
            "First try:",
            fence("python", "a = 1"),
            "Some html for comparison:",
            fence("html", "<p>a</p>"),
            "Better:",
            fence("py", "a = 2"),
            fence("html", "<p>b</p>"),
            fence("", "untagged"),
        ]
    )
    assert extract_code(text, "python") == Extracted("a = 2", "tagged", "py")
    assert extract_code(text, "html") == Extracted("<p>b</p>", "tagged", "html")
    assert extract_code(text, "svg") == Extracted("untagged", "any_fence", None)
    blocks = fenced_blocks(text)
    assert [b.tag for b in blocks] == ["python", "html", "py", "html", ""]
    assert [b.language for b in blocks] == ["python", "html", "python", "html", None]


def test_unknown_tag_is_any_fence_with_its_tag():
    text = fence("javascript", "console.log(1)") + "\nand\n" + fence("text", "plain words")
    assert extract_code(text, "python") == Extracted("plain words", "any_fence", "text")
    assert [b.language for b in fenced_blocks(text)] == [None, None]


def test_unterminated_final_fence_still_counts():
    cut = "Sure.\n" + fence("python", "done = True") + "\nNow the chart:\n```python\nimport numpy as np\nx = np."
    assert extract_code(cut, "python") == Extracted("import numpy as np\nx = np.", "tagged", "python")
    only = "```html\n<html>\n<body>\n<div>"
    assert extract_code(only, "html") == Extracted("<html>\n<body>\n<div>", "tagged", "html")
    assert extract_code(only, "svg") == Extracted("<html>\n<body>\n<div>", "any_fence", "html")


def test_info_string_indented_close_and_blank_edges():
    text = "```python title='plot.py' {linenos}\n\n\nx = 1\n\n    y = 2\n\n  ```\ntrailing prose"
    assert extract_code(text, "python") == Extracted("x = 1\n\n    y = 2", "tagged", "python")
    # indentation inside the code is kept; only surrounding blank lines go
    assert extract_code("```svg\n  <svg>\n    <g/>\n  </svg>\n```", "svg").code == "  <svg>\n    <g/>\n  </svg>"


def test_blank_tagged_block_gives_no_code_and_does_not_fall_back():
    text = fence("", "print('untagged')") + "\n" + "```python\n\n\n```"
    assert extract_code(text, "python") == Extracted(None, "tagged", "python")


def test_unicode_and_backticks_inside_code():
    code = 'label = "ünïcode → λ"\ns = `x` + "``"'
    assert extract_code(fence("python", code), "python").code == code


def test_empty_block_right_before_close():
    assert extract_code("```python\n```", "python") == Extracted(None, "tagged", "python")
    text = "```python\n```\nOops, here it is:\n```html\n<p>x</p>\n```"
    assert extract_code(text, "html") == Extracted("<p>x</p>", "tagged", "html")
