"""The alignment reward: target language from the instruction (every alias, the rule recorded), the last-block rule."""

from __future__ import annotations

import pytest

from schemas.languages import LANGUAGE_ALIASES, LANGUAGES
from training.prompts import direct_instruction, refine_instruction
from training.rewards.alignment import align, completion_text, target_language


@pytest.mark.parametrize("alias,language", sorted(LANGUAGE_ALIASES.items()))
def test_every_alias_names_its_language_in_prose_and_as_a_fence_tag(alias, language):
    named = target_language(f"Please write {alias} code for this picture.")
    assert (named.language, named.rule, named.alias) == (language, "named", alias)
    requested = target_language(f"Answer in one ```{alias}``` block.")
    assert (requested.language, requested.rule) == (language, "fence_request")
    assert align(f"```{alias}\nX\n```", language).score == 1.0


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_projects_own_prompts_name_their_language(language):
    for variant in range(3):
        assert target_language(direct_instruction(language, variant=variant)).language == language
    # a refinement prompt carries a draft in another language's words: the draft must not decide
    draft = "<svg><text>python html latex</text></svg>" if language != "svg" else "# python html"
    for variant in range(2):
        target = target_language(refine_instruction(language, draft, variant=variant))
        assert target.language == language, (variant, target)


def test_aliases_resolve_case_insensitively_and_tikz_means_latex():
    assert target_language("Draw it with TikZ.").language == "latex"
    assert target_language("An ASY program, please").language == "asymptote"
    assert target_language("Give the SMILES string").language == "smiles"


def test_fallbacks_column_then_python_default():
    assert target_language("Reproduce this image.", fallback="svg").rule == "column"
    assert target_language("Reproduce this image.", fallback="svg").language == "svg"
    default = target_language("Reproduce this image.")
    assert (default.language, default.rule) == ("python", "default")
    assert target_language(None).rule == "default"


def test_first_language_in_the_prose_wins_and_words_must_be_whole():
    assert target_language("Write HTML, not Python.").language == "html"
    # "pyramid" contains "py" but is not the word "py"
    assert target_language("Draw a pyramid in SVG").language == "svg"


def test_alignment_needs_a_block_tagged_with_the_target_language():
    assert align("```python\nprint(1)\n```", "python").score == 1.0
    assert align("```py\nprint(1)\n```", "python").score == 1.0
    assert align("```\nprint(1)\n```", "python").score == 0.0  # untagged
    assert align("```html\n<p>\n```", "python").score == 0.0  # wrong language
    assert align("print(1)", "python").score == 0.0  # no fence at all
    assert align("", "svg").score == 0.0


def test_the_rendered_code_is_the_last_tagged_block():
    text = "First try:\n```svg\n<svg id='a'/>\n```\nBetter:\n```svg\n<svg id='b'/>\n```\n```python\nx = 1\n```\n"
    result = align(text, "svg")
    assert (result.score, result.code, result.tag, result.blocks) == (1.0, "<svg id='b'/>", "svg", 3)
    assert align(text, "python").code == "x = 1"


def test_an_empty_tagged_block_aligns_but_has_no_code():
    result = align("```svg\n```", "svg")
    assert result.score == 1.0 and result.code is None


def test_completions_in_trl_shapes():
    assert completion_text("plain") == "plain"
    assert completion_text([{"role": "assistant", "content": "msg"}]) == "msg"
    assert (
        completion_text(
            [{"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]
        )
        == "ab"
    )
    assert completion_text(None) == ""
