"""Multi-index radius search against brute force; duplicate grouping rules."""

from __future__ import annotations

import numpy as np
import pytest

from tasks.dedup import neighbors
from tasks.dedup.neighbors import choose_chunks, chunk_layout, group_duplicates, radius_pairs
from tasks.dedup.phash import hamming

BITS = np.uint64(1) << np.arange(64, dtype=np.uint64)


def random_hashes(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 2**64 - 1, n, dtype=np.uint64, endpoint=True)


def flip_random_bits(h: np.ndarray, max_flips: int, rng: np.random.Generator) -> np.ndarray:
    """Each hash with 0..max_flips distinct random bits flipped."""
    k = rng.integers(0, max_flips + 1, len(h))
    chosen = rng.random((len(h), 64)).argsort(axis=1) < k[:, None]
    return h ^ np.bitwise_or.reduce(np.where(chosen, BITS, np.uint64(0)), axis=1)


def clustered_hashes(n: int, rng: np.random.Generator, spread: int = 8) -> np.ndarray:
    """Many near copies: n/15 centres, every hash a centre with up to ``spread`` bits flipped, some exact repeats."""
    centres = random_hashes(max(1, n // 15), rng)
    h = flip_random_bits(centres[rng.integers(0, len(centres), n)], spread, rng)
    h[: n // 20] = h[n // 20 : 2 * (n // 20)]
    return h


def brute_force(h: np.ndarray, radius: int) -> set[tuple[int, int]]:
    d = hamming(h[:, None], h[None, :])
    i, j = np.nonzero(np.triu(d <= radius, 1))
    return set(zip(i.tolist(), j.tolist(), strict=True))


def check_exact(h: np.ndarray, radius: int, **kwargs) -> None:
    pairs = radius_pairs(h, radius, **kwargs)
    got = list(zip(pairs.i.tolist(), pairs.j.tolist(), strict=True))
    assert len(got) == len(set(got)), "a pair was returned twice"
    assert set(got) == brute_force(h, radius)
    assert (pairs.i < pairs.j).all()
    assert np.array_equal(pairs.dist, hamming(h[pairs.i], h[pairs.j]))
    assert got == sorted(got)


@pytest.mark.parametrize("radius", range(13))
@pytest.mark.parametrize("kind", ["random", "clustered"])
def test_exact_against_brute_force(kind, radius):
    rng = np.random.default_rng(100 * radius + len(kind))
    h = random_hashes(1500, rng) if kind == "random" else clustered_hashes(1500, rng)
    check_exact(h, radius)


@pytest.mark.parametrize(("radius", "m"), [(0, 1), (1, 1), (2, 2), (3, 2), (4, 3), (5, 3), (6, 4), (9, 4), (12, 5)])
def test_exact_for_forced_chunk_counts(radius, m):
    """Every layout is exact, including wide chunks (searchsorted tables) and uneven sub-radii."""
    rng = np.random.default_rng(radius * 7 + m)
    check_exact(clustered_hashes(800, rng, spread=radius + 2), radius, n_chunks=m)


def test_small_blocks_and_sorted_tables(monkeypatch):
    """Tiny probe / candidate blocks and the searchsorted path give the same pairs."""
    rng = np.random.default_rng(3)
    h = clustered_hashes(1200, rng)
    expected = radius_pairs(h, 7)
    monkeypatch.setattr(neighbors, "KEY_BUDGET", 97)
    monkeypatch.setattr(neighbors, "CAND_BUDGET", 53)
    monkeypatch.setattr(neighbors, "DIRECT_MAX_BITS", 8)
    for m in (2, 3, 4):
        got = radius_pairs(h, 7, n_chunks=m)
        assert np.array_equal(got.i, expected.i) and np.array_equal(got.j, expected.j)


def test_pigeonhole_layout():
    """Sub-radii add up so that a pair at distance r + 1 could escape every chunk, and none at distance r can."""
    for m in range(1, 14):
        for r in range(m - 1, 20):
            layout = chunk_layout(m, r)
            assert sum(bits for _, bits, _ in layout) == 64
            assert sum(s + 1 for _, _, s in layout) == r + 1
            assert all(bits > 0 and shift >= 0 for shift, bits, _ in layout)


def test_edge_cases():
    empty = radius_pairs(np.zeros(0, dtype=np.uint64), 5)
    assert len(empty.i) == 0 and empty.i.dtype == np.int64
    assert len(radius_pairs(np.array([7], dtype=np.uint64), 5).i) == 0
    same = radius_pairs(np.full(30, 12345, dtype=np.uint64), 0)
    assert len(same.i) == 30 * 29 // 2 and (same.dist == 0).all()
    h = random_hashes(40, np.random.default_rng(0))
    assert len(radius_pairs(h, 64).i) == 40 * 39 // 2
    with pytest.raises(ValueError):
        radius_pairs(h, -1)
    with pytest.raises(ValueError):
        radius_pairs(h, 3, n_chunks=40)


def test_chunk_choice_grows_with_n():
    rng = np.random.default_rng(0)
    assert choose_chunks(random_hashes(300_000, rng), 10) == 3
    assert choose_chunks(random_hashes(20_000, rng), 10) >= 4
    assert choose_chunks(random_hashes(100, rng), 0) == 1


def naive_groups(h: np.ndarray, radius: int, priority: np.ndarray) -> np.ndarray:
    """The documented rule, item by item, O(n^2)."""
    n = len(h)
    d = hamming(h[:, None], h[None, :])
    order = np.lexsort((np.arange(n), -priority))
    leaders: list[int] = []
    for i in order:
        if not any(d[i, lead] <= radius for lead in leaders):
            leaders.append(int(i))
    rank = {lead: k for k, lead in enumerate(leaders)}
    return np.array(
        [min((x for x in leaders if d[i, x] <= radius), key=lambda x: (d[i, x], rank[x])) for i in range(n)]
    )


@pytest.mark.parametrize("seed", range(6))
def test_grouping_matches_the_rule(seed):
    rng = np.random.default_rng(seed)
    h = clustered_hashes(300, rng, spread=4)
    priority = rng.integers(0, 4, len(h)).astype(float)  # many ties: broken by index
    radius = int(rng.integers(0, 7))
    groups = group_duplicates(h, radius, priority)
    assert np.array_equal(groups.representative, naive_groups(h, radius, priority))
    assert np.array_equal(groups.distance, hamming(h, h[groups.representative]))


def test_grouping_properties():
    rng = np.random.default_rng(11)
    h = clustered_hashes(3000, rng, spread=6)
    priority = rng.random(len(h))
    radius = 5
    g = group_duplicates(h, radius, priority)
    rep = g.representative
    assert (rep[rep] == rep).all(), "representatives represent themselves"
    assert (g.distance <= radius).all()
    _, inverse = np.unique(h, return_inverse=True)
    for value in np.unique(inverse):  # identical hashes share a group, led by their best item or another hash
        members = np.flatnonzero(inverse == value)
        assert len(set(rep[members].tolist())) == 1
    leaders = np.unique(rep)
    between = hamming(h[leaders][:, None], h[leaders][None, :])
    np.fill_diagonal(between, 99)
    assert (between > radius).all(), "no representative lies within the radius of another"
    for lead in leaders[:50]:
        members = np.flatnonzero(rep == lead)
        assert hamming(h[members][:, None], h[members][None, :]).max() <= 2 * radius
    dropped = np.flatnonzero(rep != np.arange(len(h)))
    near = hamming(h[dropped][:, None], h[leaders][None, :]) <= radius
    best_near = np.where(near, priority[leaders][None, :], -1.0).max(axis=1)
    assert (best_near >= priority[dropped]).all(), "an item is dropped only for a representative it does not outrank"
    again = group_duplicates(h, radius, priority)
    assert np.array_equal(again.representative, rep)


def test_groups_do_not_chain():
    """A path of hashes one bit apart: radius 1 must not put the whole path in one group."""
    path = np.array([(1 << k) - 1 for k in range(20)], dtype=np.uint64)  # 0, 1, 11, 111, ...
    g = group_duplicates(path, 1)
    assert len(np.unique(g.representative)) == 10
    assert (g.distance <= 1).all()


def test_exact_duplicates_and_default_priority():
    h = np.array([5, 9, 5, 5, 2**63, 9], dtype=np.uint64)
    g = group_duplicates(h, 0)
    assert g.representative.tolist() == [0, 1, 0, 0, 4, 1]
    prio = np.array([0, 0, 0, 3, 0, 0], dtype=float)
    assert group_duplicates(h, 0, prio).representative.tolist() == [3, 1, 3, 3, 4, 1]
    assert len(group_duplicates(np.zeros(0, dtype=np.uint64)).representative) == 0
