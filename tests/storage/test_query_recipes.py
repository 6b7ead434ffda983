"""Named queries (`storage/recipes.py`, `vinci query --recipe/--list`) and the README's Polars examples, on a small
data root whose every count is known: each stage's dataset is written through the real stage loop (plan, shards,
manifest, LATEST), the rollout log by the ViRL reward's own `RolloutLog`, and an evaluation's per-sample table."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import polars as pl
import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from schemas.sample import sample_id
from storage.manifest import InputRecord
from storage.query import rollout_logs, scan_rollouts, sql_context
from storage.recipes import RECIPES, get_recipe, run_recipe
from tasks.stage import Rejection, Stage, finalize_stage, plan_stage, run_shard, shard_jobs
from training.rewards.functions import RolloutLog
from training.rewards.scorer import RewardResult, Rollout
from vinci.cli import app

README = Path(__file__).resolve().parents[2] / "README.md"
runner = CliRunner()


# -- writing a data root ------------------------------------------------------------------------------------
class _Config(BaseModel):
    label: str = "recipes"


class _Written(Stage):
    """A stage that writes given rows and rejections (one shard) as a finished dataset."""

    rows: ClassVar[list[Any]] = []

    def inputs(self) -> list[InputRecord]:
        return [InputRecord(name="fixture", kind="test", fingerprint=f"{self.name}-{len(self.rows)}")]

    def shard_specs(self, version) -> list[dict[str, Any]]:
        return [{"index": 0}]

    def process(self, spec):
        yield from self.rows


def write_stage(root: str, name: str, groups: tuple[str, ...], items: list[Any]) -> None:
    cls = type(f"{name.title()}Fixture", (_Written,), {"name": name, "schema_stages": groups, "rows": items})
    stage = cls(_Config(), root)
    plan = plan_stage(stage)
    for job in shard_jobs(plan):
        run_shard(stage, job)
    finalize_stage(stage, plan)


LANG = {"chart": "python", "web": "html", "svg": "svg"}


def row(key: str, domain: str, source: str = "a", **extra: Any) -> dict[str, Any]:
    return {
        "id": sample_id(source, key),
        "domain": domain,
        "subdomain": None,
        "language": LANG[domain],
        "task": "direct",
        "instruction": "Write the code for this image.",
        "code": f"code of {key}",
        "draft_code": None,
        "image": None,
        "image_width": None,
        "image_height": None,
        "source": source,
        "source_id": key,
        "split": "train",
        "meta": None,
        **extra,
    }


REPAIR_NONE = {
    "repair_fixes": None,
    "parse_ok": None,
    "code_original": None,
    "repair_render_before": None,
    "repair_render_after": None,
}
FILTER_NONE = {"filter_changes": None, "text_lang": None, "text_lang_score": None}
OK = {"render_ok": True, "error_kind": None, "render_error": None, "render_ms": 5.0}


def repaired(key: str, source: str, *, changed: bool, parse_ok: bool, proof: tuple[bool, bool] | None):
    return row(
        key,
        "chart",
        source,
        repair_fixes=["E999"] if changed else [],
        parse_ok=parse_ok,
        code_original=f"old code of {key}" if changed else None,
        repair_render_before=proof[0] if proof else None,
        repair_render_after=proof[1] if proof else None,
    )


def build_root(root: str) -> str:
    """ingest: 4 charts (sources a, b), 3 web pages, 3 SVGs, 1 rejection. repair: r3 unparseable. filter: h2 has a
    hyperlink. render: r1, r2 (runtime) and h1 (timeout) fail. dedup: keeps r0, s0, s2. drafts: 2 chart refine rows,
    1 svg; a perfect svg draft, an empty web draft. Two ViRL runs' rollouts, two evaluations (the newest counts)."""
    charts = [("r0", "a"), ("r1", "a"), ("r2", "b"), ("r3", "b")]
    ingest = [row(k, "chart", s) for k, s in charts] + [row(f"h{i}", "web") for i in range(3)]
    ingest += [row(f"s{i}", "svg") for i in range(3)]
    write_stage(root, "ingest", (), [*ingest, Rejection("empty_code", "no code", {"source": "a", "source_id": "x"})])

    rep = {
        "r0": repaired("r0", "a", changed=True, parse_ok=True, proof=(False, True)),
        "r1": repaired("r1", "a", changed=True, parse_ok=True, proof=(True, True)),
        "r2": repaired("r2", "b", changed=False, parse_ok=True, proof=None),
    }
    others = {r["source_id"]: {**r, **REPAIR_NONE} for r in ingest if r["domain"] != "chart"}
    r3 = repaired("r3", "b", changed=True, parse_ok=False, proof=None)
    write_stage(root, "repair", ("repair",), [*rep.values(), *others.values(), Rejection("unparseable", "bad", r3)])

    kept = {k: {**r, **FILTER_NONE} for k, r in {**rep, **others}.items()}
    h2 = kept.pop("h2")
    write_stage(root, "filter", ("repair", "filter"), [*kept.values(), Rejection("hyperlink", "a href", h2)])

    failed = {
        "r1": ("runtime", "ZeroDivisionError: division by zero", 10.0),
        "r2": ("runtime", "NameError: name 'x' is not defined", 20.0),
        "h1": ("timeout", "took longer than 30 s", 30000.0),
    }
    rendered = {}
    for key, r in kept.items():
        kind, error, ms = failed.get(key, (None, None, 5.0))
        rendered[key] = {**r, "render_ok": kind is None, "error_kind": kind, "render_error": error, "render_ms": ms}
    write_stage(root, "render", ("repair", "filter", "render"), list(rendered.values()))

    def dd(key: str, cluster: int | None, group: str | None = None) -> dict[str, Any]:
        r = rendered[key]
        return {**r, "phash": 7, "dup_group": group or r["id"], "cluster": cluster}

    dedup = [dd("r0", 0), dd("s0", 0), dd("s2", 1)]
    drops = [Rejection("render_failed", rendered[k]["render_error"], dd(k, None)) for k in ("r1", "r2", "h1")]
    drops += [
        Rejection("near_duplicate", "3 bits from s0", dd("s1", 0, rendered["s0"]["id"])),
        Rejection("not_sampled", "", dd("h0", 2)),
    ]
    write_stage(root, "dedup", ("repair", "filter", "render", "dedup"), [*dedup, *drops])

    def refine(r: dict[str, Any], score: float | None) -> dict[str, Any]:
        sid = f"{r['source_id']}#refine"
        extra = {"task": "refine", "draft_code": "draft", "draft_model": "specialist", "draft_score": score}
        return {**r, "id": sample_id(r["source"], sid), "source_id": sid, **extra}

    drafts = [refine(dedup[0], 0.25), refine({**dedup[0], "source_id": "r0b"}, None), refine(dedup[2], 0.5)]
    drafts += [
        Rejection("perfect_draft", "draft scores 1.000", refine(dedup[1], 1.0)),
        Rejection("empty_draft", "no code", {**rendered["h0"], "phash": 1, "dup_group": None, "cluster": 2}),
    ]
    write_stage(root, "drafts", ("repair", "filter", "render", "dedup", "drafts"), drafts)

    for run, results in ROLLOUTS.items():
        log = RolloutLog(Path(root, "virl", run, "rollouts.jsonl"))
        for step in sorted({s for s, _ in results}):
            picked = [r for s, r in results if s == step]
            rollouts = [Rollout(target=None, completion="```svg\n<svg/>\n```") for _ in picked]
            log.write(step, [f"row-{i}" for i in range(len(picked))], rollouts, picked)
    Path(root, "virl", "LATEST_RUN").write_text("tiny-b\n")

    for name, rows in (("old-000", EVAL_OLD), ("demo-111", EVAL)):
        folder = Path(root, "eval", name)
        folder.mkdir(parents=True)
        table = pl.DataFrame([{"run": name, **r} for r in rows], schema=EVAL_SCHEMA)
        table.write_parquet(folder / "per_sample.parquet")
    Path(root, "eval", "LATEST_RUN").write_text("demo-111\n")
    return root


