"""ChartMimic low-level scores on hand-worked drawing logs (the arithmetic is in the comments)."""

from __future__ import annotations

import itertools
import random

import pytest

from evaluation.metrics import chartmimic_scores as cm
from evaluation.metrics.chartmimic_scores import (
    ChartLog,
    aggregate,
    color_entries,
    color_f1,
    f1,
    layout_f1,
    low_level,
    text_f1,
    thin_colors,
    type_f1,
)
from evaluation.metrics.colors import (
    ciede2000,
    ciede2000_lab,
    color_similarity,
    hex_to_rgb,
    normalize_hex,
    rgb_to_hex,
    similarity_from_delta_e,
)

approx = pytest.approx


def _log() -> ChartLog:
    return ChartLog(
        texts=["Title", "x label", "y label", "Series A", "Series B"],
        layouts=[(1, 2, 0, 0, 0, 0), (1, 2, 0, 0, 1, 1)],
        types={"plot": 2, "bar": 1},
        colors={"plot": ["#1F77B4", "#FF7F0E"], "bar": ["#2CA02C"]},
    )


# ---------------------------------------------------------------------------------------------------------------------
# colours


def test_hex_helpers() -> None:
    assert hex_to_rgb("#ff8000") == (255, 128, 0)
    assert hex_to_rgb("#F80") == (255, 136, 0)  # short form doubled
    assert normalize_hex("#ff000080") == "#FF0000"  # alpha dropped
    assert rgb_to_hex((255, 127.6, -3)) == "#FF8000"  # rounded and clipped
    with pytest.raises(ValueError):
        hex_to_rgb("red")


def test_ciede2000_matches_published_reference_pairs() -> None:
    # Sharma, Wu & Dalal (2005) test data, pairs 1, 7, 17, 18, 19, 20 (Lab in, ΔE00 out).
    cases = [
        ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
        ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
        ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
        ((50.0, 2.5, 0.0), (61.0, -5.0, 29.0), 22.8977),
        ((50.0, 2.5, 0.0), (56.0, -27.0, -3.0), 31.9030),
        ((50.0, 2.5, 0.0), (58.0, 24.0, 15.0), 19.4535),
    ]
    for lab_a, lab_b, expected in cases:
        assert ciede2000_lab(lab_a, lab_b) == approx(expected, abs=1e-4)


def test_color_similarity_values() -> None:
    assert color_similarity("#123456", "#123456") == 1.0
    # #FF0000 vs #FE0000: ΔE00 ≈ 0.208 → similarity ≈ 0.998
    assert color_similarity("#ff0000", "#fe0000") == approx(1 - 0.2079 / 100, abs=1e-4)
    # red vs its complement cyan: ΔE00 ≈ 70.96 → ≈ 0.290
    assert color_similarity("#ff0000", "#00ffff") == approx(0.2904, abs=1e-4)
    # black vs white: ΔE00 = 100 → 0; navy vs yellow: ΔE00 ≈ 112.6 > 100 → clipped at 0
    assert ciede2000("#000000", "#FFFFFF") == approx(100.0, abs=1e-4)
    assert color_similarity("#000000", "#FFFFFF") == approx(0.0, abs=1e-6)
    assert ciede2000("#000080", "#FFFF00") == approx(112.606, abs=1e-3)
    assert color_similarity("#000080", "#FFFF00") == 0.0
    assert similarity_from_delta_e(150.0) == 0.0
    assert similarity_from_delta_e(25.0) == 0.75
    # hex and 0-255 triples are interchangeable
    assert ciede2000((255, 0, 0), "#FF0000") == 0.0


# ---------------------------------------------------------------------------------------------------------------------
# f1 and the exact-match scores


def test_f1_arithmetic_and_empty_sides() -> None:
    assert f1(2, 4, 4) == 0.5  # P = R = 1/2
    # P = 1/2, R = 1/4 → 2 · (1/8) / (3/4) = 1/3
    assert f1(1, 2, 4) == approx(1 / 3)
    assert f1(0, 3, 3) == 0.0
    assert f1(3, 3, 3) == 1.0
    # an empty side gives 0, and so does a pair of empty sides (ChartMimic's convention)
    assert f1(0, 0, 5) == 0.0
    assert f1(0, 5, 0) == 0.0
    assert f1(0, 0, 0) == 0.0


