"""HTML: a full-page screenshot in the system Chromium (see renderers/browser_worker.py).

The page is served to the browser from memory as a fresh document at its own address; nothing else it asks for
(images, styles, scripts, fonts, frames) is loaded, except the files the caller lists in
`RenderOptions.html_assets` (relative URL -> local file, e.g. Design2Code's `rick.jpg` placeholder), which are
served at the page's own address for that job. The screenshot is `viewport_width` wide and as tall as the
laid-out page (at least `viewport_height`), cut at `max_page_height`.
"""

from __future__ import annotations

import functools
import math
import mimetypes
import os
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


def run_in_browser(payload: dict[str, Any], options: RenderOptions, session: Any) -> bytes:
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
    png = page.screenshot(
        clip={"x": 0, "y": 0, "width": width, "height": height},
        full_page=height > min_height,
        caret="hide",
        timeout=session.remaining_ms(),
    )
    if not png:
        raise RenderFailure("bad_image", "the browser returned an empty screenshot")
    return png


def _number(value: Any) -> int:
    """The measured page height; whatever a page did to the measuring script, a sane number comes out."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0
    return int(math.ceil(number)) if math.isfinite(number) and number > 0 else 0
