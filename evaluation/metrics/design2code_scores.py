"""Design2Code block scores for one generated page against its reference page.

Input: the text blocks of each page, as found in its full-page Chromium screenshot by the extraction step, in the
page's reading order (the order matters for the context bonus and for merging neighbours, below), plus the page
size. A :class:`Block` has its text, its pixel bounding box ``(x0, y0, x1, y1)`` and its mean colour
``(r, g, b)`` on the 0-255 scale. Each page is normalised by its own size: x by the page width, y by the page height,
so a block's centre lies in [0, 1]² and its area is the fraction of the page it covers. Texts are compared
lower-cased.

Matching (as in the official Design2Code evaluator):

1. Blocks of one page with exactly the same box are fused into one (texts joined by a space, colour the running
   pairwise mean).
2. Neighbour merging, repeated until nothing changes: with the plain text-similarity matrix ``S`` (difflib
   ``SequenceMatcher(None, a, b).ratio()``, generated blocks as rows) and its optimal assignment, each pair of
   consecutive generated blocks is tried merged (texts joined by a space, union box, colour the floored mean); the
   merge is worth it when the matched similarities improve by more than :data:`MERGE_GAIN` (see
   :func:`merge_gain`). The worthwhile merges are applied best first, skipping any that touches a block already
   merged in this round; then the same for the reference blocks.
3. The final assignment maximises a context-adjusted similarity: a cell with ``S[i, j] > 0.5`` gets a bonus of
   :data:`CONTEXT_BONUS` × the sum of the two largest similarities among the other cells of the window of
   :data:`CONTEXT_WINDOW` rows and columns around it, so that runs of consecutive matches are preferred.
4. Assigned pairs whose plain similarity is below :data:`MIN_TEXT_SIMILARITY` are dropped.

``merge=False`` skips steps 1 and 2 (plain assignment of the blocks as given).

Scores over the matched pairs:

* block_match = (area of the matched blocks of both pages) / (area of all blocks of both pages);
* text = mean similarity;
* position = mean of ``1 - max(|Δcx|, |Δcy|)`` with normalised centres;
* color = mean of ``max(0, 1 - ΔE2000 / 100)`` between the two block colours;
* page score = 0.2 × (block_match + text + position + color + clip).

Without any matched pair (including a page without blocks) the four block scores are 0 and the page score is
0.2 × clip. The low-level scores are the four block scores, the high-level score is CLIP (computed elsewhere, after
in-painting the text boxes); when CLIP is not available (None) the page score is None but the block scores are
still reported.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from evaluation.metrics.colors import color_similarity

#: Assigned pairs with a lower text similarity are not counted as matches.
MIN_TEXT_SIMILARITY = 0.5
#: Weight of the neighbours' similarities in the context-adjusted assignment.
CONTEXT_BONUS = 0.1
#: Half-size of the window of neighbouring cells (rows and columns) looked at for the context bonus.
CONTEXT_WINDOW = 1
#: Minimum improvement of the mean matched similarity for a merge of two consecutive blocks to be made.
MERGE_GAIN = 0.05
#: Weight of each of the five scores in the page score.
WEIGHT = 0.2

BLOCK_SCORE_KEYS = ("block_match", "text", "position", "color")


@dataclass(frozen=True)
class Block:
    """A text block: its text, pixel box ``(x0, y0, x1, y1)`` and mean colour ``(r, g, b)`` (0-255)."""

    text: str
    bbox: tuple[float, float, float, float]
    color: tuple[float, float, float]

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "bbox": list(self.bbox), "color": list(self.color)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Block:
        x0, y0, x1, y1 = (float(v) for v in data["bbox"])
        r, g, b = (float(v) for v in list(data["color"])[:3])
        return cls(text=str(data["text"]), bbox=(x0, y0, x1, y1), color=(r, g, b))


@dataclass
class Page:
    """The blocks of one rendered page, in reading order, and the page size in pixels."""

    width: float
    height: float
    blocks: list[Block] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not (self.width > 0 and self.height > 0):
            raise ValueError(f"page size must be positive, got {self.width}x{self.height}")

    def to_dict(self) -> dict[str, Any]:
        return {"width": self.width, "height": self.height, "blocks": [b.to_dict() for b in self.blocks]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Page:
        return cls(
            width=float(data["width"]),
            height=float(data["height"]),
            blocks=[Block.from_dict(b) for b in data.get("blocks") or []],
        )


@dataclass(frozen=True)
class _Box:
    """A block in page-normalised coordinates, text lower-cased."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    color: tuple[float, ...]

    @property
    def area(self) -> float:
        return (self.x1 - self.x0) * (self.y1 - self.y0)

    @property
    def center(self) -> tuple[float, float]:
        return (self.x0 + self.x1) / 2.0, (self.y0 + self.y1) / 2.0


