"""Web page rules of the filter stage: English pages without hyperlinks or embedded images (WebCode2M's filter).

Parser: selectolax 1.0.2 (lexbor), an HTML5-conformant parser in C. It builds the tree the way Chromium (the
renderer) does: ``<image>`` in HTML becomes ``<img>``, ``<textarea>``/``<title>`` hold text and no tags, content
after ``</html>`` still lands in the body, and template content is kept apart (reached through
``template_fragments``). It parses a 5 MB page in about 0.06 s. The stdlib ``html.parser`` of this Python (3.11.7)
is quadratic on malformed input (500 KB of ``</`` take 40 s; fixed upstream only in later patch releases).
Lexbor, like any conformant tree builder, is quadratic in the nesting depth of block elements (each ``<div>``
checks the stack of open elements for a ``<p>``) and in the attributes of one element (duplicate names): pages
nested deeper than ``MAX_NESTING`` (Chromium itself stops nesting at 512) or with an element of more than
``MAX_ATTRIBUTES`` attributes are not parsed and are reported as ``malformed_html``. No real page is either.

Decisions:

* ``hyperlink``: every ``<a>`` or ``<area>`` with an ``href`` (or SVG ``xlink:href``) attribute, whatever its
  value: ``#``, an empty value and ``javascript:`` included. Such an element is a hyperlink in HTML's own terms
  and is drawn as one; the rule is "no hyperlinks", not "no working ones". ``<a>`` without ``href`` is plain
  text. ``<link>`` (stylesheets, icons), ``<base>`` and ``<form action>`` are not hyperlinks; external
  stylesheets and scripts are not reported either: the paper's rule does not cover them and the renderer
  loads nothing from the network, so they cannot put anything into the image.
* ``embedded_image``: ``<img>``, ``<source>`` with ``srcset`` or inside ``<picture>``, ``<input type=image>``,
  SVG ``<image>`` and ``<feImage>``, SVG ``<use>`` of another file (``href`` not starting with ``#``),
  ``<object>``, ``<embed>``, ``<iframe>``, ``<frame>``, ``<video>``, a ``background`` attribute, and CSS
  ``url(...)``/``image-set("...")`` in ``<style>`` blocks and in any attribute (``style=``, SVG ``fill=``,
  ``data-bg=`` of lazy loaders). Not images: ``url(#id)`` (SVG gradients, filters, masks), ``url()`` inside
  ``@font-face`` and ``@import``, CSS comments, ``<meta property=og:image>`` and ``<link rel=icon>`` (never
  drawn in the page). ``data:`` URIs count: the image is inline but still a picture the code cannot describe.
* Markup counts wherever it is: inside ``<noscript>`` and ``<template>`` too (scripts clone templates; the code
  still carries the link or image).
* ``visible_text``: text of the body a reader sees: no ``<head>`` (so no ``<title>``: it is not in the
  screenshot), no script, style, noscript, template or svg text, no comments; ``placeholder`` of inputs and
  ``value`` of button-like inputs are included; block elements separate words, inline ones do not; whitespace
  collapsed. Elements hidden by CSS are not detected.
"""

from __future__ import annotations

import re
from collections import Counter

from selectolax.lexbor import LexborHTMLParser, LexborNode

from .langid import MIN_CHARS, MIN_CONFIDENCE, is_english

MAX_NESTING = 10_000
MAX_ATTRIBUTES = 1_000
MAX_SHOWN = 3  # distinct occurrences named in a detail
MAX_VALUE = 80  # characters of an attribute value quoted in a detail
SKIP_TEXT = frozenset({"head", "script", "style", "noscript", "template", "svg"})
INLINE = frozenset(
    ("a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "font", "i", "kbd", "label", "mark", "q")
    + ("s", "samp", "small", "span", "strong", "sub", "sup", "time", "tt", "u", "var", "wbr")
)
BUTTON_INPUTS = frozenset({"submit", "button", "reset"})
EMBEDS = {"object": "data", "embed": "src", "iframe": "src", "frame": "src", "video": "poster"}
BLOCKS = frozenset(
    ("address", "article", "aside", "blockquote", "center", "details", "dialog", "dir", "div", "dl", "fieldset")
    + ("figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hgroup", "listing")
    + ("main", "menu", "nav", "ol", "pre", "search", "section", "summary", "ul")
)
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)")
_LONG_TAG = re.compile(r"<[A-Za-z][^<>]{2000,}")
_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")
_ATTRIBUTE = re.compile(r"\s+[^\s\"'=<>/]")
_CSS_URL = re.compile(r"(?<![\w-])url\(", re.IGNORECASE)
_IMAGE_SET = re.compile(r"""(?<![\w])(?:-webkit-)?image-set\(\s*["']([^"']*)""", re.IGNORECASE)


