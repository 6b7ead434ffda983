"""ChartMimic low-level scores, computed from what two chart scripts drew.

The extraction step runs the generated and the reference script with matplotlib instrumented and records, per run,
a :class:`ChartLog` (plain JSON-able values). This module only does the scoring maths on two such logs.

Every score is an F1 of a precision ``P = correct / n_gen`` and a recall ``R = correct / n_ref``,
``F1 = 2PR / (P + R)``. Following ChartMimic, a side with nothing on it gives 0, and so does a pair of empty sides:
a chart without any (non-tick) text scores 0 on text even when the reproduction has none either.

* text: the strings drawn (tick labels are not part of the log); exact multiset match, so ``correct`` is the sum
  over distinct strings of the smaller of the two counts.
* layout: one 6-tuple per axes (nrows, ncols, row_start, row_end, col_start, col_end); exact multiset match.
* type: plotting calls per kind; ``correct = Σ_kind min(gen, ref)``, ``n`` the total number of calls on each side.
* color: colours drawn per call kind. A log's colours are first reduced to distinct ``(kind, colour)`` entries
  (ChartMimic records them as a set); hex colours are compared upper-cased as ``#RRGGBB``, anything else (a colormap
  name) verbatim. When a log holds more than :data:`THIN_ABOVE` entries it is thinned greedily: entries are visited
  in the log's order (kinds in insertion order, colours in list order) and one is dropped when its similarity to an
  entry already kept, of any kind, exceeds :data:`THIN_SIMILARITY`; thinning does not stop once 10 remain. This is
  the rule of ChartMimic's own evaluator, which thins the whole log rather than each kind (its visiting order is
  that of a Python set, i.e. arbitrary; here it is the given order, so results are reproducible). Then, per kind,
  the one-to-one matching of generated and reference colours with the largest total similarity is found (Hungarian
  algorithm), where similarity is ``max(0, 1 - ΔE2000 / 100)`` between two hex colours, 1 / 0 for equal / different
  colormap names, and 0 between a hex colour and a name. With ``Σ`` the total over kinds, ``P = Σ / len(gen)`` and
  ``R = Σ / len(ref)``, the lengths being the entry counts after thinning.

A sample whose generated script did not run has no log and scores 0 on everything; :func:`aggregate` averages over
all samples, so such failures pull the means down, and also reports the execution rate.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment
from skimage.color import deltaE_ciede2000

from evaluation.metrics.colors import DELTA_E_SCALE, is_hex_color, normalize_hex, rgb_to_lab

Layout = tuple[int, int, int, int, int, int]

#: Colour logs with more entries than this are thinned before matching.
THIN_ABOVE = 10
#: During thinning an entry is dropped when it is more similar than this to one already kept.
THIN_SIMILARITY = 0.7

#: The four per-sample F1 scores (× 100), in the order ChartMimic reports them.
SCORE_KEYS = ("text", "layout", "type", "color")


@dataclass
class ChartLog:
    """What one run of a chart script drew, as recorded by the instrumented matplotlib.

    ``texts``: strings drawn, tick labels excluded. ``layouts``: per axes, its grid position
    ``(nrows, ncols, row_start, row_end, col_start, col_end)``. ``types``: number of plotting calls per kind.
    ``colors``: per kind, the colours drawn (hex strings, or colormap names).
    """

    texts: list[str] = field(default_factory=list)
    layouts: list[Layout] = field(default_factory=list)
    types: dict[str, int] = field(default_factory=dict)
    colors: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.texts = [str(t) for t in self.texts]
        self.layouts = [_as_layout(item) for item in self.layouts]
        self.types = {str(k): int(v) for k, v in self.types.items()}
        self.colors = {str(k): [str(c) for c in v] for k, v in self.colors.items()}

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (layouts as lists)."""
        return {
            "texts": list(self.texts),
            "layouts": [list(item) for item in self.layouts],
            "types": dict(self.types),
            "colors": {k: list(v) for k, v in self.colors.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChartLog:
        """Inverse of :meth:`to_dict`; missing fields are empty."""
        return cls(
            texts=list(data.get("texts") or []),
            layouts=list(data.get("layouts") or []),
            types=dict(data.get("types") or {}),
            colors=dict(data.get("colors") or {}),
        )


def _as_layout(item: Sequence[int] | Mapping[str, int]) -> Layout:
    if isinstance(item, Mapping):
        keys = ("nrows", "ncols", "row_start", "row_end", "col_start", "col_end")
        item = [item[k] for k in keys]
    values = tuple(int(v) for v in item)
    if len(values) != 6:
        raise ValueError(f"a layout has six integers, got {item!r}")
    return values  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------------------------------
# F1 and the exact-match scores


def f1(correct: float, n_gen: float, n_ref: float) -> float:
    """``2PR / (P + R)`` with ``P = correct / n_gen`` and ``R = correct / n_ref``; 0 when either side is empty."""
    if n_gen <= 0 or n_ref <= 0:
        return 0.0
    precision = correct / n_gen
    recall = correct / n_ref
    if precision + recall <= 0:
        return 0.0
    return 2.0 * precision * recall / (precision + recall)


def _multiset_f1(gen: Iterable[Hashable], ref: Iterable[Hashable]) -> float:
    gen_counts, ref_counts = Counter(gen), Counter(ref)
    correct = sum((gen_counts & ref_counts).values())
    return f1(correct, sum(gen_counts.values()), sum(ref_counts.values()))


def text_f1(gen: Sequence[str], ref: Sequence[str]) -> float:
    """F1 of the drawn strings, exact multiset match (0-1)."""
    return _multiset_f1(gen, ref)


def layout_f1(gen: Sequence[Sequence[int]], ref: Sequence[Sequence[int]]) -> float:
    """F1 of the axes grid positions, exact multiset match of the 6-tuples (0-1)."""
    return _multiset_f1((_as_layout(x) for x in gen), (_as_layout(x) for x in ref))


def type_f1(gen: Mapping[str, int], ref: Mapping[str, int]) -> float:
    """F1 of the plotting-call counts: ``correct = Σ_kind min(gen, ref)`` (0-1)."""
    correct = sum(min(int(count), int(ref.get(kind, 0))) for kind, count in gen.items())
    return f1(correct, sum(int(c) for c in gen.values()), sum(int(c) for c in ref.values()))


# --------------------------------------------------------------------------------------------------------------------
# Colours


def _normalize_color(value: str) -> str:
    return normalize_hex(value) if is_hex_color(value) else value


def color_entries(colors: Mapping[str, Sequence[str]]) -> list[tuple[str, str]]:
    """Distinct ``(kind, colour)`` entries of a colour log in first-seen order, hex colours as ``#RRGGBB``."""
    seen: dict[tuple[str, str], None] = {}
    for kind, values in colors.items():
        for value in values:
            seen.setdefault((str(kind), _normalize_color(str(value))), None)
    return list(seen)


def _lab_array(values: Sequence[str]) -> np.ndarray:
    return np.array([rgb_to_lab(v) for v in values], dtype=float).reshape(len(values), 3)


def similarity_matrix(gen: Sequence[str], ref: Sequence[str]) -> np.ndarray:
    """``S[i, j]``: similarity of colour ``gen[i]`` and ``ref[j]`` (normalised values, see the module docstring)."""
    sim = np.zeros((len(gen), len(ref)), dtype=float)
    if not len(gen) or not len(ref):
        return sim
    gen_hex = np.array([is_hex_color(v) for v in gen])
    ref_hex = np.array([is_hex_color(v) for v in ref])
    gi, ri = np.flatnonzero(gen_hex), np.flatnonzero(ref_hex)
    if gi.size and ri.size:
        lab_g = _lab_array([gen[i] for i in gi])[:, None, :]
        lab_r = _lab_array([ref[j] for j in ri])[None, :, :]
        lab_g, lab_r = np.broadcast_arrays(lab_g, lab_r)
        delta = deltaE_ciede2000(lab_g, lab_r)
        sim[np.ix_(gi, ri)] = np.maximum(0.0, 1.0 - delta / DELTA_E_SCALE)
    for i in np.flatnonzero(~gen_hex):
        for j in np.flatnonzero(~ref_hex):
            sim[i, j] = 1.0 if gen[i] == ref[j] else 0.0
    return sim


def thin_colors(entries: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Greedy thinning of a colour log with more than :data:`THIN_ABOVE` entries (unchanged otherwise).

    Entries are visited in order; one is kept unless its colour is more than :data:`THIN_SIMILARITY` similar to the
    colour of an entry already kept, whatever the kinds.
    """
    entries = list(entries)
    if len(entries) <= THIN_ABOVE:
        return entries
    kept: list[tuple[str, str]] = []
    for entry in entries:
        if kept:
            sims = similarity_matrix([entry[1]], [k[1] for k in kept])[0]
            if np.any(sims > THIN_SIMILARITY):
                continue
        kept.append(entry)
    return kept


def _group(entries: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for kind, value in entries:
        groups.setdefault(kind, []).append(value)
    return groups


def best_matching_similarity(gen: Sequence[str], ref: Sequence[str]) -> float:
    """Largest total similarity of a one-to-one matching between two colour lists (0 if either is empty)."""
    if not gen or not ref:
        return 0.0
    sim = similarity_matrix(gen, ref)
    rows, cols = linear_sum_assignment(sim, maximize=True)
    return float(sim[rows, cols].sum())


def color_f1(gen: Mapping[str, Sequence[str]], ref: Mapping[str, Sequence[str]]) -> float:
    """F1 of the colours drawn per kind, with per-kind optimal matching of perceptual similarities (0-1)."""
    gen_entries = thin_colors(color_entries(gen))
    ref_entries = thin_colors(color_entries(ref))
    gen_groups, ref_groups = _group(gen_entries), _group(ref_entries)
    total = sum(best_matching_similarity(colors, ref_groups.get(kind, [])) for kind, colors in gen_groups.items())
    return f1(total, len(gen_entries), len(ref_entries))


# --------------------------------------------------------------------------------------------------------------------
# Per sample and over a benchmark


def low_level(gen: ChartLog | None, ref: ChartLog) -> dict[str, Any]:
    """The four F1 scores × 100 and their mean (``low_level``) for one sample.

    ``gen`` is None when the generated script did not run: every score is then 0 and ``executed`` is False.
    """
    if gen is None:
        scores = dict.fromkeys(SCORE_KEYS, 0.0)
    else:
        scores = {
            "text": 100.0 * text_f1(gen.texts, ref.texts),
            "layout": 100.0 * layout_f1(gen.layouts, ref.layouts),
            "type": 100.0 * type_f1(gen.types, ref.types),
            "color": 100.0 * color_f1(gen.colors, ref.colors),
        }
    return {
        "executed": gen is not None,
        **scores,
        "low_level": sum(scores[k] for k in SCORE_KEYS) / len(SCORE_KEYS),
    }


def aggregate(samples: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Means over ALL samples of the per-sample scores of :func:`low_level` (0-100), and ``exec_rate`` in percent.

    A sample that did not execute (``executed`` false) counts 0 on every score, whatever else it holds; a missing
    score counts 0 too. With no samples every mean is None.
    """
    n = len(samples)
    keys = (*SCORE_KEYS, "low_level")
    if n == 0:
        return {"n": 0, "executed": 0, "exec_rate": None, **dict.fromkeys(keys)}
    executed = [bool(s.get("executed", False)) for s in samples]
    result: dict[str, Any] = {"n": n, "executed": sum(executed), "exec_rate": 100.0 * sum(executed) / n}
    for key in keys:
        total = sum(float(s.get(key) or 0.0) for s, ok in zip(samples, executed, strict=True) if ok)
        result[key] = total / n
    return result