def _normalise(page: Page) -> list[_Box]:
    boxes = []
    for b in page.blocks:
        x0, y0, x1, y1 = b.bbox
        boxes.append(
            _Box(
                text=b.text.lower(),
                x0=x0 / page.width,
                y0=y0 / page.height,
                x1=x1 / page.width,
                y1=y1 / page.height,
                color=tuple(float(c) for c in b.color),
            )
        )
    return boxes


# --------------------------------------------------------------------------------------------------------------------
# Similarities and assignment


def text_similarity(a: str, b: str) -> float:
    """difflib's ``SequenceMatcher(None, a, b).ratio()`` (callers pass lower-cased text)."""
    return SequenceMatcher(None, a, b).ratio()


class _Ratios:
    """Memoised text similarities (merging recomputes many of the same pairs)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], float] = {}

    def __call__(self, a: str, b: str) -> float:
        key = (a, b)
        value = self._cache.get(key)
        if value is None:
            value = self._cache[key] = text_similarity(a, b)
        return value

    def row(self, a: str, others: Sequence[str]) -> np.ndarray:
        return np.array([self(a, b) for b in others], dtype=float)

    def col(self, others: Sequence[str], b: str) -> np.ndarray:
        return np.array([self(a, b) for a in others], dtype=float)

    def matrix(self, gen: Sequence[str], ref: Sequence[str]) -> np.ndarray:
        return np.array([[self(a, b) for b in ref] for a in gen], dtype=float).reshape(len(gen), len(ref))


def context_adjusted(sim: np.ndarray, bonus: float = CONTEXT_BONUS, window: int = CONTEXT_WINDOW) -> np.ndarray:
    """Similarity matrix with the context bonus added to every cell above :data:`MIN_TEXT_SIMILARITY`.

    The bonus of cell (i, j) is ``bonus`` × the sum of the ``2 × window`` largest values among the other cells of
    ``sim[i-window:i+window+1, j-window:j+window+1]`` (fewer when the window holds fewer cells).
    """
    adjusted = np.array(sim, dtype=float, copy=True)
    if window <= 0:
        return adjusted
    n, m = sim.shape
    for i in range(n):
        for j in range(m):
            if sim[i, j] <= MIN_TEXT_SIMILARITY:
                continue
            values = np.sort(sim[max(0, i - window) : i + window + 1, max(0, j - window) : j + window + 1], axis=None)
            values = np.delete(values, np.flatnonzero(values == sim[i, j])[-1])  # the cell itself (or an equal one)
            adjusted[i, j] += bonus * float(np.sum(values[max(0, len(values) - 2 * window) :]))
    return adjusted


def _assign(score: np.ndarray) -> list[tuple[int, int]]:
    """Optimal assignment maximising the total of ``score`` (rows and columns used at most once)."""
    if score.size == 0:
        return []
    rows, cols = linear_sum_assignment(-score)
    return [(int(i), int(j)) for i, j in zip(rows, cols, strict=True)]


def _matched_costs(sim: np.ndarray) -> list[float]:
    """Costs (negated similarities) of the pairs of the plain optimal assignment, in row order."""
    return [float(-sim[i, j]) for i, j in _assign(sim)]


def merge_gain(before: Sequence[float], after: Sequence[float]) -> float:
    """Improvement of an assignment's pair costs (negated similarities) from ``before`` to ``after``.

    Pairs common to both (as a multiset) are set aside; the gain is the mean of the remaining ``before`` costs
    minus the mean of the remaining ``after`` costs (a mean of nothing is 0). A positive gain only counts when
    the best remaining ``after`` pair is also better than the best remaining ``before`` pair; otherwise it is 0.
    A negative value means the merge made matters worse.
    """
    left, right = Counter(before), Counter(after)
    for value in set(left) & set(right):
        common = min(left[value], right[value])
        left[value] -= common
        right[value] -= common
    rest_before, rest_after = list(left.elements()), list(right.elements())
    mean_before = sum(rest_before) / len(rest_before) if rest_before else 0.0
    mean_after = sum(rest_after) / len(rest_after) if rest_after else 0.0
    gain = mean_before - mean_after
    if gain > 0:
        if rest_before and rest_after and min(rest_before) > min(rest_after):
            return gain
        return 0.0
    return gain


# --------------------------------------------------------------------------------------------------------------------
# Merging


def _fuse(a: _Box, b: _Box) -> _Box:
    """Two consecutive blocks merged: joined text, union box, floored mean colour."""
    return _Box(
        text=a.text + " " + b.text,
        x0=min(a.x0, b.x0),
        y0=min(a.y0, b.y0),
        x1=max(a.x1, b.x1),
        y1=max(a.y1, b.y1),
        color=tuple(float((ca + cb) // 2) for ca, cb in zip(a.color, b.color, strict=True)),
    )


def _merge_same_box(boxes: Sequence[_Box]) -> list[_Box]:
    """Blocks with identical boxes fused into the first one: texts joined, colour averaged pairwise in order."""
    fused: dict[tuple[float, float, float, float], _Box] = {}
    for box in boxes:
        key = (box.x0, box.y0, box.x1, box.y1)
        first = fused.get(key)
        if first is None:
            fused[key] = box
        else:
            color = tuple((c0 + c1) / 2.0 for c0, c1 in zip(first.color, box.color, strict=True))
            fused[key] = _Box(first.text + " " + box.text, first.x0, first.y0, first.x1, first.y1, color)
    return list(fused.values())


def _apply_merges(boxes: list[_Box], candidates: list[tuple[int, float]]) -> list[_Box]:
    """Merge ``boxes[i]`` with ``boxes[i + 1]`` for the candidates, best gain first, each block at most once."""
    boxes = list(boxes)
    pending = [(i, i + 1) for i, _ in sorted(candidates, key=lambda c: c[1], reverse=True)]
    popped: list[int] = []
    while pending:
        i, j = pending.pop(0)
        boxes[i] = _fuse(boxes[i], boxes[j])
        popped.append(j)
        pending = [(p, q) for p, q in pending if p not in (i, j) and q not in (i, j)]
    for index in sorted(popped, reverse=True):
        boxes.pop(index)
    return boxes


def _merge_neighbours(gen: list[_Box], ref: list[_Box], ratios: _Ratios) -> tuple[list[_Box], list[_Box]]:
    """Step 2 of the module docstring: merge consecutive blocks on either side while it improves the matching."""
    while True:
        changed = False
        sim = ratios.matrix([b.text for b in gen], [b.text for b in ref])
        current = _matched_costs(sim)

        if len(gen) >= 2:
            ref_texts = [b.text for b in ref]
            candidates = []
            for i in range(len(gen) - 1):
                row = ratios.row(_fuse(gen[i], gen[i + 1]).text, ref_texts)
                trial = np.vstack([sim[:i], row[None, :], sim[i + 2 :]])
                gain = merge_gain(current, _matched_costs(trial))
                if gain > MERGE_GAIN:
                    candidates.append((i, gain))
            if candidates:
                changed = True
                gen = _apply_merges(gen, candidates)
                sim = ratios.matrix([b.text for b in gen], [b.text for b in ref])
                current = _matched_costs(sim)

        if len(ref) >= 2:
            gen_texts = [b.text for b in gen]
            candidates = []
            for j in range(len(ref) - 1):
                col = ratios.col(gen_texts, _fuse(ref[j], ref[j + 1]).text)
                trial = np.hstack([sim[:, :j], col[:, None], sim[:, j + 2 :]])
                gain = merge_gain(current, _matched_costs(trial))
                if gain > MERGE_GAIN:
                    candidates.append((j, gain))
            if candidates:
                changed = True
                ref = _apply_merges(ref, candidates)

        if not changed:
            return gen, ref


def match_blocks(gen_texts: Sequence[str], ref_texts: Sequence[str]) -> list[tuple[int, int, float]]:
    """Context-adjusted optimal assignment of two text lists; pairs ``(i, j, similarity)`` with similarity ≥ 0.5.

    Texts are compared as given (the page scorer lower-cases them first).
    """
    return _match(gen_texts, ref_texts, _Ratios())


def _match(gen_texts: Sequence[str], ref_texts: Sequence[str], ratios: _Ratios) -> list[tuple[int, int, float]]:
    sim = ratios.matrix(gen_texts, ref_texts)
    pairs = _assign(context_adjusted(sim))
    return [(i, j, float(sim[i, j])) for i, j in pairs if sim[i, j] >= MIN_TEXT_SIMILARITY]


# --------------------------------------------------------------------------------------------------------------------
# Page and benchmark scores


def _page_score(block_scores: Mapping[str, float], clip: float | None) -> float | None:
    if clip is None:
        return None
    return WEIGHT * (sum(block_scores[k] for k in BLOCK_SCORE_KEYS) + float(clip))


def page_scores(gen: Page, ref: Page, clip: float | None = None, *, merge: bool = True) -> dict[str, Any]:
    """Block scores of a generated page against its reference, and the page score given the CLIP score.

    Returns ``block_match``, ``text``, ``position``, ``color`` (0-1), ``clip`` (as given), ``score`` (None when
    ``clip`` is None) and the counts ``matched``, ``gen_blocks``, ``ref_blocks`` (blocks after merging).
    """
    gen_boxes, ref_boxes = _normalise(gen), _normalise(ref)
    pairs: list[tuple[int, int, float]] = []
    if gen_boxes and ref_boxes:
        ratios = _Ratios()
        if merge:
            gen_boxes, ref_boxes = _merge_neighbours(_merge_same_box(gen_boxes), _merge_same_box(ref_boxes), ratios)
        pairs = _match([b.text for b in gen_boxes], [b.text for b in ref_boxes], ratios)

    result: dict[str, Any] = {"gen_blocks": len(gen_boxes), "ref_blocks": len(ref_boxes), "matched": len(pairs)}
    if not pairs:
        block_scores = dict.fromkeys(BLOCK_SCORE_KEYS, 0.0)
    else:
        matched_area = sum(gen_boxes[i].area + ref_boxes[j].area for i, j, _ in pairs)
        total_area = sum(b.area for b in gen_boxes) + sum(b.area for b in ref_boxes)
        positions, colors = [], []
        for i, j, _ in pairs:
            (gx, gy), (rx, ry) = gen_boxes[i].center, ref_boxes[j].center
            positions.append(1.0 - max(abs(gx - rx), abs(gy - ry)))
            colors.append(color_similarity(gen_boxes[i].color, ref_boxes[j].color))
        block_scores = {
            "block_match": matched_area / total_area if total_area > 0 else 0.0,
            "text": float(np.mean([s for _, _, s in pairs])),
            "position": float(np.mean(positions)),
            "color": float(np.mean(colors)),
        }
    result.update(block_scores)
    result["clip"] = None if clip is None else float(clip)
    result["score"] = _page_score(block_scores, clip)
    return result


def failed_page() -> dict[str, Any]:
    """Scores of a page whose generation produced nothing to render: 0 everywhere, CLIP included."""
    return {
        "gen_blocks": 0,
        "ref_blocks": 0,
        "matched": 0,
        **dict.fromkeys(BLOCK_SCORE_KEYS, 0.0),
        "clip": 0.0,
        "score": 0.0,
    }


def aggregate(pages: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Means over all pages of the four block scores, CLIP and the page score.

    ``clip`` and ``score`` are averaged only when every page has them; otherwise they are None (CLIP not run, or
    not for all pages) and ``n_clip`` says how many pages had one. With no pages every mean is None.
    """
    n = len(pages)
    with_clip = [p for p in pages if p.get("clip") is not None]
    result: dict[str, Any] = {"n": n, "n_clip": len(with_clip)}
    for key in BLOCK_SCORE_KEYS:
        result[key] = float(np.mean([float(p[key]) for p in pages])) if n else None
    full = n > 0 and len(with_clip) == n
    result["clip"] = float(np.mean([float(p["clip"]) for p in pages])) if full else None
    result["score"] = float(np.mean([float(p["score"]) for p in pages])) if full else None
    return result