def _problem(html: str) -> str | None:
    """Why lexbor would take quadratic time on `html` (over-estimates; linear time), or None."""
    for match in _LONG_TAG.finditer(html):  # only a long tag can hold that many attributes
        if len(_ATTRIBUTE.findall(_QUOTED.sub("", match.group()))) > MAX_ATTRIBUTES:
            return f"an element with more than {MAX_ATTRIBUTES} attributes"
    if html.count("<") <= MAX_NESTING:
        return None
    depth = 0
    for match in _TAG.finditer(html):
        if match.group(2).lower() in BLOCKS:
            depth = max(0, depth - 1) if match.group(1) else depth + 1
            if depth > MAX_NESTING:
                return f"block elements nested more than {MAX_NESTING} deep"
    return None


def _parse(html: str | bytes) -> tuple[LexborHTMLParser | None, str | None]:
    """(tree, None), or (None, why the page is not parsed)."""
    if isinstance(html, bytes):
        html = html.decode("utf-8", errors="replace")
    html = html.replace("\x00", "")
    problem = _problem(html)
    return (None, problem) if problem else (LexborHTMLParser(html), None)


def _elements(root: LexborNode):
    """Every element under `root`, then the content of its templates (nested ones too), without recursion."""
    pending = [root]
    while pending:
        node = pending.pop()
        yield from node.traverse()
        pending.extend(reversed(node.template_fragments()))


def _short(value: str | None) -> str:
    value = " ".join((value or "").split())
    return value if len(value) <= MAX_VALUE else value[: MAX_VALUE - 3] + "..."


def _css_images(css: str) -> list[str]:
    """``url(...)``/``image-set("...")`` targets in CSS that are images (see the module docstring)."""
    css = _without(_without(_without(css, "/*", "*/"), "@font-face", "}"), "@import", ";")
    found, close = [], -1
    for match in _CSS_URL.finditer(css):
        if match.end() > close and (close := css.find(")", match.end())) < 0:
            break  # one search per closing parenthesis keeps this linear
        target = css[match.end() : close].strip().strip("'\"").strip()
        if target and not target.startswith("#"):
            found.append(f"css url({_short(target)})")
    found.extend(f"css image-set({_short(match.group(1))})" for match in _IMAGE_SET.finditer(css))
    return found


def _without(text: str, start: str, end: str) -> str:
    """`text` without the spans from `start` to the next `end` (case-insensitive; linear time)."""
    lowered, parts, at = text.lower(), [], 0
    while (begin := lowered.find(start, at)) >= 0:
        parts.append(text[at:begin])
        stop = lowered.find(end, begin + len(start))
        at = len(text) if stop < 0 else stop + len(end)
    parts.append(text[at:])
    return "".join(parts)


def _href(attrs: dict) -> str | None:
    for key in ("href", "xlink:href"):
        if key in attrs:
            return attrs[key] or ""
    return None


