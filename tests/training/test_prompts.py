import re

import pytest

from schemas.languages import LANGUAGE_ALIASES, LANGUAGES
from training.prompts import direct_instruction, format_answer, refine_instruction


def named_languages(text: str) -> set[str]:
    words = set(re.findall(r"[a-z0-9]+", text.lower()))
    return {LANGUAGE_ALIASES[w] for w in words if w in LANGUAGE_ALIASES}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_template_names_its_language_and_fence(language):
    for variant in range(3):
        text = direct_instruction(language, variant=variant)
        assert named_languages(text) == {language}, text
        assert f"```{language}```" in text or f"```{language}" in text
    draft = "first line\nsecond line\n"
    for variant in range(2):
        text = refine_instruction(language, draft, variant=variant)
        assert named_languages(text) == {language}
        assert f"```{language}\nfirst line\nsecond line\n```" in text


def test_variant_choice_is_deterministic_by_key():
    assert direct_instruction("svg", key="abc") == direct_instruction("svg", key="abc")
    picked = {direct_instruction("svg", key=str(i)) for i in range(50)}
    assert len(picked) == 3


def test_format_answer_and_unknown_language():
    assert format_answer("x = 1\n\n", "python") == "```python\nx = 1\n```"
    with pytest.raises(ValueError, match="unknown language 'cobol'"):
        direct_instruction("cobol")