def test_text_f1() -> None:
    assert text_f1(["a", "b", "c"], ["c", "b", "a"]) == 1.0  # order does not matter
    assert text_f1(["a", "b"], ["c", "d"]) == 0.0
    # gen {A: 2, B: 1, C: 1}, ref {A: 1, B: 2, D: 1}: correct = min(2, 1) + min(1, 2) = 2
    # P = 2/4, R = 2/4 → F1 = 0.5
    assert text_f1(["A", "A", "B", "C"], ["A", "B", "B", "D"]) == 0.5
    # gen {A: 3}, ref {A: 1}: correct = 1, P = 1/3, R = 1 → F1 = 2 · (1/3) / (4/3) = 0.5
    assert text_f1(["A", "A", "A"], ["A"]) == 0.5
    # exact match only: case and whitespace count
    assert text_f1(["Title "], ["Title"]) == 0.0
    assert text_f1(["title"], ["Title"]) == 0.0
    assert text_f1([], ["a"]) == 0.0
    assert text_f1(["a"], []) == 0.0
    assert text_f1([], []) == 0.0


def test_layout_f1() -> None:
    grid = [(2, 2, 0, 0, 0, 0), (2, 2, 0, 0, 1, 1), (2, 2, 1, 1, 0, 1)]
    assert layout_f1(grid, list(reversed(grid))) == 1.0
    assert layout_f1([(1, 1, 0, 0, 0, 0)], [(1, 2, 0, 0, 0, 0)]) == 0.0
    # gen {(1,2,..,0,0): 1, (1,2,..,1,1): 1}, ref {(1,2,..,0,0): 2}: correct = 1, P = 1/2, R = 1/2 → 0.5
    gen = [(1, 2, 0, 0, 0, 0), (1, 2, 0, 0, 1, 1)]
    ref = [(1, 2, 0, 0, 0, 0), (1, 2, 0, 0, 0, 0)]
    assert layout_f1(gen, ref) == 0.5
    # lists (as read back from JSON) compare like tuples
    assert layout_f1([[1, 2, 0, 0, 0, 0]], [(1, 2, 0, 0, 0, 0)]) == 1.0
    assert layout_f1([], ref) == 0.0


def test_type_f1_min_rule() -> None:
    assert type_f1({"plot": 2, "bar": 1}, {"bar": 1, "plot": 2}) == 1.0
    assert type_f1({"pie": 1}, {"bar": 3}) == 0.0
    # correct = min(3, 2) [plot] + 0 [bar] = 2; n_gen = 4, n_ref = 4 → P = R = 0.5
    assert type_f1({"plot": 3, "bar": 1}, {"plot": 2, "scatter": 2}) == 0.5
    # correct = min(5, 2) = 2; P = 2/5, R = 2/2 → F1 = 2 · 0.4 / 1.4 = 4/7
    assert type_f1({"bar": 5}, {"bar": 2}) == approx(4 / 7)
    assert type_f1({}, {"bar": 2}) == 0.0
    assert type_f1({"bar": 2}, {}) == 0.0
    assert type_f1({}, {}) == 0.0


# ---------------------------------------------------------------------------------------------------------------------
# colour F1


def test_color_f1_identical_and_disjoint_kinds() -> None:
    palette = {"plot": ["#1f77b4", "#ff7f0e"], "bar": ["#2ca02c", "#d62728"]}
    assert color_f1(palette, palette) == approx(1.0)
    # the same colour under another call kind does not match: Σ = 0
    assert color_f1({"bar": ["#FF0000"]}, {"plot": ["#FF0000"]}) == 0.0


def test_color_f1_near_and_complementary() -> None:
    # one colour each side: P = R = similarity → F1 = similarity
    near = color_f1({"plot": ["#ff0000"]}, {"plot": ["#fe0000"]})
    assert near == approx(color_similarity("#ff0000", "#fe0000")) and near > 0.99
    complementary = color_f1({"plot": ["#ff0000"]}, {"plot": ["#00ffff"]})
    assert complementary == approx(0.2904, abs=1e-4)
    # ΔE00 ≈ 112.6 between navy and yellow: similarity clipped at 0, so F1 = 0
    assert color_f1({"plot": ["#000080"]}, {"plot": ["#FFFF00"]}) == 0.0


