"""HTML: a full-page screenshot in the system Chromium (see renderers/browser_worker.py).

The page is served to the browser from memory as a fresh document at its own address; nothing else it asks for
(images, styles, scripts, fonts, frames) is loaded, except the files the caller lists in
`RenderOptions.html_assets` (relative URL -> local file, e.g. Design2Code's `rick.jpg` placeholder), which are
served at the page's own address for that job. The screenshot is `viewport_width` wide and as tall as the
laid-out page (at least `viewport_height`), cut at `max_page_height`.

Text blocks (`RenderOptions.html_text_blocks`, for the Design2Code metric; no OCR). After the normal screenshot
(returned unchanged), in the same page, under the same watchdog, heap cap and request blocking, and within the same
`timeout_s` (every browser step gets what is left of it: a page that hangs during the extraction fails the job as
`timeout`; one that breaks the extraction script, as `runtime`):

1. Freeze: the page's timers and animation frames are cleared, its running animations and transitions paused.
2. Text elements: every element (HTML only, not inside script/style/noscript/template/head, form fields, svg,
   math, iframe or object) that has a direct child text node with non-whitespace text, in the document order of
   that first text node (reading order), at most MAX_BLOCKS of them. An element whose glyphs are invisible in the
   page (a transparent text fill that is neither background-clipped text nor stroked) is left out. The text of a
   text element is its own direct text nodes joined by a space, whitespace collapsed, lower-cased. Nested
   elements are their own text elements: in `<p>a <b>b</b> c</p>`, `<p>` is "a c" and `<b>` is "b".
3. Colour coding, without moving anything: text element i gets the text colour `code_of(i)` (each channel a
   multiple of CODE_STEP, at most 184; fill and stroke follow it); every other element gets transparent text;
   every element gets a transparent background (colour and image), transparent borders, outlines, underlines,
   list markers and column rules, no shadows, filters or blend modes; ::before/::after content is transparent;
   images, svg, video, canvas, frames and form fields are hidden (`visibility`); an ancestor of a text element
   with 0 < opacity < 1 is made opaque (opacity 0 stays, so its text stays hidden). Border widths, fonts and
   everything else that lays out the page are untouched, so the coded shots line up with the original one. These
   rules outrank the page's own (a stylesheet of very high specificity, and inline `!important` where the page
   itself used inline styles).
4. Three coded shots (same clip as the original): `coded` as set up in 3; `shifted`: every code + OFFSET on all
   three channels and the glyphs thickened by a STROKE_PX pen in the text's own colour (a text stroke: it moves
   nothing); `restored`: the codes back, the pen kept.
5. In Python. A pixel "moved by the offset" between two shots when it shows a code in the first and the same
   code + OFFSET in the second (each channel within CODE_TOLERANCE: overlapping coats of one colour round by one
   level). Anti-aliased edges move by less than OFFSET and fail, so only (nearly) fully covered glyph pixels pass;
   the pen makes those cover the glyphs of small, thin text too (without it a 12 px word keeps a stem or two).
   The text pixels of element i are its pixels that moved between `restored` and `shifted`; its block is their
   bounding box (x0, y0, x1, y1; x1 and y1 exclusive) and its colour the mean of the ORIGINAL screenshot over its
   pixels that moved between `coded` and `shifted` (inside the glyphs as drawn, so anti-aliasing does not pale the
   colour; all its text pixels when it has none of those). Elements without any text pixel (hidden, clipped,
   off-page, too small) give no block.

The result goes to `diagnostics["text_blocks"]`: `{"width", "height", "blocks": [{"text", "bbox", "color",
"pixels"}], "elements", "hidden", "truncated", "seconds"}` (`elements`: text elements found; `truncated`: more than
MAX_BLOCKS, or texts cut to fit the budgets). Known limits: text drawn without a text node (input values,
generated content, SVG text, canvas) is not a block; text covered by an opaque element in the page is still
found (backgrounds are transparent in the coded shots), its colour then being that of what covers it.
"""

from __future__ import annotations

import functools
import io
import math
import mimetypes
import os
import time
from typing import Any

