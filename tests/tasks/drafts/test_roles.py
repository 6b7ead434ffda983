"""The drafts stage's decision: train / draft / train_draft roles per domain, stable under row order and shards."""

from __future__ import annotations

import random
from collections import Counter

import pyarrow as pa
import pytest

from tasks.drafts.roles import DECISION_FIELDS, DRAFT, SURVEY_FIELDS, TRAIN, TRAIN_DRAFT, assign_roles

DISJOINT = {"own_subset": False, "checkpoint": False, "trained_ids": None}
OWN = {"own_subset": True, "checkpoint": False, "trained_ids": None}


def survey(rows: list[dict], shards: int = 3) -> pa.Table:
    """rows: dicts with id, domain and (optionally) eligible; shard/row numbers from the list order."""
    per = max(1, -(-len(rows) // shards))
    return pa.table(
        {
            "shard": [i // per for i in range(len(rows))],
            "row": [i % per for i in range(len(rows))],
            "id": [r["id"] for r in rows],
            "domain": [r["domain"] for r in rows],
            "eligible": [r.get("eligible", True) for r in rows],
        },
        schema=pa.schema(SURVEY_FIELDS),
    )


def domain_rows(domain: str, n: int, prefix: str | None = None) -> list[dict]:
    return [{"id": f"{prefix or domain}-{i:05d}", "domain": domain} for i in range(n)]


def roles_by_id(decision: pa.Table) -> dict[str, str | None]:
    return dict(zip(decision.column("id").to_pylist(), decision.column("role").to_pylist(), strict=True))


def ids_with(decision: pa.Table, role: str) -> set[str]:
    return {i for i, r in roles_by_id(decision).items() if r == role}


def test_decision_schema_and_columns_pass_through():
    table = survey(domain_rows("chart", 10), shards=2)
    out = assign_roles(table, {"chart": DISJOINT}, train_fraction=0.5, max_drafts=None, seed=0)
    assert out.schema == pa.schema(DECISION_FIELDS)
    for name in ("shard", "row", "id", "domain"):
        assert out.column(name).to_pylist() == table.column(name).to_pylist()


@pytest.mark.parametrize(("n", "fraction"), [(1000, 0.7), (400, 0.25), (37, 0.5), (10, 0.9)])
def test_disjoint_split_fraction_and_disjointness(n, fraction):
    out = assign_roles(
        survey(domain_rows("chart", n)), {"chart": DISJOINT}, train_fraction=fraction, max_drafts=None, seed=3
    )
    counts = Counter(out.column("role").to_pylist())
    assert set(counts) == {TRAIN, DRAFT}
    assert counts[TRAIN] == round(n * fraction)
    assert counts[TRAIN] + counts[DRAFT] == n
    assert ids_with(out, TRAIN).isdisjoint(ids_with(out, DRAFT))


@pytest.mark.parametrize("fraction", [0.0, 0.01, 0.99, 1.0])
def test_disjoint_keeps_at_least_one_train_and_one_draft(fraction):
    for n in (2, 3, 7):
        out = assign_roles(
            survey(domain_rows("web", n)), {"web": DISJOINT}, train_fraction=fraction, max_drafts=None, seed=1
        )
        counts = Counter(out.column("role").to_pylist())
        assert counts[TRAIN] >= 1 and counts[DRAFT] >= 1, (n, fraction, counts)
        assert counts[TRAIN] + counts[DRAFT] == n


def test_single_row_domain_only_trains():
    for fraction in (0.0, 0.5, 1.0):
        out = assign_roles(
            survey(domain_rows("svg", 1)), {"svg": DISJOINT}, train_fraction=fraction, max_drafts=5, seed=0
        )
        assert out.column("role").to_pylist() == [TRAIN]


@pytest.mark.parametrize("max_drafts", [0, 1, 17])
def test_max_drafts_caps_drafts_not_train(max_drafts):
    out = assign_roles(
        survey(domain_rows("chart", 200)), {"chart": DISJOINT}, train_fraction=0.6, max_drafts=max_drafts, seed=0
    )
    counts = Counter(out.column("role").to_pylist())
    assert counts[TRAIN] == 120
    assert counts[DRAFT] == max_drafts
    assert counts[None] == 80 - max_drafts
    unlimited = roles_by_id(
        assign_roles(
            survey(domain_rows("chart", 200)), {"chart": DISJOINT}, train_fraction=0.6, max_drafts=None, seed=0
        )
    )
    # the capped drafts are a subset of the uncapped ones: same order, just cut
    assert ids_with(out, DRAFT) <= {i for i, r in unlimited.items() if r == DRAFT}


def test_ineligible_rows_and_other_domains_get_no_role():
    rows = domain_rows("chart", 50) + domain_rows("latex", 30) + domain_rows("science", 20)
    for r in rows[::5]:
        r["eligible"] = False
    out = assign_roles(
        survey(rows), {"chart": DISJOINT, "latex": DISJOINT}, train_fraction=0.5, max_drafts=None, seed=0
    )
    roles = roles_by_id(out)
    for r in rows:
        if not r.get("eligible", True) or r["domain"] == "science":
            assert roles[r["id"]] is None
        else:
            assert roles[r["id"]] in (TRAIN, DRAFT)
    # the fraction is taken over the eligible rows of each domain separately
    per_domain = Counter(zip(out.column("domain").to_pylist(), out.column("role").to_pylist(), strict=True))
    assert per_domain["chart", TRAIN] == 20 and per_domain["chart", DRAFT] == 20
    assert per_domain["latex", TRAIN] == 12 and per_domain["latex", DRAFT] == 12


def test_independent_of_row_order_and_shard_split():
    rows = domain_rows("chart", 300) + domain_rows("svg", 120) + domain_rows("web", 80)
    rows[7]["eligible"] = False
    domains = {"chart": DISJOINT, "svg": OWN, "web": DISJOINT}
    kwargs = {"train_fraction": 0.4, "max_drafts": 25, "seed": 11}
    base = roles_by_id(assign_roles(survey(rows, shards=1), domains, **kwargs))
    rng = random.Random(0)
    for shards in (2, 5, 13):
        shuffled = rows[:]
        rng.shuffle(shuffled)
        assert roles_by_id(assign_roles(survey(shuffled, shards=shards), domains, **kwargs)) == base


def test_seed_changes_the_split_but_not_its_size():
    table = survey(domain_rows("chart", 200))
    splits = []
    for seed in (0, 1, 2):
        out = assign_roles(table, {"chart": DISJOINT}, train_fraction=0.5, max_drafts=None, seed=seed)
        splits.append(frozenset(ids_with(out, TRAIN)))
        assert len(splits[-1]) == 100
    assert len(set(splits)) == 3
    again = assign_roles(table, {"chart": DISJOINT}, train_fraction=0.5, max_drafts=None, seed=1)
    assert ids_with(again, TRAIN) == splits[1]


@pytest.mark.parametrize("max_drafts", [None, 0, 10, 500])
def test_own_subset_trains_everything_and_drafts_a_prefix(max_drafts):
    rows = domain_rows("svg", 100)
    table = survey(rows)
    out = assign_roles(table, {"svg": OWN}, train_fraction=0.3, max_drafts=max_drafts, seed=4)
    counts = Counter(out.column("role").to_pylist())
    expected = 100 if max_drafts is None else min(max_drafts, 100)
    assert counts[TRAIN_DRAFT] == expected
    assert counts[TRAIN] == 100 - expected
    # the drafted rows are the first of the seeded order, i.e. the ones a bigger cap also drafts
    bigger_cap = None if max_drafts is None else max_drafts + 5
    bigger = assign_roles(table, {"svg": OWN}, train_fraction=0.3, max_drafts=bigger_cap, seed=4)
    assert ids_with(out, TRAIN_DRAFT) <= ids_with(bigger, TRAIN_DRAFT)


def test_own_subset_drafts_match_disjoint_order():
    """Both rules walk the same seeded order: own_subset's drafts are the head of the order, disjoint's train."""
    table = survey(domain_rows("svg", 60))
    own = assign_roles(table, {"svg": OWN}, train_fraction=0.5, max_drafts=30, seed=9)
    disjoint = assign_roles(table, {"svg": DISJOINT}, train_fraction=0.5, max_drafts=None, seed=9)
    assert ids_with(own, TRAIN_DRAFT) == ids_with(disjoint, TRAIN)


def test_given_checkpoint_disjoint_never_drafts_its_training_rows():
    rows = domain_rows("chart", 100)
    trained = {r["id"] for r in rows[::3]}
    rule = {"own_subset": False, "checkpoint": True, "trained_ids": trained}
    out = assign_roles(survey(rows), {"chart": rule}, train_fraction=0.5, max_drafts=None, seed=0)
    roles = roles_by_id(out)
    assert ids_with(out, DRAFT) == {r["id"] for r in rows} - trained
    assert all(roles[i] is None for i in trained)
    assert TRAIN not in roles.values() and TRAIN_DRAFT not in roles.values()
    capped = assign_roles(survey(rows), {"chart": rule}, train_fraction=0.5, max_drafts=10, seed=0)
    assert len(ids_with(capped, DRAFT)) == 10 and ids_with(capped, DRAFT).isdisjoint(trained)


def test_given_checkpoint_own_subset_drafts_only_its_training_rows():
    rows = domain_rows("svg", 100)
    trained = {r["id"] for r in rows[:40]} | {"svg-not-in-survey"}
    rule = {"own_subset": True, "checkpoint": True, "trained_ids": trained}
    out = assign_roles(survey(rows), {"svg": rule}, train_fraction=0.5, max_drafts=None, seed=0)
    assert ids_with(out, DRAFT) == {r["id"] for r in rows[:40]}
    assert Counter(out.column("role").to_pylist()) == {DRAFT: 40, None: 60}
    capped = assign_roles(survey(rows), {"svg": rule}, train_fraction=0.5, max_drafts=7, seed=0)
    assert len(ids_with(capped, DRAFT)) == 7 and ids_with(capped, DRAFT) <= trained


@pytest.mark.parametrize("own_subset", [False, True])
def test_given_checkpoint_without_training_record_drafts_all_candidates(own_subset):
    rows = domain_rows("latex", 50)
    rows[0]["eligible"] = False
    rule = {"own_subset": own_subset, "checkpoint": True, "trained_ids": None}
    out = assign_roles(survey(rows), {"latex": rule}, train_fraction=0.5, max_drafts=None, seed=0)
    assert out.column("role").to_pylist() == [None] + [DRAFT] * 49
    capped = assign_roles(survey(rows), {"latex": rule}, train_fraction=0.5, max_drafts=5, seed=0)
    assert Counter(capped.column("role").to_pylist()) == {DRAFT: 5, None: 45}


def test_empty_survey():
    out = assign_roles(survey([]), {"chart": DISJOINT}, train_fraction=0.5, max_drafts=None, seed=0)
    assert out.num_rows == 0 and out.schema == pa.schema(DECISION_FIELDS)
