"""Text blocks of HTML pages (`RenderOptions(html_text_blocks=True)`): colour-coded text elements found in the real
Chromium of the browser pool, the decoding of the coded shots on synthetic images, hidden text, the unchanged
default render, page styles that try to fight the coding, the block cap, and hostile pages within their timeout."""

from __future__ import annotations

import io
import os
import time

import numpy as np
import pytest
from PIL import Image

from renderers import EngineConfig, RenderEngine, RenderOptions
from renderers.chromium import SYSTEM_CHROMIUM
from renderers.languages import html
from renderers.pool import GRACE_S

BLOCKS = RenderOptions(html_text_blocks=True)

THREE = """<!doctype html><html><head><style>
body { margin: 0; background: #f4f4f4; }
p { position: absolute; margin: 0; font: 28px/40px "DejaVu Sans", sans-serif; white-space: nowrap; }
</style></head><body>
<p style="left: 40px; top: 30px; color: rgb(200, 30, 30)">First Paragraph</p>
<p style="left: 600px; top: 200px; color: rgb(20, 120, 40); background: #ffe08a">Second one HERE</p>
<p style="left: 100px; top: 450px; color: #1a2bd0; font-size: 40px; line-height: 50px">Third</p>
</body></html>"""
# (left, top, line height) of each paragraph above, and its CSS colour
PLACES = [(40, 30, 40), (600, 200, 40), (100, 450, 50)]
COLOURS = [(200, 30, 30), (20, 120, 40), (26, 43, 208)]


@pytest.fixture(scope="module")
def engine():
    if not os.access(SYSTEM_CHROMIUM, os.X_OK):
        pytest.skip(f"{SYSTEM_CHROMIUM} is missing; run scripts/setup.sh")
    engine = RenderEngine(EngineConfig(browser_workers=1))
    try:
        engine.pool("browser").warm_up()
        yield engine
    finally:
        engine.close()


def _blocks(engine, page: str, options: RenderOptions = BLOCKS) -> dict:
    result = engine.render(page, "html", options)
    assert result.ok, (result.error_kind, result.error_message)
    found = result.diagnostics["text_blocks"]
    assert (found["width"], found["height"]) == (result.width, result.height)
    return found


def _png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array.astype(np.uint8), "RGB").save(buf, "PNG")
    return buf.getvalue()


# -- decoding the coded shots (no browser) ------------------------------------------------------------------------
def test_decoding_synthetic_shots():
    height, width = 40, 60
    original = np.full((height, width, 3), 255, dtype=np.uint8)
    coded = original.copy()
    thick = original.copy()
    codes = [np.array(html.code_of(i)) for i in range(3)]
    assert [tuple(c) for c in codes] == [(0, 0, 0), (0, 0, 8), (0, 0, 16)]
    # element 0: a glyph at rows 5-9, cols 10-19; the pen adds col 20; (7, 9) is a 60 % covered edge pixel
    original[5:10, 10:20] = (200, 30, 30)
    original[5:10, 20] = (230, 160, 160)  # its anti-aliased edge in the page
    coded[5:10, 10:20] = codes[0]
    thick[5:10, 10:21] = codes[0]
    coded[7, 9] = thick[7, 9] = (0.6 * codes[0] + 0.4 * 255).astype(np.uint8)
    # element 2 (element 1 is hidden): only thickened pixels, and one channel off by the tolerated rounding
    original[20:25, 30:40] = (10, 10, 10)
    thick[20:25, 30:40] = codes[2]
    thick[21, 31] = codes[2] + (1, 0, 0)
    shifted = thick.astype(np.int16)
    shifted[thick[..., 0] < 255] += html.OFFSET
    shifted[7, 9] = (0.6 * (codes[0] + html.OFFSET) + 0.4 * 255).astype(np.int16)  # moves by 0.6 x the offset
    # element 1's code where nothing moves (a border of that colour, say) is not text
    coded[30:35, 0:5] = thick[30:35, 0:5] = shifted[30:35, 0:5] = codes[1]

    found = html.decode_text_blocks(_png(original), _png(coded), _png(shifted), _png(thick), ["Alpha", "Beta", "GAMMA"])
    assert (found["width"], found["height"]) == (width, height) and not found["truncated"]
    first, second = found["blocks"]
    assert first["text"] == "alpha" and first["bbox"] == [10, 5, 21, 10] and first["pixels"] == 55
    assert first["color"] == [200.0, 30.0, 30.0]  # from the plain glyph only, not its pale edge
    assert second["text"] == "gamma" and second["bbox"] == [30, 20, 40, 25] and second["pixels"] == 50
    assert second["color"] == [10.0, 10.0, 10.0]  # no plain-glyph pixel: the thickened ones


