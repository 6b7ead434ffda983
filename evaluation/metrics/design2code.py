"""Design2Code (screenshot -> HTML): block-match, text, position, colour and CLIP scores of rendered pages.

Per sample (answer, reference HTML):

- The answer's page is `extract_code(answer, "html")` (the last ```html block, else the last fenced block, else the
  whole answer).
- Both pages render in the browser pool with `RenderOptions(html_text_blocks=True)`: Chromium's full-page
  screenshot (1280 px wide) and the page's text blocks, found without OCR by colour-coding every text element
  (renderers/languages/html.py: text pixels are the pixels that move by the code offset between two coded shots;
  a block is one element's text pixels' bounding box, its own text lower-cased and the mean colour of the
  original screenshot over its glyphs). `assets` (relative URL -> local file, e.g. Design2Code's `rick.jpg`) are
  served to both pages; everything else a page asks for is blocked.
- Matching and the four block scores (block-match, text, position, colour) are
  `design2code_scores.page_scores(generated, reference, clip)`.
- CLIP: each screenshot has its own text boxes in-painted, then the cosine of the two CLIP image embeddings (a
  CLIP ViT-B/32 loaded from the local folder `clip_path`; CLIP's preprocessing: shortest side to the model's 224
  px, centre crop, CLIP mean/std). In-painting: every block's box, grown by INPAINT_MARGIN px on each side (the
  text-pixel boxes hug the glyphs, anti-aliased edges lie just outside), goes into one mask, which OpenCV's
  Telea in-painting (radius INPAINT_RADIUS) fills from the pixels around it, so the page keeps its layout,
  colours and pictures but loses its text. Without `clip_path` CLIP is not run (None) and so is the page score.
- Page score = 0.2 × (block-match + text + position + colour + CLIP); a page without matched blocks scores
  0.2 × CLIP.
- A prediction that is missing, holds no HTML, or fails to render (or to be measured) is a failed page: every
  score 0 (`design2code_scores.failed_page()`; its CLIP and page score are None when CLIP is not run).
- A reference that fails to render is a broken benchmark item: `reference_ok` is False and `aggregate` leaves it
  out of the means (counted in `broken_references`).
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from evaluation.metrics.design2code_scores import Block, Page, failed_page, page_scores
from evaluation.metrics.design2code_scores import aggregate as aggregate_pages
from training.answers import extract_code

if TYPE_CHECKING:
    from renderers.engine import RenderEngine
    from renderers.result import RenderResult

TIMEOUT_S = 60.0  # per page: the screenshot and the text-block extraction together
INPAINT_MARGIN = 2  # pixels added around each text box before in-painting
INPAINT_RADIUS = 3  # OpenCV's in-painting neighbourhood
CLIP_NOT_RUN = "not run: no clip_path given (a local CLIP ViT-B/32 folder); page scores need it"


def answer_html(answer: str | None) -> str | None:
    """The HTML to render from an answer (see `training.answers.extract_code`); None when there is none."""
    code = extract_code(answer, "html").code
    return code if code and code.strip() else None


def render_options(assets: Mapping[str, str | os.PathLike] | None = None, timeout_s: float = TIMEOUT_S):
    from renderers.result import RenderOptions

    files = {str(url): str(path) for url, path in (assets or {}).items()}
    return RenderOptions(html_text_blocks=True, html_assets=files, timeout_s=timeout_s)


def page_of(result: RenderResult) -> Page | None:
    """The measured page of a render: its size and text blocks; None when the render or the measuring failed."""
    if not result.ok or not result.image:
        return None
    found = (result.diagnostics or {}).get("text_blocks")
    if not isinstance(found, Mapping) or "blocks" not in found:
        return None
    try:
        return Page.from_dict(found)
    except (KeyError, TypeError, ValueError):
        return None


def screenshot(png: bytes) -> np.ndarray:
    """(H, W, 3) uint8 RGB of a rendered page."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        return np.array(image.convert("RGB"))


def inpaint_text(image: np.ndarray, blocks: Sequence[Block], margin: int = INPAINT_MARGIN) -> np.ndarray:
    """`image` with every block's box (grown by `margin` px) filled in from its surroundings (OpenCV, Telea)."""
    import cv2

    height, width = image.shape[:2]
    mask = np.zeros((height, width), dtype=np.uint8)
    for block in blocks:
        x0, y0, x1, y1 = (int(round(v)) for v in block.bbox)
        x0, y0 = max(0, x0 - margin), max(0, y0 - margin)
        x1, y1 = min(width, x1 + margin), min(height, y1 + margin)
        if x1 > x0 and y1 > y0:
            mask[y0:y1, x0:x1] = 255
    if not mask.any():
        return image
    return cv2.inpaint(np.ascontiguousarray(image), mask, INPAINT_RADIUS, cv2.INPAINT_TELEA)