def test_color_f1_unequal_sizes_and_duplicates() -> None:
    # Σ = sim(red, red) = 1 (blue unmatched); P = 1/2, R = 1/1 → F1 = 2 · 0.5 / 1.5 = 2/3
    assert color_f1({"bar": ["#FF0000", "#0000FF"]}, {"bar": ["#FF0000"]}) == approx(2 / 3)
    # a log is a set of (kind, colour): repeated colours (any case, with or without alpha) count once
    assert color_entries({"bar": ["#ff0000", "#FF0000", "#ff000080"]}) == [("bar", "#FF0000")]
    assert color_f1({"bar": ["#ff0000", "#FF0000"]}, {"bar": ["#FF0000"]}) == approx(1.0)


def test_color_f1_colormap_names() -> None:
    assert color_f1({"imshow": ["viridis"]}, {"imshow": ["viridis"]}) == 1.0
    assert color_f1({"imshow": ["viridis"]}, {"imshow": ["plasma"]}) == 0.0
    assert color_f1({"imshow": ["viridis"]}, {"imshow": ["#440154"]}) == 0.0  # a name never matches a hex colour


def test_color_f1_optimal_assignment_beats_greedy() -> None:
    gen = {"bar": ["#0000FF", "#00FF00"]}  # blue, green
    ref = {"bar": ["#808080", "#400000"]}  # grey, dark red
    s = {(g, r): color_similarity(g, r) for g in gen["bar"] for r in ref["bar"]}
    # ΔE00: blue-grey 38.67, blue-dark red 40.60, green-grey 41.69, green-dark red 101.0
    #   → similarities 0.6133, 0.5940, 0.5831, 0 (clipped)
    assert s["#0000FF", "#808080"] == approx(0.6133, abs=1e-4)
    assert s["#0000FF", "#400000"] == approx(0.5940, abs=1e-4)
    assert s["#00FF00", "#808080"] == approx(0.5831, abs=1e-4)
    assert s["#00FF00", "#400000"] == 0.0
    # greedy (best pair first): blue-grey 0.6133, then green-dark red 0 → Σ = 0.6133
    greedy = s["#0000FF", "#808080"] + s["#00FF00", "#400000"]
    # optimal: blue-dark red 0.5940 + green-grey 0.5831 → Σ = 1.1771; P = R = Σ / 2 → F1 = 0.5885
    optimal = s["#0000FF", "#400000"] + s["#00FF00", "#808080"]
    assert optimal > greedy + 0.5
    assert color_f1(gen, ref) == approx(optimal / 2)
    assert color_f1(gen, ref) == approx(0.5885, abs=1e-4)


def test_color_matching_equals_brute_force_over_permutations() -> None:
    # ChartMimic maximises over all permutations; the Hungarian solution must give the same total.
    rng = random.Random(7)
    for _ in range(20):
        gen = [f"#{rng.randrange(1 << 24):06X}" for _ in range(rng.randint(1, 4))]
        ref = [f"#{rng.randrange(1 << 24):06X}" for _ in range(rng.randint(1, 4))]
        shorter, longer = (gen, ref) if len(gen) <= len(ref) else (ref, gen)
        brute = max(
            sum(color_similarity(a, b) for a, b in zip(shorter, perm, strict=True))
            for perm in itertools.permutations(longer, len(shorter))
        )
        assert cm.best_matching_similarity(gen, ref) == approx(brute, abs=1e-9)


def test_thinning_above_ten_colours() -> None:
    reds = [f"#{v:02X}0000" for v in range(0xFF, 0xF4, -1)]  # #FF0000 … #F50000: 11 colours, ΔE00 ≤ 2.2 to #FF0000
    assert len(reds) == 11
    # 11 > 10 entries → thinned: #FF0000 kept first, every other red is > 0.7 similar to it → dropped
    assert thin_colors([("bar", c) for c in reds]) == [("bar", "#FF0000")]
    # so against a single #FF0000: Σ = 1, P = 1/1, R = 1/1 → F1 = 1
    assert color_f1({"bar": reds}, {"bar": ["#FF0000"]}) == approx(1.0)
    # exactly 10 colours are not thinned: Σ = 1, P = 1/10, R = 1 → F1 = 2 · 0.1 / 1.1 = 2/11
    assert thin_colors([("bar", c) for c in reds[:10]]) == [("bar", c) for c in reds[:10]]
    assert color_f1({"bar": reds[:10]}, {"bar": ["#FF0000"]}) == approx(2 / 11)


