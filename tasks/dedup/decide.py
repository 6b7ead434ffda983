"""The dedup decision over every shard's survey: duplicate groups, clusters and the diverse subset.

Input: one row per upstream row (`shard`, `row`, `id`, `source`, `area`, `eligible`, `drop`, `detail`, `phash`,
`features`). Output: the same keys with `dup_group` (id of the kept representative), `dup_distance`, `cluster`,
and `reason` / `detail` for rows that are dropped (null `reason` = kept).

Order of the rules: rows dropped on their own (`render_failed`, `no_image`, `bad_image`) first; then duplicates,
where a group keeps its best row (larger image first, then smallest id) and the others are `exact_duplicate`
(same hash) or `near_duplicate` (within the radius); then, among representatives, clusters for all and, when a
sample size is set, `not_sampled` for those outside the diverse subset.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

DECISION_FIELDS = [
    ("shard", pa.int32()),
    ("row", pa.int32()),
    ("phash", pa.uint64()),
    ("dup_group", pa.string()),
    ("dup_distance", pa.int32()),
    ("cluster", pa.int32()),
    ("reason", pa.string()),
    ("detail", pa.string()),
]


def priority(ids: np.ndarray, area: np.ndarray) -> np.ndarray:
    """Rank of every row as a group's representative (higher keeps first): larger image, then smaller id."""
    order = np.lexsort((ids, -area))  # best first
    rank = np.empty(len(ids), dtype=np.float64)
    rank[order] = np.arange(len(ids), 0, -1, dtype=np.float64)
    return rank


def decide(survey: pa.Table, config: Any) -> pa.Table:
    from tasks.dedup.neighbors import group_duplicates

    n = survey.num_rows
    ids = np.asarray(survey.column("id").to_pylist(), dtype=object)
    reason = np.asarray(survey.column("drop").to_pylist(), dtype=object)
    detail = np.asarray(survey.column("detail").to_pylist(), dtype=object)
    dup_group = np.full(n, None, dtype=object)
    dup_distance = np.full(n, None, dtype=object)
    cluster = np.full(n, None, dtype=object)
    phash = survey.column("phash").to_pylist()

    live = np.flatnonzero(np.asarray(survey.column("eligible").to_pylist(), dtype=bool))
    if len(live):
        hashes = np.asarray([phash[i] for i in live], dtype=np.uint64)
        area = np.asarray(survey.column("area").to_numpy(zero_copy_only=False)[live], dtype=np.int64)
        groups = group_duplicates(hashes, config.radius, priority(ids[live].astype(str), area))
        rep = live[groups.representative]
        dup_group[live] = ids[rep]
        dup_distance[live] = groups.distance.astype(int)
        for k in np.flatnonzero(rep != live):
            i, d = live[k], int(groups.distance[k])
            reason[i] = "exact_duplicate" if d == 0 else "near_duplicate"
            detail[i] = f"{d} bits from {ids[rep[k]]}"

        kept = live[rep == live]
        features = np.stack([survey.column("features")[int(i)].as_py() for i in kept]).astype(np.float32)
        _choose(survey, config.sample, kept, features, reason, detail, cluster)
        cluster[live] = cluster[rep]  # a duplicate carries its representative's cluster

    return pa.table(
        {
            "shard": survey.column("shard"),
            "row": survey.column("row"),
            "phash": survey.column("phash"),
            "dup_group": list(dup_group),
            "dup_distance": list(dup_distance),
            "cluster": list(cluster),
            "reason": list(reason),
            "detail": list(detail),
        },
        schema=pa.schema(DECISION_FIELDS),
    )


def _choose(survey, sample, kept, features, reason, detail, cluster) -> None:
    """Clusters for every representative; the diverse subset among those in the sample's sources.

    With `sample.sources`, rows of other sources are clustered on their own and their cluster ids follow those
    of the sampled rows (so an id never names two different clusters)."""
    from tasks.dedup.diverse import diverse_sample
    from tasks.dedup.phash import FEATURE_WEIGHTS

    sources = np.asarray(survey.column("source").to_pylist(), dtype=object)[kept]
    scope = np.ones(len(kept), dtype=bool) if not sample.sources else np.isin(sources, sample.sources)
    options = {"n_clusters": sample.clusters, "seed": sample.seed, "weights": FEATURE_WEIGHTS}
    offset = 0
    if scope.any():
        chosen = diverse_sample(features[scope], sample.size, **options)
        cluster[kept[scope]] = chosen.cluster.astype(int)
        offset = int(chosen.cluster.max()) + 1
        for i in kept[scope][~chosen.selected]:
            reason[i] = "not_sampled"
            detail[i] = f"cluster {cluster[i]}: {sample.size} of {int(scope.sum())} rows sampled"
    if (~scope).any():
        rest = diverse_sample(features[~scope], None, **options)
        cluster[kept[~scope]] = rest.cluster.astype(int) + offset