from renderers.result import RenderFailure, RenderOptions

POOL = "browser"
PAGE = "html"  # the browser worker keeps one warm page (and browser context) under this name
WARM_UP = "<!doctype html><html><body><h1>warm</h1><p>up</p></body></html>"
# the laid-out height of the document, as a string (a primitive comes back without another trip to the page)
MEASURE = """() => {
  const root = document.documentElement, body = document.body;
  const height = Math.max(root ? root.scrollHeight : 0, body ? body.scrollHeight : 0, 1);
  return String(height);
}"""

# -- text blocks: the colour code -------------------------------------------------------------------------------
CODE_STEP = 8  # code channel values are multiples of this...
CODE_LEVELS = 24  # ...from 0 up to (CODE_LEVELS - 1) * CODE_STEP = 184
CODE_TOLERANCE = 1  # per channel, for the rounding where two coats of the same code overlap
OFFSET = 64  # the second coded shot adds this to every channel (184 + 64 = 248 stays below 255)
STROKE_PX = 1.0  # the pen that thickens the glyphs of the text-pixel shots (half of it lies outside the outline)
MAX_BLOCKS = 5000  # text elements coded per page (CODE_LEVELS ** 3 = 13824 codes exist)
MAX_TEXT_CHARS = 2000  # of one block's text
MAX_TOTAL_TEXT_CHARS = 400_000  # of all texts of a page (the result frame holds at most 4 MiB)