def test_text_budget_cuts_texts(monkeypatch):
    monkeypatch.setattr(html, "MAX_TOTAL_TEXT_CHARS", 6)
    shot = np.full((10, 10, 3), 255, dtype=np.uint8)
    shot[2:4, 2:4] = html.code_of(0)
    shot[6:8, 6:8] = html.code_of(1)
    moved = shot.astype(np.int16)
    moved[shot[..., 0] < 255] += html.OFFSET
    found = html.decode_text_blocks(_png(shot), _png(shot), _png(moved), _png(shot), ["abcd", "efgh"])
    assert [b["text"] for b in found["blocks"]] == ["abcd", "ef"] and found["truncated"]


# -- real pages ---------------------------------------------------------------------------------------------------
def test_three_paragraphs(engine):
    found = _blocks(engine, THREE)
    assert [b["text"] for b in found["blocks"]] == ["first paragraph", "second one here", "third"]
    assert found["elements"] == 3 and found["hidden"] == 0 and not found["truncated"]
    for block, (left, top, line), colour in zip(found["blocks"], PLACES, COLOURS, strict=True):
        x0, y0, x1, y1 = block["bbox"]
        assert left <= x0 <= left + 6 and top < y0 < y1 <= top + line  # inside its line, starting at its left
        assert y1 - y0 >= 0.55 * line  # the glyphs' height, not a sliver of it
        assert x1 - x0 >= (70 if block["text"] == "third" else 200)
        assert np.allclose(block["color"], colour, atol=2), (block["text"], block["color"])


def test_nested_inline_elements_are_their_own_blocks(engine):
    page = '<p style="font: 28px sans-serif; margin: 40px">Alpha <b>Beta</b> gamma<br>delta</p>'
    found = _blocks(engine, page)
    parent, child = found["blocks"]
    # the paragraph's own text nodes, joined; the bold word is a block of its own, after it in document order
    assert parent["text"] == "alpha gamma delta" and child["text"] == "beta"
    assert parent["bbox"][0] < child["bbox"][0] < child["bbox"][2] < parent["bbox"][2]
    assert parent["bbox"][3] > child["bbox"][3] + 20  # the second line belongs to the paragraph


def test_hidden_text_is_not_reported(engine):
    page = """<body style="font: 24px sans-serif">
    <p>Shown text</p>
    <p style="display: none">hidden one</p>
    <p style="visibility: hidden">hidden two</p>
    <div style="opacity: 0"><p>hidden three</p></div>
    <p style="color: transparent">hidden four</p>
    <h1 style="text-indent: -9999px">hidden five</h1>
    <p style="position: absolute; top: -500px">hidden six</p>
    <div style="height: 0; overflow: hidden"><p>hidden seven</p></div>
    <script>var text = "hidden eight";</script><template><p>hidden nine</p></template>
    <textarea>hidden ten</textarea><svg><text x="10" y="20">hidden eleven</text></svg>
    <p style="opacity: 0.4">Faint text</p>
    </body>"""
    found = _blocks(engine, page)
    assert [b["text"] for b in found["blocks"]] == ["shown text", "faint text"]
    assert found["hidden"] == 1  # the transparent one, left out before colouring
    faint = found["blocks"][1]["color"]
    assert all(145 <= v <= 160 for v in faint), faint  # black at 40 % on white, as the page shows it