def result(visual: float, alignment: float, error_kind: str | None = None) -> RewardResult:
    ok = error_kind is None
    return RewardResult(
        reward=0.9 * visual + 0.1 * alignment,
        visual=visual,
        alignment=alignment,
        language="svg",
        language_rule="named",
        encoder="ssim",
        rendered=alignment > 0,
        render_ok=ok,
        error_kind=error_kind,
        tiles=1 if ok else 0,
        grid=(1, 1) if ok else None,
        render_ms=12.5 if ok else None,
    )


# (step, result) per run; the first lines of tiny-a have null grid/render_ms, as a real log's often do
ROLLOUTS = {
    "tiny-a": [
        (0, result(0.0, 0.0, "no_code")),
        (0, result(0.0, 1.0, "runtime")),
        (1, result(0.5, 1.0)),
        (1, result(1.0, 1.0)),
    ],
    "tiny-b": [(0, result(0.0, 0.0, "no_code")), (0, result(0.0, 0.0, "no_code"))],
}
EVAL_SCHEMA = {
    "run": pl.String,
    "benchmark": pl.String,
    "id": pl.String,
    "language": pl.String,
    "primary": pl.Float64,
    "rendered": pl.Boolean,
    "reference_ok": pl.Boolean,
    "error": pl.String,
    "answer": pl.String,
}