def _failed(error: str, clip_runs: bool, reference_ok: bool = True) -> dict[str, Any]:
    row = failed_page()
    if not clip_runs:
        row["clip"] = row["score"] = None
    return {**row, "rendered": False, "reference_ok": reference_ok, "error": error[:500]}


def _why(result: RenderResult) -> str:
    if result.ok:
        return "the page rendered but its text blocks could not be measured"
    return f"{result.error_kind}: {' '.join((result.error_message or '').split())}"


def score_many(
    answers: Sequence[str | None],
    references: Sequence[str],
    *,
    clip_path: str | os.PathLike | None = None,
    engine: RenderEngine | None = None,
    assets: Mapping[str, str | os.PathLike] | None = None,
    timeout_s: float = TIMEOUT_S,
    device: str | None = None,
) -> list[dict[str, Any]]:
    """One row per (answer, reference HTML) pair, in order: the five scores, the page score and how it went.

    Every page renders in parallel in the browser pool; CLIP (when `clip_path` is given) runs in batches after.
    """
    from renderers.engine import default_engine

    if len(answers) != len(references):
        raise ValueError(f"{len(answers)} answers for {len(references)} references")
    clip = None
    if clip_path is not None:
        from evaluation.metrics.unisvg import CLIPImageSimilarity

        clip = CLIPImageSimilarity.from_path(clip_path, device)
    engine = engine or default_engine()
    options = render_options(assets, timeout_s)
    codes = [answer_html(a) for a in answers]
    jobs = [(ref, "html", options) for ref in references]
    jobs += [(code, "html", options) for code in codes if code is not None]
    results = list(engine.render_many(jobs))
    ref_results, gen_results = results[: len(references)], iter(results[len(references) :])

    rows: list[dict[str, Any] | None] = []
    measured: list[tuple[int, Page, Page, bytes, bytes]] = []
    for code, ref_result in zip(codes, ref_results, strict=True):
        gen_result = next(gen_results) if code is not None else None
        ref_page = page_of(ref_result)
        if ref_page is None:
            rows.append(_failed(f"reference failed: {_why(ref_result)}", clip is not None, reference_ok=False))
            continue
        if gen_result is None:
            rows.append(_failed("no HTML in the answer", clip is not None))
            continue
        gen_page = page_of(gen_result)
        if gen_page is None:
            rows.append(_failed(_why(gen_result), clip is not None))
            continue
        rows.append(None)
        measured.append((len(rows) - 1, gen_page, ref_page, gen_result.image, ref_result.image))

    clips: list[float | None] = [None] * len(measured)
    if clip is not None and measured:
        pairs = [
            (inpaint_text(screenshot(gen_png), gen.blocks), inpaint_text(screenshot(ref_png), ref.blocks))
            for _, gen, ref, gen_png, ref_png in measured
        ]
        clips = [float(v) for v in clip.similarities(pairs)]
    for (index, gen, ref, _, _), value in zip(measured, clips, strict=True):
        rows[index] = {**page_scores(gen, ref, value), "rendered": True, "reference_ok": True, "error": None}
    return rows  # type: ignore[return-value]


def score(answer: str | None, reference: str, **kwargs: Any) -> dict[str, Any]:
    return score_many([answer], [reference], **kwargs)[0]


def aggregate(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """`design2code_scores.aggregate` over the samples whose reference rendered (block scores, CLIP and page score
    means, 0-1), plus `render_rate`, `broken_references` and, when CLIP is missing, `clip_note` saying why."""
    valid = [row for row in rows if row.get("reference_ok", True)]
    summary = aggregate_pages(valid)
    summary["render_rate"] = sum(bool(row.get("rendered")) for row in valid) / len(valid) if valid else None
    summary["broken_references"] = len(rows) - len(valid)
    if summary["clip"] is None and valid:
        if summary["n_clip"] == 0:
            summary["clip_note"] = CLIP_NOT_RUN
        else:
            summary["clip_note"] = f"CLIP is missing for {len(valid) - summary['n_clip']} of {len(valid)} pages"
    return summary
