"""Exact Hamming-radius search over 64-bit hashes without comparing all pairs, and duplicate grouping.

Multi-index hashing. The 64 bits are cut into ``m`` disjoint chunks. Write ``r = s*m + a`` with ``0 <= a < m``.
If two hashes differ in at most ``r`` bits, then one of the first ``a + 1`` chunks differs in at most ``s`` bits
or one of the other chunks differs in at most ``s - 1`` bits (otherwise the chunk distances would add up to at least
``(a+1)(s+1) + (m-a-1)s = r + 1``). So each chunk ``j`` gets a sub-radius ``s_j`` and:

* chunk values are sorted once per chunk (a CSR over a direct-address table of 2**bits entries for chunks of up to
  24 bits; sorted unique keys and ``searchsorted`` for wider chunks);
* the pairs whose chunk values are equal come from a self-join inside each bucket (each pair once);
* for every non-zero flip mask ``f`` of weight <= ``s_j``, the items whose chunk has a 0 at the top bit of ``f``
  look up bucket ``value ^ f`` (so each unordered pair is produced once, from one side);
* every candidate is verified with a popcount of the full 64-bit XOR; a pair found in chunk ``j`` is kept only if
  no earlier chunk ``j' < j`` also catches it (chunk distance <= ``s_j'``), so the output has no repeated pairs.

The result is exact: every pair within the radius is returned, each once, nothing else.

Choosing m (``choose_chunks``): for each m from 1 to r + 1 the cost ~ probes + 2 x candidates + a sort per chunk
+ the direct tables is estimated; the probe count is exact (binomial sums, halved by the top-bit rule), the
candidate count is measured on a sample of 1024 hashes (so crowded buckets of clustered data are priced as they
are). With r=10: m=4 (16-bit chunks, sub-radii 2,2,2,1) up to ~100 k hashes, m=3 (22/21/21 bits, sub-radii
3,3,2) from ~300 k, i.e. chunks of about log2(N) bits, the multi-index hashing rule of thumb. Probes run over
queries in sorted chunk order, one mask at a time, so reads of the tables sweep forward instead of jumping
around. Memory: probes and candidates go in blocks (~1 M keys, ~2 M candidates); nothing is N x N except the
output itself for large sets of identical hashes (``group_duplicates`` searches the distinct hashes only).

Default radius ``DEFAULT_RADIUS`` = 10, from ``tests/tasks/dedup/test_near_duplicates.py`` (150 shared charts and
screenshots + 30 transformed copies of each; recall = copies removed into their own original's group; full table
there):

    radius                                          6      8     10     12
    worst in-range recall (JPEG q10-95, scale      96.0   98.7   99.3   99.3
      25-150 %, aspect 80 %, crop 1-2 %, brightness
      -10 %, contrast +20 %, grey, box blur, noise)
    brightness +10 %                               92.0   94.0   96.0   96.7
    hue +30 deg                                    84.7   90.0   96.0   96.7
    rotate 1 / 2 / 5 deg                         91/74/33 93/88/45 95/95/60 97/97/73
    crop 5 % centred / 2 % one corner            54/83  71/93  86/99  93/99
    text watermark                                 78.7   88.0   92.7   95.3
    false merges (all 4650 items)                  0.02 % 0.06 % 0.13 % 0.34 %
    distinct originals absorbed by another one        0      0      0      2

The closest distinct originals are 12 bits apart, so 10 is the largest radius that merges none of them.
"""

from __future__ import annotations

from itertools import combinations
from math import comb, log2
from typing import NamedTuple

import numpy as np

DEFAULT_RADIUS = 10
DIRECT_MAX_BITS = 24
KEY_BUDGET = 1 << 20
CAND_BUDGET = 1 << 21
SAMPLE = 1024
# relative costs (one probe = 1), measured: first candidate of a bucket, further candidates, sort per item, table slot
_C_FIRST, _C_MORE, _C_SORT, _C_TABLE = 2.5, 7.0, 12.0, 0.3


class Pairs(NamedTuple):
    """Pairs ``i < j`` within the radius, sorted by (i, j); ``dist`` is their Hamming distance."""

    i: np.ndarray  # int64
    j: np.ndarray  # int64
    dist: np.ndarray  # uint8


class Groups(NamedTuple):
    representative: np.ndarray  # int64 (n,): index of the item kept for this item's group (itself if kept)
    distance: np.ndarray  # uint8 (n,): Hamming distance to the representative