# Step 1-3 of the module docstring, in the page. Returns {texts, found, hidden} or {error}; runs through
# wait_for_function so that it has a timeout (a plain evaluation has none).
CODE_TEXT = r"""(spec) => {
  try {
    // 1. freeze the page where it is
    try {
      const lastTimer = setTimeout(() => {}, 0);
      const from = Math.max(1, lastTimer - spec.sweep);
      for (let id = from; id <= lastTimer; id++) { clearTimeout(id); clearInterval(id); }
      for (let id = 1; id < Math.min(from, 1000); id++) { clearTimeout(id); clearInterval(id); }
      const lastFrame = requestAnimationFrame(() => {});
      for (let id = Math.max(1, lastFrame - spec.sweep); id <= lastFrame; id++) cancelAnimationFrame(id);
    } catch (e) {}
    try { for (const a of document.getAnimations()) a.pause(); } catch (e) {}

    // 2. the text elements, in document order of their first non-blank text node
    const skip = "script, style, noscript, template, head, textarea, select, option, optgroup, datalist, " +
      "svg, math, iframe, object";
    const transparent = (c) => c === "transparent" || /^rgba\(.*,\s*0\)$/.test(c);
    const owners = [], seen = new Set();
    let found = 0, hidden = 0;
    const root = document.documentElement;
    if (!root) return { texts: [], found: 0, hidden: 0 };
    const walker = document.createTreeWalker(root, 4 /* NodeFilter.SHOW_TEXT */);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const el = node.parentElement;
      if (!el || seen.has(el) || !/\S/.test(node.data)) continue;
      seen.add(el);
      if (!(el instanceof HTMLElement) || el.closest(skip)) continue;
      found += 1;
      if (owners.length >= spec.limit) continue;
      const style = getComputedStyle(el);
      const clipped = style.webkitBackgroundClip === "text" || style.backgroundClip === "text";
      if (transparent(style.webkitTextFillColor) && !clipped && !(parseFloat(style.webkitTextStrokeWidth) > 0)) {
        hidden += 1;
        continue;
      }
      owners.push(el);
    }
    const texts = owners.map((el) => {
      const parts = [];
      for (const child of el.childNodes) if (child.nodeType === 3) parts.push(child.data);
      return parts.join(" ").replace(/\s+/g, " ").trim().slice(0, spec.maxText);
    });
    const translucent = [], lifted = new Set();
    for (const el of owners) {
      for (let a = el; a && !lifted.has(a); a = a.parentElement) {
        lifted.add(a);
        const opacity = parseFloat(getComputedStyle(a).opacity);
        if (opacity > 0 && opacity < 1) translucent.push(a);
      }
    }

    // 3. the colour code
    const B = ":not(#vinci-none)".repeat(8);  // a specificity no page rule reaches
    const plain = {
      "color": "transparent", "-webkit-text-fill-color": "currentcolor", "-webkit-text-stroke-color": "currentcolor",
      "background-color": "transparent", "background-image": "none", "border-color": "transparent",
      "border-image-source": "none", "outline-color": "transparent", "box-shadow": "none", "text-shadow": "none",
      "text-decoration-color": "transparent", "text-emphasis-color": "transparent",
      "column-rule-color": "transparent", "caret-color": "transparent", "filter": "none",
      "backdrop-filter": "none", "mix-blend-mode": "normal", "transition-duration": "0s",
      "transition-delay": "0s", "animation-play-state": "paused",
    };
    const inherited = {
      "color": "inherit", "-webkit-text-fill-color": "currentcolor", "-webkit-text-stroke-color": "currentcolor",
      "background-color": "transparent", "background-image": "none", "text-shadow": "none",
    };
    const unseen = { "color": "transparent" };  // markers take no fill colour of their own: it is currentcolor
    const decls = (o) => Object.entries(o).map(([k, v]) => `${k}: ${v} !important;`).join(" ");
    const media = "img, svg, video, canvas, iframe, object, embed, input, select, textarea, progress, meter";
    const css = [
      `${B}, ${B}::before, ${B}::after { ${decls(plain)} }`,
      `${B}::marker, ${B}::placeholder { ${decls(unseen)} }`,
      `${B}::first-letter, ${B}::first-line { ${decls(inherited)} }`,
      `:is(${media})${B} { visibility: hidden !important; }`,
    ].join("\n");
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
    for (const el of document.querySelectorAll("[style]")) {  // the page's own inline !important
      for (const [k, v] of Object.entries(plain)) el.style.setProperty(k, v, "important");
      if (el.matches(media)) el.style.setProperty("visibility", "hidden", "important");
    }
    for (const el of translucent) el.style.setProperty("opacity", "1", "important");
    const n = spec.levels;
    owners.forEach((el, i) => {
      const channels = [Math.floor(i / (n * n)), Math.floor(i / n) % n, i % n];
      const code = "rgb(" + channels.map((c) => `calc(${c * spec.step} + var(--vinci-shift, 0))`).join(", ") + ")";
      el.style.setProperty("color", code, "important");
    });
    return { texts, found, hidden };
  } catch (e) {
    return { error: String((e && e.message) || e).slice(0, 500) };
  }
}"""
# Between the coded shots: set the shift of every code and the width of the pen that thickens the glyphs.
RECODE = """(state) => {
  const root = document.documentElement;
  root.style.setProperty("--vinci-shift", String(state.shift), "important");
  if (state.stroke && !root.hasAttribute("data-vinci-stroke")) {
    root.setAttribute("data-vinci-stroke", "");
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(`${":not(#vinci-none)".repeat(8)} { -webkit-text-stroke-width: ${state.stroke}px !important; }`);
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  }
  return true;
}"""


def prepare(code: str, options: RenderOptions) -> dict[str, Any]:
    if not code.strip():
        raise RenderFailure("syntax", "empty HTML")
    return {"code": code}


def warm() -> None:
    return None


@functools.lru_cache(maxsize=64)
def _read_asset(path: str, mtime_ns: int) -> tuple[bytes, str]:
    with open(path, "rb") as fh:
        data = fh.read()
    return data, mimetypes.guess_type(path)[0] or "application/octet-stream"


def _serve_assets(session: Any, options: RenderOptions, page_url: str) -> None:
    for relative, path in options.html_assets.items():
        data = _read_asset(path, os.stat(path).st_mtime_ns)
        session.asset(PAGE, page_url + relative.lstrip("/"), *data, job_only=True)