def _element_findings(node: LexborNode) -> list[tuple[str, str]]:
    tag, attrs = (node.tag or "").lower(), node.attributes
    found: list[tuple[str, str]] = []
    href = _href(attrs)
    if tag in ("a", "area") and href is not None:
        found.append(("hyperlink", f"{tag} href={_short(href)}"))
    if tag == "img":
        found.append(("embedded_image", f"img src={_short(attrs.get('src') or attrs.get('srcset'))}"))
    elif tag == "source" and ("srcset" in attrs or (node.parent is not None and node.parent.tag == "picture")):
        found.append(("embedded_image", f"source srcset={_short(attrs.get('srcset') or attrs.get('src'))}"))
    elif tag == "input" and (attrs.get("type") or "").strip().lower() == "image":
        found.append(("embedded_image", f"input type=image src={_short(attrs.get('src'))}"))
    elif tag in ("image", "feimage") and href:
        found.append(("embedded_image", f"svg {tag} href={_short(href)}"))
    elif tag == "use" and href and not href.startswith("#"):
        found.append(("embedded_image", f"svg use href={_short(href)}"))
    elif tag in EMBEDS:
        found.append(("embedded_image", f"{tag} {EMBEDS[tag]}={_short(attrs.get(EMBEDS[tag]) or attrs.get('src'))}"))
    if "background" in attrs:
        found.append(("embedded_image", f"{tag} background={_short(attrs['background'])}"))
    for name, value in attrs.items():
        if value and not name.startswith("on") and ("url(" in value.lower() or "image-set(" in value.lower()):
            found.extend(("embedded_image", item) for item in _css_images(value))
    if tag == "style":
        found.extend(("embedded_image", item) for item in _css_images(node.text(deep=True)))
    return found


def _summary(found: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """One (reason, detail) per reason, in order of first appearance; details name the first few occurrences."""
    by_reason: dict[str, Counter] = {}
    for reason, detail in found:
        by_reason.setdefault(reason, Counter())[detail] += 1
    out = []
    for reason, counts in by_reason.items():
        shown = [f"{detail} (x{n})" if n > 1 else detail for detail, n in list(counts.items())[:MAX_SHOWN]]
        if len(counts) > MAX_SHOWN:
            shown.append(f"+{len(counts) - MAX_SHOWN} more")
        out.append((reason, "; ".join(shown)))
    return out


def _violations(tree: LexborHTMLParser) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for node in _elements(tree.root):
        found.extend(_element_findings(node))
    return _summary(found)


def _text(tree: LexborHTMLParser) -> str:
    parts: list[str] = []
    gap = object()  # marks the end of a block element
    stack: list = [tree.root.child if tree.root is not None else None]
    while stack:
        node = stack.pop()
        if node is None:
            continue
        if node is gap:
            parts.append(" ")
            continue
        stack.append(node.next)
        if node.is_text_node:
            parts.append(node.text_content or "")
            continue
        tag = node.tag
        if not node.is_element_node or tag in SKIP_TEXT:
            continue
        attrs = node.attributes
        shown = attrs.get("placeholder")
        if tag == "input" and (attrs.get("type") or "").strip().lower() in BUTTON_INPUTS:
            shown = attrs.get("value") or shown
        if tag not in INLINE:
            parts.append(" ")
            stack.append(gap)
        if shown:
            parts.append(f" {shown} ")
        stack.append(node.child)
    return " ".join("".join(parts).split())


def visible_text(html: str) -> str:
    """The text a reader of the rendered page sees, whitespace collapsed ("" for a page nested too deep)."""
    tree, _ = _parse(html)
    return "" if tree is None else _text(tree)


def web_violations(html: str) -> list[tuple[str, str]]:
    """(reason, detail) per broken rule: ``hyperlink``, ``embedded_image`` (or ``malformed_html``)."""
    tree, problem = _parse(html)
    return [("malformed_html", problem)] if tree is None else _violations(tree)


def check_web(
    html: str, *, english: bool = True, min_confidence: float = MIN_CONFIDENCE, min_text_chars: int = MIN_CHARS
) -> list[tuple[str, str]]:
    """All broken rules of a page: web_violations, then ``non_english`` when `english` is asked for."""
    tree, problem = _parse(html)
    if tree is None:
        return [("malformed_html", problem)]
    found = _violations(tree)
    if english:
        ok, lang, score = is_english(_text(tree), min_confidence=min_confidence, min_chars=min_text_chars)
        if not ok:
            found.append(("non_english", f"lang={lang} score={score:.2f}"))
    return found