def _popcount(x: np.ndarray) -> np.ndarray:
    return np.bitwise_count(x)


def chunk_layout(m: int, radius: int) -> list[tuple[int, int, int]]:
    """(shift, bits, sub-radius) per chunk: widths as equal as possible (wider first), sub-radii by pigeonhole."""
    base, extra = divmod(64, m)
    s, a = divmod(radius, m)
    layout, shift = [], 64
    for j in range(m):
        bits = base + (1 if j < extra else 0)
        shift -= bits
        layout.append((shift, bits, s if j <= a else s - 1))
    return layout


def _volume(bits: int, s: int) -> int:
    return sum(comb(bits, k) for k in range(s + 1)) if s >= 0 else 0


def _probe_cost(n: int, radius: int, m: int) -> float:
    """Cost of the probes, sorts and tables alone (a lower bound of the total)."""
    cost = 0.0
    for _, bits, s in chunk_layout(m, radius):
        if s >= 0:
            per_probe = 1.0 if bits <= DIRECT_MAX_BITS else max(1.0, log2(max(n, 2)))
            cost += n * ((_volume(bits, s) - 1) / 2 * per_probe + _C_SORT)
            cost += _C_TABLE * (1 << bits) if bits <= DIRECT_MAX_BITS else 0.0
    return cost


def _candidate_cost(n: int, radius: int, m: int, xor: np.ndarray) -> float:
    """Cost of verifying candidates, from the share of sample pairs that each chunk would propose.

    The first item of a bucket is checked without ragged expansion, the others cost more: with lam expected
    candidates per probe, about 1 - exp(-lam) of the probes find a non-empty bucket (Poisson occupancy).
    """
    k = len(xor)
    cost = 0.0
    for shift, bits, s in chunk_layout(m, radius):
        if s < 0:
            continue
        mask = np.uint64(((1 << bits) - 1) << shift)
        close = int(np.count_nonzero(_popcount(xor & mask) <= s)) - k  # off-diagonal ordered pairs
        candidates = close / max(k * (k - 1), 1) * n * (n - 1) / 2
        probes = n * max((_volume(bits, s) - 1) / 2, 0.5)
        found = probes * -np.expm1(-candidates / probes)
        cost += _C_FIRST * found + _C_MORE * (candidates - found)
    return cost


def choose_chunks(hashes: np.ndarray, radius: int) -> int:
    """The number of chunks m with the lowest estimated cost (see the module docstring)."""
    n = len(hashes)
    if n < 2 or radius == 0:
        return 1
    k = min(n, SAMPLE)
    idx = np.random.default_rng(0).choice(n, size=k, replace=False) if k < n else np.arange(n)
    sample = np.asarray(hashes, dtype=np.uint64)[idx]
    xor = sample[:, None] ^ sample[None, :]
    best_m, best = 1, float("inf")
    for m in sorted(range(1, min(radius + 1, 32) + 1), key=lambda m: _probe_cost(n, radius, m)):
        cost = _probe_cost(n, radius, m)
        if cost >= best:
            break  # the rest probe even more
        cost += _candidate_cost(n, radius, m, xor)
        if cost < best:
            best_m, best = m, cost
    return best_m


def _flip_masks(bits: int, s: int) -> dict[int, np.ndarray]:
    """Non-zero masks of weight <= s over ``bits`` bits, grouped by their top set bit."""
    groups: dict[int, np.ndarray] = {}
    if s < 1:
        return groups
    for top in range(bits):
        masks = [1 << top]
        for w in range(1, s):
            masks.extend((1 << top) | sum(1 << b for b in low) for low in combinations(range(top), w))
        groups[top] = np.array(masks, dtype=np.uint64).view(np.int64)  # 64-bit chunks wrap; XOR does not care
    return groups


