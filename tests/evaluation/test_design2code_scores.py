"""Design2Code block scores on hand-worked pages (the arithmetic is in the comments)."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.metrics.colors import ciede2000
from evaluation.metrics.design2code_scores import (
    Block,
    Page,
    aggregate,
    context_adjusted,
    failed_page,
    match_blocks,
    merge_gain,
    page_scores,
    text_similarity,
)

approx = pytest.approx
BLACK = (0.0, 0.0, 0.0)


def _ref() -> Page:
    # a 1000 × 800 page with two blocks
    return Page(
        1000,
        800,
        [
            Block("Welcome to our site", (100, 80, 500, 120), BLACK),  # 400 × 40 px
            Block("Contact the team", (100, 400, 300, 440), (0, 0, 255)),  # 200 × 40 px
        ],
    )


def test_identical_pages_score_one() -> None:
    scores = page_scores(_ref(), _ref(), clip=0.9)
    assert scores["matched"] == 2
    for key in ("block_match", "text", "position", "color"):
        assert scores[key] == approx(1.0)
    # 0.2 × (1 + 1 + 1 + 1 + 0.9) = 0.98
    assert scores["score"] == approx(0.98)
    assert scores["clip"] == 0.9


def test_moved_block_lowers_position_by_the_exact_amount() -> None:
    gen = _ref()
    # move the second block 100 px right and 40 px down: Δcx = 100/1000 = 0.10, Δcy = 40/800 = 0.05
    gen.blocks[1] = Block("Contact the team", (200, 440, 400, 480), (0, 0, 255))
    scores = page_scores(gen, _ref())
    # pair scores 1 and 1 − max(0.10, 0.05) = 0.9 → mean 0.95; nothing else changes
    assert scores["position"] == approx(0.95)
    assert scores["block_match"] == approx(1.0)
    assert scores["text"] == approx(1.0)
    assert scores["color"] == approx(1.0)


def test_recoloured_block_scores_by_ciede2000() -> None:
    gen = _ref()
    gen.blocks[0] = Block("Welcome to our site", (100, 80, 500, 120), (255, 0, 0))  # black text turned red
    # ΔE00(black, red) = 50.41 → pair colour 1 − 0.5041 = 0.4959; other pair 1 → mean 0.74794
    assert ciede2000(BLACK, (255, 0, 0)) == approx(50.4112, abs=1e-4)
    scores = page_scores(gen, _ref(), clip=1.0)
    assert scores["color"] == approx((1 + (1 - ciede2000(BLACK, (255, 0, 0)) / 100)) / 2)
    assert scores["color"] == approx(0.74794, abs=1e-5)
    # page score 0.2 × (1 + 1 + 1 + 0.74794 + 1)
    assert scores["score"] == approx(0.2 * (4 + 0.74794), abs=1e-5)


def test_low_similarity_pair_is_dropped() -> None:
    ref = Page(1000, 1000, [Block("hello world", (0, 0, 100, 20), BLACK), Block("abc", (0, 100, 100, 120), BLACK)])
    gen = Page(1000, 1000, [Block("Hello World", (0, 0, 100, 20), BLACK), Block("xyz", (0, 100, 200, 120), BLACK)])
    scores = page_scores(gen, ref, clip=0.5)
    # "xyz" vs "abc" has ratio 0 < 0.5: assigned but dropped; "hello world" matches after lower-casing (ratio 1)
    assert scores["matched"] == 1
    # normalised areas: 100×20 → 0.002 for three blocks, 200×20 → 0.004 for "xyz"
    # block_match = (0.002 + 0.002) / (0.002 + 0.004 + 0.002 + 0.002) = 0.4
    assert scores["block_match"] == approx(0.4)
    assert scores["text"] == approx(1.0)
    assert scores["position"] == approx(1.0)
    assert scores["color"] == approx(1.0)
    assert scores["score"] == approx(0.2 * (0.4 + 1 + 1 + 1 + 0.5))


def test_threshold_is_inclusive_at_one_half() -> None:
    # ratio("ab", "ac") = 2 · 1 / 4 = 0.5: kept; ratio("ab", "cd") = 0: dropped
    assert text_similarity("ab", "ac") == 0.5
    assert match_blocks(["ab"], ["ac"]) == [(0, 0, 0.5)]
    assert match_blocks(["ab"], ["cd"]) == []


def test_optimal_assignment_beats_greedy() -> None:
    gen_texts, ref_texts = ["contact us", "contact form"], ["contact", "about us"]
    # ratios: (contact us, contact) = 14/17 = 0.8235   (contact us, about us) = 10/18 = 0.5556
    #         (contact form, contact) = 14/19 = 0.7368 (contact form, about us) = 6/20 = 0.3
    assert text_similarity("contact us", "contact") == approx(14 / 17)
    assert text_similarity("contact us", "about us") == approx(10 / 18)
    assert text_similarity("contact form", "contact") == approx(14 / 19)
    assert text_similarity("contact form", "about us") == approx(0.3)
    # greedy takes the best pair 0.8235 first, leaving 0.3 (< 0.5, dropped): one match.
    # optimal (with the context bonus, every cell's window is the whole 2 × 2 matrix):
    #   diagonal 0.8235 + 0.1 · (0.7368 + 0.5556) + 0.3 = 1.2528
    #   anti-diagonal 0.5556 + 0.1 · (0.8235 + 0.7368) + 0.7368 + 0.1 · (0.8235 + 0.5556) = 1.5863
    assert sorted(match_blocks(gen_texts, ref_texts)) == [(0, 1, approx(10 / 18)), (1, 0, approx(14 / 19))]

    gen = Page(1000, 1000, [Block(t, (0, 100 * k, 100, 100 * k + 20), BLACK) for k, t in enumerate(gen_texts)])
    ref = Page(1000, 1000, [Block(t, (0, 100 * k, 100, 100 * k + 20), BLACK) for k, t in enumerate(ref_texts)])
    scores = page_scores(gen, ref, merge=False)
    assert scores["matched"] == 2
    # text = (0.5556 + 0.7368) / 2; each pair is 0.1 apart vertically → position 0.9
    assert scores["text"] == approx((10 / 18 + 14 / 19) / 2)
    assert scores["position"] == approx(0.9)
    assert scores["block_match"] == approx(1.0)


def test_reference_neighbours_are_merged_when_it_helps() -> None:
    # Same two pages with the official merging on: merging the reference's "contact" and "about us" into
    # "contact about us" lets "contact us" match it with ratio 2 · 10 / 26 = 0.7692. Costs before: the two pairs
    # (−0.5556, −0.7368), mean −0.6462; after: one pair (−0.7692); gain 0.1230 > 0.05 and the best pair improves.
    assert merge_gain([-10 / 18, -14 / 19], [-20 / 26]) == approx(20 / 26 - (10 / 18 + 14 / 19) / 2)
    gen = Page(
        1000, 1000, [Block("contact us", (0, 0, 100, 20), BLACK), Block("contact form", (0, 100, 100, 120), BLACK)]
    )
    ref = Page(1000, 1000, [Block("contact", (0, 0, 100, 20), BLACK), Block("about us", (0, 100, 100, 120), BLACK)])
    scores = page_scores(gen, ref)
    assert (scores["gen_blocks"], scores["ref_blocks"], scores["matched"]) == (2, 1, 1)
    assert scores["text"] == approx(20 / 26)
    # merged reference box (0, 0)-(100, 120): area 0.012, centre (0.05, 0.06); "contact us" area 0.002,
    # centre (0.05, 0.01). block_match = (0.002 + 0.012) / (0.002 + 0.002 + 0.012) = 0.875; position = 1 − 0.05
    assert scores["block_match"] == approx(0.875)
    assert scores["position"] == approx(0.95)


def test_split_generated_block_is_merged_back() -> None:
    ref = Page(1000, 1000, [Block("Sign up for our newsletter", (100, 100, 500, 140), BLACK)])
    gen = Page(
        1000,
        1000,
        [
            Block("Sign up", (100, 100, 220, 140), BLACK),
            Block("for our newsletter", (220, 100, 500, 140), BLACK),
        ],
    )
    merged = page_scores(gen, ref)
    # the two halves are merged into "sign up for our newsletter" with the union box: a perfect match
    assert (merged["gen_blocks"], merged["matched"]) == (1, 1)
    for key in ("block_match", "text", "position", "color"):
        assert merged[key] == approx(1.0)
    plain = page_scores(gen, ref, merge=False)
    # without merging only "for our newsletter" matches: ratio 2 · 18 / (18 + 26) = 0.8182
    assert plain["matched"] == 1
    assert plain["text"] == approx(36 / 44)


def test_blocks_with_the_same_box_are_fused() -> None:
    box = (0, 0, 100, 20)
    gen = Page(100, 100, [Block("two", box, (0, 0, 0)), Block("words", box, (100, 100, 100))])
    ref = Page(100, 100, [Block("two words", box, (50, 50, 50))])
    scores = page_scores(gen, ref)
    # fused into "two words" with colour (50, 50, 50): identical to the reference
    assert scores["gen_blocks"] == 1
    for key in ("block_match", "text", "position", "color"):
        assert scores[key] == approx(1.0)


def test_context_bonus_by_hand() -> None:
    sim = [[0.9, 0.2], [0.6, 0.4]]
    adjusted = context_adjusted(np.array(sim))
    # (0,0): 0.9 + 0.1 · (0.6 + 0.4) = 1.0; (1,0): 0.6 + 0.1 · (0.9 + 0.4) = 0.73; cells ≤ 0.5 unchanged
    assert adjusted.tolist() == [[approx(1.0), 0.2], [approx(0.73), 0.4]]
    # a single cell has no neighbours
    assert context_adjusted(np.array([[0.8]])).tolist() == [[approx(0.8)]]


def test_merge_gain_rules() -> None:
    # common pairs are set aside: before {-0.5, -0.6} vs after {-0.9}: gain = -0.55 - (-0.9) = 0.35, best improves
    assert merge_gain([-0.5, -0.6, -1.0], [-1.0, -0.9]) == approx(0.35)
    # mean improves (−0.5 → −0.8) but the best pair does not (−0.9 before, −0.8 after): no gain
    assert merge_gain([-0.9, -0.1], [-0.8]) == 0.0
    # worse: a negative gain
    assert merge_gain([-0.9], [-0.5]) == approx(-0.4)


def test_no_blocks_gives_a_fifth_of_clip() -> None:
    empty = Page(1000, 800, [])
    for gen, ref in ((empty, _ref()), (_ref(), empty), (empty, empty)):
        scores = page_scores(gen, ref, clip=0.7)
        assert scores["matched"] == 0
        for key in ("block_match", "text", "position", "color"):
            assert scores[key] == 0.0
        assert scores["score"] == approx(0.2 * 0.7)
    # blocks on both pages but nothing similar enough: same rule
    unrelated = Page(1000, 800, [Block("zzzz qqqq", (0, 0, 10, 10), BLACK)])
    scores = page_scores(unrelated, _ref(), clip=0.7)
    assert scores["matched"] == 0 and scores["score"] == approx(0.14)


def test_clip_none_gives_no_page_score_but_block_scores() -> None:
    scores = page_scores(_ref(), _ref())
    assert scores["clip"] is None and scores["score"] is None
    assert scores["block_match"] == approx(1.0)
    assert page_scores(Page(10, 10, []), _ref())["score"] is None


def test_aggregate_means_over_pages() -> None:
    moved = _ref()
    moved.blocks[1] = Block("Contact the team", (200, 440, 400, 480), (0, 0, 255))
    a = page_scores(_ref(), _ref(), clip=0.9)  # score 0.98
    b = page_scores(moved, _ref(), clip=0.7)  # position 0.95 → 0.2 × (1 + 1 + 0.95 + 1 + 0.7) = 0.93
    c = failed_page()
    result = aggregate([a, b, c])
    assert result["n"] == 3 and result["n_clip"] == 3
    assert result["position"] == approx((1 + 0.95 + 0) / 3)
    assert result["block_match"] == approx(2 / 3)
    assert result["clip"] == approx((0.9 + 0.7 + 0) / 3)
    assert result["score"] == approx((0.98 + 0.93 + 0) / 3)
    # one page without CLIP: block means still reported, CLIP and page score not
    partial = aggregate([a, page_scores(moved, _ref())])
    assert partial["n_clip"] == 1 and partial["clip"] is None and partial["score"] is None
    assert partial["position"] == approx(0.975)
    assert aggregate([])["score"] is None


def test_page_round_trip_and_validation() -> None:
    page = _ref()
    assert Page.from_dict(page.to_dict()) == page
    with pytest.raises(ValueError):
        Page(0, 100, [])
