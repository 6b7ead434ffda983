"""Which rows train a domain's specialist and which get drafts: the drafts stage's decision.

Paper §3.2.2: a specialist trained on one domain writes first-pass code for a sample that does not overlap its
training rows; for SVG the drafts come from the specialist's own training subset. Rows are ordered by a seeded
hash of their id (stable across shards, workers and runs), and per domain:

    disjoint     the first `train_fraction` train the specialist ("train"), the rest may get drafts ("draft")
    own_subset   every row trains the specialist; the first `max_drafts` of them also get drafts ("train_draft")
    checkpoint   a given specialist: rows it was trained on (its train_ids.parquet) are never drafted, except
                 in own_subset domains, where only they are

Only rows of `split`, with an image and code, of task=direct, take part.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from typing import Any

import pyarrow as pa

TRAIN, DRAFT, TRAIN_DRAFT = "train", "draft", "train_draft"
DRAFTED = (DRAFT, TRAIN_DRAFT)
TRAINS = (TRAIN, TRAIN_DRAFT)

SURVEY_FIELDS = [
    ("shard", pa.int32()),
    ("row", pa.int32()),
    ("id", pa.string()),
    ("domain", pa.string()),
    ("eligible", pa.bool_()),
]
DECISION_FIELDS = [*SURVEY_FIELDS[:4], ("role", pa.string())]


def order_key(row_id: str, seed: int) -> bytes:
    return hashlib.blake2b(f"{seed}\x1f{row_id}".encode(), digest_size=8).digest()


def assign_roles(
    survey: pa.Table,
    domains: dict[str, dict[str, Any]],
    *,
    train_fraction: float,
    max_drafts: int | None,
    seed: int,
) -> pa.Table:
    """The decision table (shard, row, id, domain, role); `domains` maps each specialist's domain to
    {"own_subset": bool, "checkpoint": bool, "trained_ids": set | None} (a given checkpoint's training rows)."""
    rows = survey.to_pylist()
    candidates: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        if r["eligible"] and r["domain"] in domains:
            candidates[r["domain"]].append(i)
    roles: list[str | None] = [None] * len(rows)
    for domain, idx in candidates.items():
        idx.sort(key=lambda i: order_key(rows[i]["id"], seed))
        rule = domains[domain]
        if rule.get("checkpoint"):  # a given specialist: draft around (own_subset: inside) the rows it saw
            trained = rule.get("trained_ids")
            if trained is None:  # no record of its training rows: drafted unchecked (the manifest says so)
                pool = idx
            elif rule.get("own_subset"):
                pool = [i for i in idx if rows[i]["id"] in trained]
            else:
                pool = [i for i in idx if rows[i]["id"] not in trained]
            for i in pool[:max_drafts]:
                roles[i] = DRAFT
        elif rule.get("own_subset"):
            for k, i in enumerate(idx):
                roles[i] = TRAIN_DRAFT if max_drafts is None or k < max_drafts else TRAIN
        else:
            n_train = round(len(idx) * train_fraction)
            n_train = min(max(n_train, 1), len(idx) - 1) if len(idx) > 1 else len(idx)
            for i in idx[:n_train]:
                roles[i] = TRAIN
            for i in idx[n_train:][:max_drafts]:
                roles[i] = DRAFT
    return pa.table(
        {
            "shard": survey.column("shard"),
            "row": survey.column("row"),
            "id": survey.column("id"),
            "domain": survey.column("domain"),
            "role": pa.array(roles, pa.string()),
        },
        schema=pa.schema(DECISION_FIELDS),
    )