def test_thinning_keeps_distinct_colours_and_spans_kinds() -> None:
    # 12 entries: line #FF0000 first, then 10 near reds under "bar", then a blue under "bar"
    log = {"line": ["#FF0000"], "bar": [f"#{v:02X}0000" for v in range(0xFE, 0xF4, -1)] + ["#0000FF"]}
    assert len(color_entries(log)) == 12
    # the bar reds are dropped for being near the line's red (kinds are ignored while thinning); blue stays
    assert thin_colors(color_entries(log)) == [("line", "#FF0000"), ("bar", "#0000FF")]


def test_color_f1_empty_sides() -> None:
    assert color_f1({}, {"bar": ["#FF0000"]}) == 0.0
    assert color_f1({"bar": ["#FF0000"]}, {}) == 0.0
    assert color_f1({}, {}) == 0.0


# ---------------------------------------------------------------------------------------------------------------------
# per sample and aggregate


def test_low_level_identical_and_disjoint() -> None:
    scores = low_level(_log(), _log())
    assert scores["executed"] is True
    for key in ("text", "layout", "type", "color", "low_level"):
        assert scores[key] == approx(100.0)
    other = ChartLog(texts=["Other"], layouts=[(3, 3, 2, 2, 2, 2)], types={"pie": 1}, colors={"pie": ["#1F77B4"]})
    zero = low_level(other, _log())
    for key in ("text", "layout", "type", "color", "low_level"):
        assert zero[key] == 0.0


def test_low_level_partial_mean() -> None:
    gen = _log()
    gen.texts = ["Title", "x label"]  # correct 2, P = 1, R = 2/5 → F1 = 0.8/1.4 = 4/7
    gen.types = {"plot": 2}  # correct 2, P = 1, R = 2/3 → F1 = 0.8
    scores = low_level(gen, _log())
    assert scores["text"] == approx(100 * 4 / 7)
    assert scores["layout"] == approx(100.0)
    assert scores["type"] == approx(80.0)
    assert scores["color"] == approx(100.0)
    assert scores["low_level"] == approx((100 * 4 / 7 + 100 + 80 + 100) / 4)


def test_low_level_failed_sample() -> None:
    scores = low_level(None, _log())
    assert scores == {"executed": False, "text": 0.0, "layout": 0.0, "type": 0.0, "color": 0.0, "low_level": 0.0}


def test_aggregate_counts_failed_samples_as_zero() -> None:
    perfect = low_level(_log(), _log())  # 100 everywhere
    gen = _log()
    gen.texts = []  # text 0, the rest 100 → low_level 75
    partial = low_level(gen, _log())
    failed = low_level(None, _log())
    # a failed sample counts 0 even if it carries stale scores
    stale = {**perfect, "executed": False}
    result = aggregate([perfect, partial, failed, stale])
    assert result["n"] == 4 and result["executed"] == 2
    assert result["exec_rate"] == 50.0
    assert result["text"] == approx((100 + 0 + 0 + 0) / 4)
    assert result["layout"] == approx((100 + 100 + 0 + 0) / 4)
    assert result["low_level"] == approx((100 + 75 + 0 + 0) / 4)
    assert aggregate([])["low_level"] is None


def test_chart_log_round_trip() -> None:
    log = _log()
    assert ChartLog.from_dict(log.to_dict()) == log
    assert ChartLog.from_dict({}) == ChartLog()
    # ChartMimic's own layout records are dicts; they are read as 6-tuples
    as_dict = {"nrows": 1, "ncols": 2, "row_start": 0, "row_end": 0, "col_start": 1, "col_end": 1}
    assert ChartLog(layouts=[as_dict]).layouts == [(1, 2, 0, 0, 1, 1)]
    with pytest.raises(ValueError):
        ChartLog(layouts=[(1, 2, 3)])