def ev(benchmark: str, language: str, i: int, primary: float | None, rendered: bool, ok: bool = True) -> dict:
    return {
        "benchmark": benchmark,
        "id": f"{benchmark}-{i}",
        "language": language,
        "primary": primary,
        "rendered": rendered,
        "reference_ok": ok,
        "error": None if rendered else "no code",
        "answer": "",
    }


EVAL = [
    ev("chartmimic", "python", 0, 80.0, True),
    ev("chartmimic", "python", 1, 40.0, False),
    ev("chartmimic", "python", 2, None, False, ok=False),
    ev("unisvg", "svg", 0, 100.0, True),
    ev("unisvg", "svg", 1, 0.0, True),
]
EVAL_OLD = [ev("chemdraw", "smiles", 0, 10.0, True)]


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> str:
    return build_root(str(tmp_path_factory.mktemp("recipes") / "data"))


def records(name: str, root: str) -> list[dict[str, Any]]:
    return run_recipe(name, root).to_dicts()


# -- the recipes on known data ------------------------------------------------------------------------------
def test_context_has_rejected_eval_and_rollouts_tables(root):
    tables = set(sql_context(root).tables())
    stages = {"ingest", "repair", "filter", "render", "dedup", "drafts"}
    assert tables == stages | {f"{s}_rejected" for s in stages} | {"rejected", "eval", "rollouts"}
    assert [Path(p).parent.name for p in rollout_logs(root)] == ["tiny-a", "tiny-b"]
    frame = scan_rollouts(root).collect()
    assert frame.height == 6 and frame["grid"].dtype == pl.List(pl.Int64) and frame["render_ms"].null_count() == 4


def test_domains(root):
    assert records("domains", root) == [
        {"domain": "chart", "language": "python", "ingest": 4, "render": 3, "rendered": 1, "dedup": 1},
        {"domain": "svg", "language": "svg", "ingest": 3, "render": 3, "rendered": 3, "dedup": 2},
        {"domain": "web", "language": "html", "ingest": 3, "render": 2, "rendered": 1, "dedup": 0},
    ]


