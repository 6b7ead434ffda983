"""Single-file HTML pages: the page shell, theme, text voice and the deliberate web flaws.

Layouts live in ``web_marketing`` and ``web_content``; each is a function
``(rng, voice, theme) -> (page title, English description, body html, extra css)``.  Clean pages never
contain ``href=``, ``<img`` or ``url(``; the flaws "has_hyperlink", "has_image"
and "non_english" are injected here, on purpose, for the later filters.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from . import words

HYPERLINK_RATE = 0.15
IMAGE_RATE = 0.10
FOREIGN_RATE = 0.08

FONTS = (
    "Helvetica, Arial, sans-serif",
    "Georgia, 'Times New Roman', serif",
    "system-ui, -apple-system, 'Segoe UI', sans-serif",
    "Verdana, Geneva, sans-serif",
    "'Trebuchet MS', Tahoma, sans-serif",
    "'Courier New', monospace",
)
ACCENTS = ("#2563eb", "#7c3aed", "#059669", "#dc2626", "#d97706", "#0891b2", "#db2777", "#4f46e5", "#16a34a")
BACKGROUNDS = (
    ("#ffffff", "#f8fafc", "#1f2937"),
    ("#f9fafb", "#ffffff", "#111827"),
    ("#fdfcf9", "#ffffff", "#2d2a26"),
    ("#0f172a", "#1e293b", "#e2e8f0"),
    ("#f4f7fb", "#ffffff", "#243b53"),
    ("#111111", "#1c1c1c", "#f5f5f5"),
)


@dataclass(frozen=True)
class Theme:
    accent: str
    background: str
    surface: str
    text: str
    font: str
    radius: int
    width: int

    @classmethod
    def pick(cls, rng: random.Random) -> Theme:
        background, surface, text = rng.choice(BACKGROUNDS)
        return cls(
            accent=rng.choice(ACCENTS),
            background=background,
            surface=surface,
            text=text,
            font=rng.choice(FONTS),
            radius=rng.choice((0, 4, 6, 8, 12, 16)),
            width=rng.choice((880, 960, 1040, 1120, 1200)),
        )

    def base_css(self) -> str:
        return (
            "* { box-sizing: border-box; }\n"
            f"body {{ margin: 0; font-family: {self.font}; background: {self.background}; color: {self.text};"
            " line-height: 1.6; }\n"
            f".container {{ max-width: {self.width}px; margin: 0 auto; padding: 0 24px; }}\n"
            f".button {{ display: inline-block; background: {self.accent}; color: #ffffff; border: none;"
            f" padding: 12px 22px; border-radius: {self.radius}px; font-size: 16px; cursor: pointer; }}\n"
            f".card {{ background: {self.surface}; border-radius: {self.radius}px; padding: 24px;"
            " box-shadow: 0 1px 3px rgba(0, 0, 0, 0.12); }\n"
            f"nav {{ display: flex; gap: 24px; align-items: center; padding: 18px 0; }}\n"
            f".logo {{ font-weight: 700; font-size: 22px; color: {self.accent}; margin-right: auto; }}\n"
        )


class Voice:
    """Produces the page's text, in English or (for non_english pages) another language."""

    def __init__(self, rng: random.Random, lang: str = "en") -> None:
        self.rng = rng
        self.lang = lang

    def sentence(self) -> str:
        if self.lang == "en":
            return words.sentence(self.rng)
        return self.rng.choice(words.FOREIGN_SENTENCES[self.lang])

    def paragraph(self, count: int = 3) -> str:
        return " ".join(self.sentence() for _ in range(count))

    def heading(self, english: str) -> str:
        if self.lang == "en":
            return english
        return self.rng.choice(words.FOREIGN_HEADINGS[self.lang])


Layout = Callable[[random.Random, Voice, Theme], tuple[str, str, str, str]]


def nav(rng: random.Random, name: str, voice: Voice) -> str:
    items = words.pick(rng, ("Features", "Pricing", "Blog", "About", "Docs", "Careers", "Support"), 4)
    spans = "".join(f"<span>{voice.heading(item)}</span>" for item in items)
    return f'<nav class="container"><div class="logo">{name}</div>{spans}</nav>\n'


def footer(rng: random.Random, name: str) -> str:
    year = rng.randint(2019, 2025)
    return f'<footer class="container"><p>&copy; {year} {name}. All rights reserved.</p></footer>\n'


def _link(rng: random.Random) -> str:
    path = rng.choice(("about", "pricing", "blog/welcome", "docs/start", "contact", "terms"))
    text = rng.choice(("Learn more", "Read the full story", "See our terms", "Contact us", "Visit the blog"))
    host = rng.choice(("example.com", "www.example.org", "docs.example.net"))
    return f'<p class="more"><a href="https://{host}/{path}">{text}</a></p>\n'


def _image(rng: random.Random) -> tuple[str, str]:
    """(html, css) adding an external picture, as an <img> or a CSS background."""
    name = rng.choice(("hero.jpg", "team.png", "product-shot.webp", "banner.jpg", "photo-1.jpg"))
    if rng.random() < 0.6:
        alt = rng.choice(("Our team at work", "Product screenshot", "Happy customers", "Office view"))
        return f'<figure><img src="images/{name}" alt="{alt}" width="640" height="360"></figure>\n', ""
    css = f'.banner {{ height: 220px; background-image: url("images/{name}"); background-size: cover; }}\n'
    return '<div class="banner"></div>\n', css


def _insert_before_last(body: str, marker: str, snippet: str) -> str:
    at = body.rfind(marker)
    return body + snippet if at < 0 else body[:at] + snippet + body[at:]


def render(rng: random.Random, layout: Layout) -> tuple[str, str, tuple[str, ...]]:
    """Build a full page with `layout`; returns (html, English description, flaws)."""
    lang = "en"
    if rng.random() < FOREIGN_RATE:
        lang = rng.choice(sorted(words.FOREIGN_SENTENCES))
    want_link = rng.random() < HYPERLINK_RATE
    want_image = rng.random() < IMAGE_RATE
    theme = Theme.pick(rng)
    voice = Voice(rng, lang)
    title, description, body, css = layout(rng, voice, theme)
    if want_image:
        html, extra = _image(rng)
        body = _insert_before_last(body, "</main>", html)
        css += extra
    if want_link:
        body = _insert_before_last(body, "</main>", _link(rng))
    chosen = (("has_hyperlink", want_link), ("has_image", want_image), ("non_english", lang != "en"))
    flaws = tuple(name for name, on in chosen if on)
    page = (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n<style>\n{theme.base_css()}{css}</style>\n</head>\n<body>\n{body}</body>\n</html>\n"
    )
    return page, description, flaws