def test_page_styles_cannot_undo_the_coding(engine):
    page = """<style>
    #box.card p { color: rgb(250, 0, 0) !important; background: rgb(0, 0, 255) !important;
                  transition: color 3s !important; text-shadow: 3px 3px 0 lime !important; }
    li::marker { color: rgb(0, 160, 0); }
    a { text-decoration: underline; color: rgb(0, 0, 238); }
    p::before { content: "PRE "; color: green; }
    p::first-letter { color: orange !important; }
    @keyframes pulse { from { opacity: 1 } to { opacity: 0.2 } }
    </style>
    <div id="box" class="card" style="font: 30px sans-serif">
      <p style="border: 4px solid rgb(250, 0, 0) !important; background: black !important">Styled text</p>
      <ul><li>item one</li></ul>
      <a href="#">link text</a>
      <h2 style="animation: pulse 1s infinite alternate; color: rgb(0, 90, 0)">Pulsing</h2>
    </div>"""
    found = _blocks(engine, page)
    texts = [b["text"] for b in found["blocks"]]
    assert texts == ["styled text", "item one", "link text", "pulsing"]
    styled, item, link, _ = found["blocks"]
    assert styled["bbox"][0] > 60  # the ::before text is not part of the block
    assert item["bbox"][0] >= 40  # nor is the list marker (a bullet near x = 25)
    assert np.allclose(link["color"], (0, 0, 238), atol=2)
    assert styled["color"][0] > 150 and styled["color"][1] < 40  # red, as the page shows it


def test_default_render_is_unchanged(engine):
    plain = engine.render(THREE, "html")
    assert plain.ok and "text_blocks" not in plain.diagnostics
    coded = engine.render(THREE, "html", BLOCKS)
    assert coded.ok and "text_blocks" in coded.diagnostics
    assert coded.image == plain.image  # the extraction comes after the screenshot and leaves it alone
    assert engine.render(THREE, "html").image == plain.image


def test_many_text_elements_are_capped(engine):
    count = html.MAX_BLOCKS + 150
    page = "<body style='font: 14px sans-serif'>" + " ".join(f"<span>w{i}</span>" for i in range(count)) + "</body>"
    found = _blocks(engine, page, RenderOptions(html_text_blocks=True, timeout_s=60))
    assert found["elements"] == count and found["truncated"]
    texts = [b["text"] for b in found["blocks"]]
    assert len(texts) == html.MAX_BLOCKS and texts[:3] == ["w0", "w1", "w2"] and texts[-1] == f"w{html.MAX_BLOCKS - 1}"


def test_pages_with_assets_and_tall_pages(engine, shared_data):
    page = (shared_data / "web" / "1002.html").read_text(encoding="utf-8")
    options = RenderOptions(html_text_blocks=True, html_assets={"rick.jpg": str(shared_data / "web" / "rick.jpg")})
    found = _blocks(engine, page, options)
    texts = [b["text"] for b in found["blocks"]]
    assert texts[0] == "we have some exciting news!" and "faqs" in texts
    assert not any("trying to view a product" in t for t in texts)  # inside a display: none block
    tall = (
        "<body style='margin: 0'><div style='height: 3000px'></div><p style='font: 20px sans-serif'>bottom</p></body>"
    )
    [bottom] = _blocks(engine, tall)["blocks"]
    assert bottom["text"] == "bottom" and 3000 < bottom["bbox"][1] < 3030


# -- hostile pages ------------------------------------------------------------------------------------------------
def test_endless_scripts_are_still_cut_off(engine):
    options = RenderOptions(html_text_blocks=True, timeout_s=4)
    started = time.monotonic()
    result = engine.render("<p>spin</p><script>while (true) {}</script>", "html", options)
    assert result.error_kind == "timeout", result.error_message
    # a page that only hangs once the extraction restyles it: the extraction is inside the job's time limit
    trap = """<p>trap</p><script>
    new MutationObserver(() => { while (true) {} }).observe(document.body, {attributes: true, subtree: true});
    </script>"""
    assert engine.render(trap, "html", RenderOptions(timeout_s=4)).ok  # harmless without the extraction
    result = engine.render(trap, "html", options)
    assert result.error_kind == "timeout", (result.error_kind, result.error_message)
    assert time.monotonic() - started < 2 * (4 + GRACE_S)
    broken = "<p>x</p><script>window.getComputedStyle = () => { throw new Error('no styles here'); };</script>"
    result = engine.render(broken, "html", options)
    assert result.error_kind == "runtime" and "no styles here" in result.error_message
    assert [b["text"] for b in _blocks(engine, "<p>Still serving</p>")["blocks"]] == ["still serving"]