def test_render_failures(root):
    assert records("render-failures", root) == [
        {
            "language": "python",
            "error_kind": "runtime",
            "failures": 2,
            "rows": 3,
            "pct": 66.7,
            "mean_ms": 15.0,
            "sample_error": "NameError: name 'x' is not defined",
        },
        {
            "language": "html",
            "error_kind": "timeout",
            "failures": 1,
            "rows": 2,
            "pct": 50.0,
            "mean_ms": 30000.0,
            "sample_error": "took longer than 30 s",
        },
    ]


def test_rejections(root):
    got = [(r["rejected_by"], r["reason"], r["n"]) for r in records("rejections", root)]
    assert got == [
        ("dedup", "render_failed", 3),
        ("dedup", "near_duplicate", 1),
        ("dedup", "not_sampled", 1),
        ("drafts", "empty_draft", 1),
        ("drafts", "perfect_draft", 1),
        ("filter", "hyperlink", 1),
        ("ingest", "empty_code", 1),
        ("repair", "unparseable", 1),
    ]
    assert records("rejections", root)[0]["sample_detail"] == "NameError: name 'x' is not defined"


def test_repair_effect(root):
    assert records("repair-effect", root) == [
        {
            "source": "a",
            "rows": 2,
            "changed": 2,
            "parse_after_pct": 100.0,
            "proved": 2,
            "render_before_pct": 50.0,
            "render_after_pct": 100.0,
            "rejected": 0,
        },
        {
            "source": "b",
            "rows": 2,
            "changed": 1,
            "parse_after_pct": 50.0,
            "proved": 0,
            "render_before_pct": None,
            "render_after_pct": None,
            "rejected": 1,
        },
    ]


def test_dedup_clusters(root):
    assert records("dedup-clusters", root) == [
        {"cluster": 0, "kept": 2, "domains": "chart,svg", "duplicates": 1, "not_sampled": 0},
        {"cluster": 1, "kept": 1, "domains": "svg", "duplicates": 0, "not_sampled": 0},
        {"cluster": 2, "kept": 0, "domains": None, "duplicates": 0, "not_sampled": 1},
    ]


def test_drafts(root):
    got = records("drafts", root)
    assert [(r["domain"], r["refine"], r["rendered"], r["perfect"], r["empty"]) for r in got] == [
        ("chart", 2, 1, 0, 0),
        ("svg", 1, 1, 1, 0),
        ("web", 0, 0, 0, 1),
    ]
    assert [r["mean_score"] for r in got] == [0.25, 0.5, None]
    assert got[0]["min_score"] == got[0]["max_score"] == 0.25


def test_rewards(root):
    got = {r["run"]: r for r in records("rewards", root)}
    assert sorted(got) == ["tiny-a", "tiny-b"]
    a = [res for _, res in ROLLOUTS["tiny-a"]]
    rewards = np.array([r.reward for r in a])
    assert got["tiny-a"]["rollouts"] == 4 and got["tiny-a"]["steps"] == 2
    for key, value in {
        "reward_mean": rewards.mean(),
        "reward_p10": np.quantile(rewards, 0.1),
        "reward_p50": np.median(rewards),
        "reward_p90": np.quantile(rewards, 0.9),
        "reward_max": rewards.max(),
        "visual_mean": np.mean([r.visual for r in a]),
        "alignment_mean": 0.75,
    }.items():
        assert got["tiny-a"][key] == pytest.approx(value, abs=1e-3), key
    assert got["tiny-a"]["exec_pct"] == 50.0
    assert got["tiny-b"]["rollouts"] == 2 and got["tiny-b"]["reward_max"] == 0.0 and got["tiny-b"]["exec_pct"] == 0.0


def test_eval_scores_reads_the_newest_evaluation(root):
    assert records("eval-scores", root) == [
        {
            "benchmark": "chartmimic",
            "language": "python",
            "samples": 3,
            "score": 60.0,
            "render_pct": 50.0,
            "broken_refs": 1,
        },
        {"benchmark": "unisvg", "language": "svg", "samples": 2, "score": 50.0, "render_pct": 100.0, "broken_refs": 0},
    ]


