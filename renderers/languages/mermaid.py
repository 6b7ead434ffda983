"""Mermaid: mermaid.js (the npm package) in a warm Chromium page (see renderers/browser_worker.py).

The browser worker keeps one page with the mermaid bundle loaded (`VINCI_MERMAID_JS`, served to the page from
memory) and initialised with `securityLevel: "strict"`. Each diagram is parsed (a parse error is a `syntax`
failure carrying mermaid's message), rendered to SVG at its natural size into a white stage, and the stage is
screenshotted with a few pixels of padding. Between diagrams the stage and whatever mermaid left in the page body
are cleared, so the page stays warm for the next job.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import os
import re
from typing import Any

from renderers.result import RenderFailure, RenderOptions

POOL = "browser"
PAGE = "mermaid"  # the browser worker's warm page (and browser context) for diagrams
FENCE = re.compile(r"^\s*```(?:mermaid)?\s*\n(.*?)\n\s*```\s*$", re.DOTALL)
WARM_UP = "flowchart LR\n    A[warm] --> B[up]"
PADDING_PX = 8
_DIAGRAM_IDS = itertools.count(1)  # element ids mermaid renders under, unique for the worker's life
ORIGIN = "http://mermaid.render.invalid"
BUNDLE_URL = f"{ORIGIN}/mermaid.min.js"
PAGE_URL = f"{ORIGIN}/"

# The stage page. window.vinciRender(id, code) parses, renders and lays out one diagram and resolves to the
# stage's box or to {error, message}; window.vinciJob holds that answer as JSON text for the worker to collect
# (a string comes back with the wait that found it, without another call into the page).
STAGE_HTML = """<!doctype html>
<html><head><meta charset="utf-8">
<style>
html, body { margin: 0; padding: 0; background: #fff; }
#stage { display: inline-block; padding: PADpx; background: #fff; line-height: 0; }
</style>
<script src="BUNDLE"></script>
<script>
(() => {
  const stage = () => document.getElementById("stage");
  const sweep = () => {
    for (const el of Array.from(document.body.children)) if (el.id !== "stage") el.remove();
  };
  const text = (e) => String((e && (e.str || e.message)) || e);
  window.vinciRender = async (id, code) => {
    stage().replaceChildren();
    sweep();
    try {
      await mermaid.parse(code);
    } catch (e) {
      return { error: "syntax", message: text(e) };
    }
    let svg;
    try {
      ({ svg } = await mermaid.render(id, code));
    } catch (e) {
      return { error: "runtime", message: text(e) };
    } finally {
      sweep();
    }
    stage().innerHTML = svg;
    const el = stage().querySelector("svg");
    if (!el) return { error: "no_output", message: "mermaid produced no SVG" };
    const box = el.viewBox && el.viewBox.baseVal;
    if (box && box.width > 0 && box.height > 0) {
      el.setAttribute("width", String(box.width));
      el.setAttribute("height", String(box.height));
      el.style.maxWidth = "none";
    }
    const r = stage().getBoundingClientRect();
    return { x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width, height: r.height };
  };
  window.vinciStart = (id, code) => {
    window.vinciJob = null;
    setTimeout(() => {
      window.vinciRender(id, code).then(
        (answer) => { window.vinciJob = JSON.stringify(answer); },
        (e) => { window.vinciJob = JSON.stringify({ error: "runtime", message: text(e) }); },
      );
    }, 0);
  };
})();
</script>
</head><body><div id="stage"></div></body></html>
""".replace("PAD", str(PADDING_PX)).replace("BUNDLE", BUNDLE_URL)


def prepare(code: str, options: RenderOptions) -> dict[str, Any]:
    match = FENCE.match(code)
    text = (match.group(1) if match else code).strip()
    if not text:
        raise RenderFailure("syntax", "empty Mermaid diagram")
    return {"code": text}


def warm() -> None:
    return None


@functools.cache
def _bundle() -> bytes:
    path = os.environ.get("VINCI_MERMAID_JS")
    if not path:
        from renderers.engine import mermaid_js

        path = str(mermaid_js())
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise RenderFailure("sandbox", f"the mermaid bundle is missing ({exc}); run scripts/setup.sh") from None


def _open_stage(page: Any, session: Any) -> None:
    """Load the bundle into a fresh page and initialise mermaid (once per browser context)."""
    session.asset(PAGE, BUNDLE_URL, _bundle(), "text/javascript; charset=utf-8")
    session.asset(PAGE, PAGE_URL, STAGE_HTML.encode(), "text/html; charset=utf-8")
    page.goto(PAGE_URL, wait_until="load", timeout=max(session.remaining_ms(), 30_000))
    page.evaluate("() => mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' })")


def run_in_browser(payload: dict[str, Any], options: RenderOptions, session: Any) -> bytes:
    page = session.page(PAGE, (options.viewport_width, options.viewport_height), setup=_open_stage)
    diagram_id = f"vinci-diagram-{next(_DIAGRAM_IDS)}"
    page.evaluate("([id, code]) => window.vinciStart(id, code)", [diagram_id, payload["code"]])
    # the render runs from a timer and is waited for, so a diagram that never finishes meets the job's timeout
    handle = page.wait_for_function("() => window.vinciJob", timeout=session.remaining_ms())
    answer = json.loads(handle.json_value())
    if answer.get("error"):
        kind = answer["error"] if answer["error"] in ("syntax", "runtime", "no_output") else "runtime"
        raise RenderFailure(kind, str(answer.get("message") or "mermaid failed")[:2000])
    x, y = math.floor(answer["x"]), math.floor(answer["y"])
    width = math.ceil(answer["x"] + answer["width"]) - x
    height = math.ceil(answer["y"] + answer["height"]) - y
    if width <= 2 * PADDING_PX or height <= 2 * PADDING_PX:
        raise RenderFailure("bad_image", f"the diagram is empty ({width}x{height} px with padding)")
    if width * height > options.max_pixels:
        raise RenderFailure("bad_image", f"{width}x{height} exceeds max_pixels={options.max_pixels}")
    png = page.screenshot(
        clip={"x": x, "y": y, "width": width, "height": height},
        full_page=True,
        timeout=session.remaining_ms(),
    )
    if not png:
        raise RenderFailure("bad_image", "the browser returned an empty screenshot")
    return png
