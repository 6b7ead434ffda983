"""Diverse subset: quotas by water-filling, nearest-to-centre first, determinism, clusters-only."""

from __future__ import annotations

import numpy as np
import pytest

from tasks.dedup.diverse import default_clusters, diverse_sample, quotas
from tasks.dedup.phash import FEATURE_DIM, FEATURE_WEIGHTS


def blobs(n: int, centres: int, dim: int = 8, seed: int = 0, sizes: np.ndarray | None = None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    means = rng.normal(0, 10, (centres, dim))
    which = rng.integers(0, centres, n) if sizes is None else np.repeat(np.arange(centres), sizes)
    scale = rng.uniform(1, 1000, dim)  # columns in very different units: standardisation has to even them out
    return ((means[which] + rng.normal(0, 1, (len(which), dim))) * scale).astype(np.float32)


def test_quotas_water_filling():
    assert quotas(np.array([100, 100, 100]), 30).tolist() == [10, 10, 10]
    assert quotas(np.array([2, 100, 50, 1]), 40).tolist() == [2, 19, 18, 1]  # leftovers go to the largest
    assert quotas(np.array([5, 5]), 100).tolist() == [5, 5]
    assert quotas(np.array([3, 0, 7]), 0).tolist() == [0, 0, 0]
    q = quotas(np.array([7, 300, 12, 45, 1, 80]), 100)
    assert q.sum() == 100 and q.max() - q[q < np.array([7, 300, 12, 45, 1, 80])].min() <= 1


def test_spread_and_nearest_first():
    sizes = np.array([400, 200, 60, 20, 10])
    x = blobs(int(sizes.sum()), 5, sizes=sizes)
    sel = diverse_sample(x, 100, n_clusters=5, seed=1)
    assert sel.selected.sum() == 100
    assert sel.cluster.dtype == np.int32 and sel.distance.dtype == np.float32
    per_cluster = np.bincount(sel.cluster[sel.selected], minlength=5)
    sizes_found = np.bincount(sel.cluster, minlength=5)
    assert sorted(sizes_found.tolist()) == sorted(sizes.tolist())  # well-separated blobs are found exactly
    assert per_cluster.tolist() == quotas(sizes_found, 100).tolist()
    for c in range(5):  # inside a cluster: the nearest to the centre are taken
        members = np.flatnonzero(sel.cluster == c)
        taken, left = sel.distance[members][sel.selected[members]], sel.distance[members][~sel.selected[members]]
        assert len(left) == 0 or taken.max() <= left.min()


def test_deterministic_with_seed():
    x = blobs(3000, 12, seed=4)
    a = diverse_sample(x, 200, seed=7)
    b = diverse_sample(x, 200, seed=7)
    assert np.array_equal(a.selected, b.selected) and np.array_equal(a.cluster, b.cluster)
    assert np.array_equal(a.distance, b.distance)


def test_sizes_and_clusters_only():
    x = blobs(500, 4, seed=2)
    everything = diverse_sample(x, 500)
    assert everything.selected.all() and len(np.unique(everything.cluster)) > 1
    assert diverse_sample(x, 10_000).selected.all()
    assert not diverse_sample(x, 0, n_clusters=4).selected.any()
    labelled = diverse_sample(x, None)
    assert labelled.selected.all() and labelled.cluster.max() + 1 == default_clusters(500)
    forced = diverse_sample(x, 40, clusters_only=True, n_clusters=6)
    assert forced.selected.all() and forced.cluster.max() < 6
    empty = diverse_sample(np.zeros((0, 3), dtype=np.float32), 5)
    assert empty.selected.shape == (0,) and empty.cluster.shape == (0,)
    one = diverse_sample(np.ones((1, 3), dtype=np.float32), 1)
    assert one.selected.tolist() == [True] and one.cluster.tolist() == [0]


def test_default_cluster_count():
    assert default_clusters(10_000, 10) == 10  # one pick per cluster for small subsets
    assert default_clusters(10_000, 5000) == 100
    assert default_clusters(1_600_000, 100_000) == 1265
    assert default_clusters(10**9, 10**7) == 4096
    assert default_clusters(1) == 1 and default_clusters(3, 0) == 1


def test_small_sample_takes_one_per_cluster():
    x = blobs(2000, 10, seed=9)
    sel = diverse_sample(x, 10)
    assert np.bincount(sel.cluster[sel.selected], minlength=10).tolist() == [1] * 10


def test_weights_shift_the_clusters():
    rng = np.random.default_rng(5)
    x = np.column_stack([rng.integers(0, 2, 600) * 10.0, rng.normal(0, 1, 600), rng.normal(0, 1, 600)])
    only_first = diverse_sample(x, None, n_clusters=2, weights=np.array([1.0, 0.0, 0.0]))
    first = x[:, 0] > 5
    assert len(np.unique(only_first.cluster[first])) == 1 and len(np.unique(only_first.cluster[~first])) == 1
    assert FEATURE_WEIGHTS.shape == (FEATURE_DIM,)


def test_phash_features_cluster_by_kind():
    """Features from phash_batch separate flat colour images from striped ones."""
    import io

    from PIL import Image

    from tasks.dedup.phash import phash_batch

    rng = np.random.default_rng(0)
    blobs_ = []
    for k in range(40):
        if k % 2:
            a = np.full((60, 80, 3), rng.integers(180, 256, 3), dtype=np.uint8)
        else:
            a = np.zeros((60, 80, 3), dtype=np.uint8)
            a[:, :: int(rng.integers(4, 9))] = rng.integers(0, 256, 3)
        buf = io.BytesIO()
        Image.fromarray(a).save(buf, "PNG")
        blobs_.append(buf.getvalue())
    f = phash_batch(blobs_).features
    sel = diverse_sample(f, 2, n_clusters=2, weights=FEATURE_WEIGHTS)
    kinds = np.arange(40) % 2
    assert {int(kinds[i]) for i in np.flatnonzero(sel.selected)} == {0, 1}


@pytest.mark.parametrize("bad", [np.zeros((5, 3)), np.ones((5, 3))])
def test_constant_features(bad):
    sel = diverse_sample(bad, 2, n_clusters=1)
    assert sel.selected.sum() == 2 and (sel.cluster == 0).all()