def test_a_missing_table_names_what_to_run(tmp_path):
    empty = str(tmp_path / "empty")
    for name in ("rejections", "domains"):
        with pytest.raises(LookupError, match="no finished"):
            run_recipe(name, empty)
    only_ingest = str(tmp_path / "ingest-only")
    write_stage(only_ingest, "ingest", (), [row("r0", "chart")])
    with pytest.raises(LookupError, match=r"'domains' needs table render, dedup: .*`vinci stage render` first"):
        run_recipe("domains", only_ingest)
    with pytest.raises(LookupError, match=r"`vinci stage drafts` first"):
        run_recipe("drafts", only_ingest)
    with pytest.raises(LookupError, match=r"no ViRL rollouts under .*virl; run `vinci virl` first"):
        run_recipe("rewards", only_ingest)
    with pytest.raises(LookupError, match=r"no finished evaluation .*; run `vinci evaluate` first"):
        run_recipe("eval-scores", only_ingest)
    assert run_recipe("rejections", only_ingest).height == 0
    with pytest.raises(LookupError, match="unknown recipe 'nope'; recipes: domains, render-failures"):
        get_recipe("nope")


# -- the command ----------------------------------------------------------------------------------------------
def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["query", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_cli_list_prints_every_recipe_and_its_sql():
    code, out = cli("--list")
    assert code == 0
    for recipe in RECIPES:
        assert f"{recipe.name}: {recipe.description}" in out
        assert recipe.sql.splitlines()[0] in out
    code, out = cli("--list", "--format", "json")
    assert code == 0 and [r["name"] for r in json.loads(out)] == [r.name for r in RECIPES]


def test_cli_runs_a_recipe_with_format_and_data_root(root):
    code, out = cli("--recipe", "domains", "--data-root", root, "--format", "json")
    assert code == 0, out
    assert json.loads(out) == records("domains", root)
    code, out = cli("--recipe", "rejections", "--data-root", root, "--format", "csv")
    assert code == 0 and out.splitlines()[0] == "rejected_by,reason,n,sample_detail" and len(out.splitlines()) == 9
    code, out = cli("--recipe", "dedup-clusters", "--data-root", root, "--max-rows", "2")
    assert code == 0 and "cluster" in out and "…" in out


def test_cli_usage_errors(root, tmp_path):
    code, out = cli("--recipe", "nope", "--data-root", root)
    assert code == 2 and "unknown recipe 'nope'" in out and all(r.name in out for r in RECIPES)
    code, out = cli("--data-root", root)
    assert code == 2 and "exactly one of SQL, --recipe NAME or --list" in out
    code, out = cli("SELECT 1", "--recipe", "domains", "--data-root", root)
    assert code == 2 and "exactly one" in out
    code, out = cli("--recipe", "eval-scores", "--data-root", str(tmp_path / "nothing"))
    assert code == 2 and "run `vinci evaluate` first" in out
    code, out = cli("SELECT count(*) AS n FROM rollouts", "--data-root", root, "--format", "ndjson")
    assert code == 0 and json.loads(out) == {"n": 6}


# -- the README's Polars examples -----------------------------------------------------------------------------
def readme_examples() -> list[str]:
    return re.findall(r"<!-- query-example -->\n```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_readme_lists_every_recipe():
    text = README.read_text(encoding="utf-8")
    assert all(f"| `{r.name}` |" in text for r in RECIPES)


def test_readme_examples_run(root, monkeypatch):
    blocks = readme_examples()
    assert len(blocks) >= 4
    monkeypatch.chdir(Path(root).parent)  # the examples read ./data, the default data root
    monkeypatch.delenv("VINCI_DATA_ROOT", raising=False)
    for block in blocks:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(block, "README.md", "exec"), {})
        assert "shape:" in out.getvalue(), block