def run_in_browser(payload: dict[str, Any], options: RenderOptions, session: Any) -> bytes | tuple[bytes, dict]:
    width, min_height = options.viewport_width, options.viewport_height
    before = (lambda url: _serve_assets(session, options, url)) if options.html_assets else None
    page = session.open_document(PAGE, (width, min_height), payload["code"], before_load=before)
    # waited for rather than evaluated: Playwright gives evaluations no timeout, and the page may be busy
    measured = page.wait_for_function(MEASURE, timeout=session.remaining_ms())
    height = max(min_height, _number(measured.json_value()))
    if height > options.max_page_height:
        session.notes["truncated"] = True
        session.notes["page_height"] = height
        height = options.max_page_height
    if width * height > options.max_pixels:
        raise RenderFailure("bad_image", f"{width}x{height} exceeds max_pixels={options.max_pixels}")
    # a page that fits the viewport is shot as it is on screen; the full-page path costs a relayout (~0.1 s)
    shot = {"clip": {"x": 0, "y": 0, "width": width, "height": height}, "full_page": height > min_height}
    png = page.screenshot(**shot, caret="hide", timeout=session.remaining_ms())
    if not png:
        raise RenderFailure("bad_image", "the browser returned an empty screenshot")
    if not options.html_text_blocks:
        return png
    return png, {"text_blocks": _text_blocks(page, session, png, shot)}


def _number(value: Any) -> int:
    """The measured page height; whatever a page did to the measuring script, a sane number comes out."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0
    return int(math.ceil(number)) if math.isfinite(number) and number > 0 else 0


# -- text blocks ----------------------------------------------------------------------------------------------------
def _text_blocks(page: Any, session: Any, png: bytes, shot: dict[str, Any]) -> dict[str, Any]:
    """Steps 1-5 of the module docstring on the page just shot as `png`; every browser step within the job's time."""
    started = time.monotonic()
    spec = {"limit": MAX_BLOCKS, "maxText": MAX_TEXT_CHARS, "step": CODE_STEP, "levels": CODE_LEVELS}
    spec["sweep"] = 200_000  # timer ids cleared below the newest one
    answer = page.wait_for_function(CODE_TEXT, arg=spec, timeout=session.remaining_ms()).json_value()
    if not isinstance(answer, dict) or answer.get("error") or not isinstance(answer.get("texts"), list):
        message = answer.get("error") if isinstance(answer, dict) else None
        raise RenderFailure("runtime", f"text-block extraction failed in the page: {message or 'no answer'}")
    texts = [str(t) for t in answer["texts"][:MAX_BLOCKS]]
    coded = page.screenshot(**shot, caret="hide", timeout=session.remaining_ms())
    page.wait_for_function(RECODE, arg={"shift": OFFSET, "stroke": STROKE_PX}, timeout=session.remaining_ms())
    shifted = page.screenshot(**shot, caret="hide", timeout=session.remaining_ms())
    page.wait_for_function(RECODE, arg={"shift": 0, "stroke": STROKE_PX}, timeout=session.remaining_ms())
    restored = page.screenshot(**shot, caret="hide", timeout=session.remaining_ms())
    if session.expired():  # each step gets at least MIN_STEP_MS: the last ones may have run past the limit
        raise RenderFailure("timeout", "the page's text blocks were not measured within the time limit")
    result = decode_text_blocks(png, coded, shifted, restored, texts)
    found = _count(answer.get("found"))
    result["elements"] = found
    result["hidden"] = _count(answer.get("hidden"))
    result["truncated"] = bool(result.get("truncated")) or found > MAX_BLOCKS
    result["seconds"] = round(time.monotonic() - started, 4)
    return result


def _count(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and math.isfinite(value) and value >= 0 else 0


def _pixels(png: bytes):
    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image if image.mode == "RGB" else image.convert("RGB"))