class _Chunk:
    """Items sorted by one chunk's value, their hashes in that order, and bucket lookup for any key."""

    def __init__(self, h: np.ndarray, shift: int, bits: int):
        vals = ((h >> np.uint64(shift)) & np.uint64((1 << bits) - 1)).astype(np.int64)
        self.order = np.argsort(vals, kind="stable")
        self.vals = vals[self.order]
        self.hashes = h[self.order]
        self.direct = bits <= DIRECT_MAX_BITS
        if self.direct:
            self.counts = np.bincount(self.vals, minlength=1 << bits).astype(np.int32)
            self.starts = np.zeros(1 << bits, dtype=np.int32 if len(h) < 2**31 else np.int64)
            np.cumsum(self.counts[:-1], out=self.starts[1:])
            self.nonempty = self.counts > 0
        else:
            self.keys, first, counts = np.unique(self.vals, return_index=True, return_counts=True)
            self.starts, self.counts = first.astype(np.int64), counts.astype(np.int64)

    def bucket_end(self) -> np.ndarray:
        """For every sorted position, the end of its bucket."""
        n = len(self.vals)
        change = np.flatnonzero(self.vals[1:] != self.vals[:-1]) + 1
        ends = np.append(change, n)
        return np.repeat(ends, np.diff(np.concatenate(([0], ends))))

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(indices of the keys with a non-empty bucket, bucket starts, bucket sizes)."""
        if self.direct:
            hit = np.flatnonzero(self.nonempty[keys])
            k = keys[hit]
            return hit, self.starts[k], self.counts[k]
        pos = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        hit = np.flatnonzero(self.keys[pos] == keys)
        pos = pos[hit]
        return hit, self.starts[pos], self.counts[pos]


def _segments(length: np.ndarray):
    """Split ragged segments into slices of about CAND_BUDGET entries: yields (lo, hi) segment ranges."""
    cum = np.cumsum(length)
    lo = 0
    while lo < len(length):
        before = int(cum[lo - 1]) if lo else 0
        hi = max(int(np.searchsorted(cum, before + CAND_BUDGET, side="right")), lo + 1)
        yield lo, hi
        lo = hi


def radius_pairs(hashes: np.ndarray, radius: int, *, n_chunks: int | None = None) -> Pairs:
    """Every pair of hashes within ``radius`` bits (exact). Identical hashes pair with each other too."""
    h = np.ascontiguousarray(hashes, dtype=np.uint64)
    n = len(h)
    if radius < 0:
        raise ValueError("radius must be >= 0")
    radius = min(int(radius), 64)
    m = n_chunks or choose_chunks(h, radius)
    if not 1 <= m <= 32:
        raise ValueError("n_chunks must be between 1 and 32")
    layout = chunk_layout(m, radius)
    earlier = [(np.uint64(((1 << bits) - 1) << shift), s) for shift, bits, s in layout]
    out_i, out_j, out_d = [], [], []

    def emit(chunk: _Chunk, j: int, x: np.ndarray, qpos: np.ndarray, pos: np.ndarray) -> None:
        """Keep the candidates (sorted positions qpos vs pos, XOR x) within the radius and not caught earlier."""
        d = _popcount(x)
        keep = np.flatnonzero(d <= radius)
        for mask, s in earlier[:j]:
            if s >= 0:
                keep = keep[_popcount(x[keep] & mask) > s]
        a, b = chunk.order[qpos[keep]], chunk.order[pos[keep]]
        out_i.append(np.minimum(a, b))
        out_j.append(np.maximum(a, b))
        out_d.append(d[keep])

    def verify(chunk: _Chunk, j: int, qpos: np.ndarray, start: np.ndarray, length: np.ndarray) -> None:
        """Candidates: query at sorted position qpos[k] against sorted positions start[k] .. start[k]+length[k]."""
        # the first item of every bucket without any ragged expansion (most buckets hold one item when sparse)
        emit(chunk, j, chunk.hashes[qpos] ^ chunk.hashes[start], qpos, start)
        more = np.flatnonzero(length > 1)
        qpos, start, length = qpos[more], start[more] + 1, length[more] - 1
        for lo, hi in _segments(length):
            lens = length[lo:hi]
            cum = np.cumsum(lens)
            total = int(cum[-1])
            pos = np.repeat(start[lo:hi] - (cum - lens), lens) + np.arange(total)
            seg = np.repeat(np.arange(lo, hi), lens)
            emit(chunk, j, chunk.hashes[qpos[seg]] ^ chunk.hashes[pos], qpos[seg], pos)

    for j, (shift, bits, s) in enumerate(layout):
        if s < 0 or n < 2:
            continue
        chunk = _Chunk(h, shift, bits)
        # equal chunk values: each item against the later items of its own bucket
        pos = np.arange(n)
        length = chunk.bucket_end() - pos - 1
        has = np.flatnonzero(length > 0)
        verify(chunk, j, has, has + 1, length[has])
        # chunk values differing by a non-zero mask f: queried from the side with a 0 at f's top bit, in sorted
        # order and one mask at a time, so that the table reads sweep forward instead of jumping around
        for top, masks in _flip_masks(bits, s).items():
            queries = np.flatnonzero(((chunk.vals >> top) & 1) == 0)
            step = max(1, KEY_BUDGET // len(masks))
            for lo in range(0, len(queries), step):
                q = queries[lo : lo + step]
                keys = (masks[:, None] ^ chunk.vals[q][None, :]).reshape(-1)
                hit, start, length = chunk.lookup(keys)
                verify(chunk, j, q[hit % len(q)], start, length)
        del chunk

    if not out_i:
        empty = np.zeros(0, dtype=np.int64)
        return Pairs(empty, empty.copy(), np.zeros(0, dtype=np.uint8))
    i, jj, d = np.concatenate(out_i), np.concatenate(out_j), np.concatenate(out_d)
    order = np.lexsort((jj, i))
    return Pairs(i[order].astype(np.int64), jj[order].astype(np.int64), d[order].astype(np.uint8))


def group_duplicates(hashes: np.ndarray, radius: int = DEFAULT_RADIUS, priority: np.ndarray | None = None) -> Groups:
    """One representative per group of near-duplicate hashes (deterministic).

    Items with identical hashes always share a group; the rest works on the distinct hashes, each standing for its
    highest-priority item. Leaders are chosen greedily in priority order: a hash becomes a representative unless a
    higher-priority representative lies within ``radius``. Every other hash then joins the nearest representative
    within ``radius`` (ties: the higher priority). So each member is within ``radius`` of its representative, a
    group's diameter is at most 2 x radius (groups cannot chain across the set), the representatives are exactly
    those of plain leader clustering, and a copy is not captured by an earlier, farther representative when its own
    original is a representative too. ``priority``: higher is kept first (default: earlier items first); ties go to
    the lower index.
    """
    h = np.asarray(hashes, dtype=np.uint64)
    n = len(h)
    if n == 0:
        return Groups(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint8))
    prio = -np.arange(n, dtype=np.float64) if priority is None else np.asarray(priority, dtype=np.float64)
    rank_order = np.lexsort((np.arange(n), -prio))  # items, best first
    uniq, node = np.unique(h, return_inverse=True)
    node = node.reshape(-1)
    u = len(uniq)
    _, first = np.unique(node[rank_order], return_index=True)  # first appearance of each node in rank order
    node_best = rank_order[first]  # the best item of each distinct hash
    node_rank = first  # smaller = higher priority

    pairs = radius_pairs(uniq, radius)
    leader = np.arange(u)
    if len(pairs.i):
        src = np.concatenate([pairs.i, pairs.j])
        dst = np.concatenate([pairs.j, pairs.i])
        dist = np.concatenate([pairs.dist, pairs.dist])
        # phase 1: representatives, in priority order
        by_src = np.argsort(src, kind="stable")
        indptr = np.zeros(u + 1, dtype=np.int64)
        np.cumsum(np.bincount(src, minlength=u), out=indptr[1:])
        connected = np.flatnonzero(indptr[1:] > indptr[:-1])
        connected = connected[np.argsort(node_rank[connected], kind="stable")]
        ptr, nbrs = indptr.tolist(), dst[by_src].tolist()
        covered = bytearray(u)
        is_leader = np.zeros(u, dtype=bool)
        for v in connected.tolist():
            if covered[v]:
                continue
            is_leader[v] = True
            for w in nbrs[ptr[v] : ptr[v + 1]]:
                covered[w] = 1
        # phase 2: every other hash joins its nearest representative (ties: higher priority)
        edge = np.flatnonzero(~is_leader[src] & is_leader[dst])
        member, rep, d = src[edge], dst[edge], dist[edge]
        best = np.lexsort((node_rank[rep], d, member))
        member, rep = member[best], rep[best]
        head = np.ones(len(member), dtype=bool)
        head[1:] = member[1:] != member[:-1]
        leader[member[head]] = rep[head]
    rep_item = node_best[leader[node]].astype(np.int64)
    return Groups(rep_item, _popcount(h ^ h[rep_item]).astype(np.uint8))
