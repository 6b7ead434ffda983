"""Rule thresholds of the filter stage and the per-row checks that do not need the sandbox."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class GenericRules(BaseModel):
    """Every row: code length and, when the row has an image, its size."""

    model_config = ConfigDict(extra="forbid")

    min_code_chars: int = Field(1, ge=1, description="shorter code (after stripping whitespace) is `empty_code`")
    max_code_chars: int = Field(200_000, gt=0, description="longer code is `code_too_long`")
    min_image_side: int = Field(32, ge=1, description="an image with a side below this is `image_too_small`")
    max_image_side: int = Field(16_384, gt=0, description="an image with a side above this is `image_too_large`")
    max_image_pixels: int = Field(50_000_000, gt=0, description="more pixels than this is `image_too_large`")


class WebRules(BaseModel):
    """HTML rows: the WebCode2M rule (English pages without hyperlinks or embedded images)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    english: bool = Field(True, description="drop pages whose visible text is not English (`non_english`)")
    min_confidence: float = Field(
        0.8, ge=0, le=1, description="probability of 'not English' needed to drop a page (tasks/filter/langid.py)"
    )
    min_text_chars: int = Field(40, ge=0, description="pages with fewer letters than this are not language-checked")
    hyperlinks: bool = Field(True, description="drop pages with <a href> (`hyperlink`)")
    images: bool = Field(True, description="drop pages with embedded images (`embedded_image`)")


class LatexRules(BaseModel):
    """LaTeX rows: standalone TikZ normalisation, then a compile that must give exactly one page."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    standalone: bool = Field(True, description="rewrite TikZ code as a standalone TikZ document")
    require_tikz: bool = Field(
        False, description="drop LaTeX without a TikZ picture (`no_tikz`); else it is kept as it is and compiled"
    )
    compile: bool = Field(True, description="compile in the sandbox; drop `compile_failed` and `multi_page` rows")


def generic_violations(row: dict[str, Any], rules: GenericRules) -> list[tuple[str, str]]:
    code = row.get("code") or ""
    stripped = len(code.strip())
    if stripped < rules.min_code_chars:
        return [("empty_code", f"{stripped} non-blank chars < {rules.min_code_chars}")]
    if len(code) > rules.max_code_chars:
        return [("code_too_long", f"{len(code)} chars > {rules.max_code_chars}")]
    width, height = row.get("image_width"), row.get("image_height")
    if width is None or height is None:
        return []
    if min(width, height) < rules.min_image_side:
        return [("image_too_small", f"{width}x{height}, a side < {rules.min_image_side}")]
    if max(width, height) > rules.max_image_side or width * height > rules.max_image_pixels:
        return [("image_too_large", f"{width}x{height} > {rules.max_image_side} a side or {rules.max_image_pixels} px")]
    return []


def web_verdict(out: dict[str, Any], rules: WebRules) -> list[tuple[str, str]]:
    """Broken web rules of a page; records the detected language of its visible text in `out`."""
    from tasks.filter.langid import is_english
    from tasks.filter.web import visible_text, web_violations

    html = out["code"]
    broken: list[tuple[str, str]] = []
    if rules.english:
        english, lang, score = is_english(
            visible_text(html), min_confidence=rules.min_confidence, min_chars=rules.min_text_chars
        )
        out["text_lang"], out["text_lang_score"] = lang, score
        if not english:
            broken.append(("non_english", f"lang={lang} score={score:.2f}"))
    dropped = set() if rules.hyperlinks else {"hyperlink"}
    dropped |= set() if rules.images else {"embedded_image"}
    broken += [(reason, detail) for reason, detail in web_violations(html) if reason not in dropped]
    return broken