def code_of(index: int) -> tuple[int, int, int]:
    """The text colour of text element `index` in the first coded shot."""
    n = CODE_LEVELS
    return (index // (n * n) * CODE_STEP, index // n % n * CODE_STEP, index % n * CODE_STEP)


@functools.cache
def _level_tables():
    """Two 256-entry tables, value -> code level or -1: for a coded value and for a value shifted by OFFSET."""
    import numpy as np

    plain = np.full(256, -1, dtype=np.int8)
    shifted = np.full(256, -1, dtype=np.int8)
    for level in range(CODE_LEVELS):
        for delta in range(-CODE_TOLERANCE, CODE_TOLERANCE + 1):
            for table, value in ((plain, level * CODE_STEP + delta), (shifted, level * CODE_STEP + OFFSET + delta)):
                if 0 <= value <= 255:
                    table[value] = level
    return plain, shifted


def _code_indices(before, after):
    """(ys, xs, index) of the pixels that show a code in `before` and that code + OFFSET in `after` (each channel
    within CODE_TOLERANCE of it)."""
    import numpy as np

    plain, shifted = _level_tables()
    mask = np.ones(before.shape[:2], dtype=bool)
    for c in range(3):
        level = plain[before[..., c]]
        mask &= (level >= 0) & (level == shifted[after[..., c]])
    ys, xs = np.nonzero(mask)
    found = plain[before[ys, xs]].astype(np.int64)
    return ys, xs, (found[:, 0] * CODE_LEVELS + found[:, 1]) * CODE_LEVELS + found[:, 2]


def decode_text_blocks(original: bytes, coded: bytes, shifted: bytes, restored: bytes, texts: list[str]) -> dict:
    """Step 5 of the module docstring. Text element i is drawn in `code_of(i)` in `coded` (plain glyphs) and in
    `restored` (glyphs thickened by the pen), and in `code_of(i)` + OFFSET in `shifted` (thickened); the blocks come
    in the order of `texts`, their colours from `original`. The four PNGs show the same page."""
    import numpy as np

    shots = [_pixels(png) for png in (original, coded, shifted, restored)]
    height, width = min(a.shape[0] for a in shots), min(a.shape[1] for a in shots)
    base, first, second, third = (a[:height, :width] for a in shots)
    n = len(texts)
    ys, xs, index = _code_indices(third, second)  # the text pixels: the thickened glyphs
    keep = index < n
    ys, xs, index = ys[keep], xs[keep], index[keep]
    core_ys, core_xs, core = _code_indices(first, second)  # glyph pixels fully covered by the plain glyphs
    keep = core < n
    core_ys, core_xs, core = core_ys[keep], core_xs[keep], core[keep]

    def colour_sums(rows, cols, owner):
        values = base[rows, cols].astype(np.float64)
        sums = np.stack([np.bincount(owner, weights=values[:, c], minlength=n) for c in range(3)], axis=1)
        return sums, np.bincount(owner, minlength=n)

    core_sums, core_counts = colour_sums(core_ys, core_xs, core)
    text_sums, _ = colour_sums(ys, xs, index)
    blocks: list[dict[str, Any]] = []
    budget, cut = MAX_TOTAL_TEXT_CHARS, False
    if index.size:
        order = np.argsort(index, kind="stable")
        ys, xs, index = ys[order], xs[order], index[order]
        starts = np.flatnonzero(np.r_[True, index[1:] != index[:-1]])
        counts = np.diff(np.r_[starts, index.size])
        x0, x1 = np.minimum.reduceat(xs, starts), np.maximum.reduceat(xs, starts) + 1
        y0, y1 = np.minimum.reduceat(ys, starts), np.maximum.reduceat(ys, starts) + 1
        for k, start in enumerate(starts):
            i = int(index[start])
            # the colour where the plain glyphs cover whole pixels; only thickened pixels: those
            color = core_sums[i] / core_counts[i] if core_counts[i] else text_sums[i] / counts[k]
            text = texts[i].lower()[:MAX_TEXT_CHARS]
            if len(text) > budget:
                text, cut = text[:budget], True
            budget -= len(text)
            blocks.append(
                {
                    "text": text,
                    "bbox": [int(x0[k]), int(y0[k]), int(x1[k]), int(y1[k])],
                    "color": [round(float(v), 3) for v in color],
                    "pixels": int(counts[k]),
                }
            )
    return {"width": int(base.shape[1]), "height": int(base.shape[0]), "blocks": blocks, "truncated": cut}
