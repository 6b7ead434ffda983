"""Named, documented queries over the pipeline's artifacts: `vinci query --recipe NAME`, `vinci query --list`.

Each recipe is plain Polars SQL over the tables of `storage.query.sql_context` (`ingest` ... `drafts`,
`<stage>_rejected`, `rejected`, `eval`, `rollouts`), so `vinci query --list` prints SQL to copy and adapt. A
recipe names the tables it reads; when one is missing, `run_recipe` says which stage or command makes it
(a `LookupError`, as `storage.query.sql` does when there is nothing at all).

from storage.recipes import run_recipe
run_recipe("render-failures")               # a Polars DataFrame
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import polars as pl

from storage import filesystem as fsys
from storage.dataset import DataRoot
from storage.query import sql_context
from vinci.settings import data_root as default_root


@dataclass(frozen=True)
class Recipe:
    name: str
    description: str  # one line
    sql: str
    tables: tuple[str, ...]  # the sql_context tables the query reads


def _sql(text: str) -> str:
    return textwrap.dedent(text).strip()


RECIPES: tuple[Recipe, ...] = (
    Recipe(
        "domains",
        "rows per domain and language in the latest ingest, render (and how many rendered) and dedup datasets",
        _sql(
            """
            SELECT domain, language, sum(ingest) AS ingest, sum(render) AS render, sum(rendered) AS rendered,
                   sum(dedup) AS dedup
            FROM (
                SELECT domain, language, 1 AS ingest, 0 AS render, 0 AS rendered, 0 AS dedup FROM ingest
                UNION ALL
                SELECT domain, language, 0 AS ingest, 1 AS render, CAST(render_ok AS INT) AS rendered, 0 AS dedup
                FROM render
                UNION ALL
                SELECT domain, language, 0 AS ingest, 0 AS render, 0 AS rendered, 1 AS dedup FROM dedup
            )
            GROUP BY domain, language
            ORDER BY domain, language
            """
        ),
        ("ingest", "render", "dedup"),
    ),
    Recipe(
        "render-failures",
        "render failures by language and error_kind: count, share of the language's rows, mean time, a sample error",
        _sql(
            """
            SELECT f.language, f.error_kind, f.failures, t.rows,
                   ROUND(100.0 * CAST(f.failures AS DOUBLE) / t.rows, 1) AS pct, f.mean_ms, f.sample_error
            FROM (
                SELECT language, error_kind, count(*) AS failures, ROUND(avg(render_ms), 1) AS mean_ms,
                       min(render_error) AS sample_error
                FROM render WHERE NOT render_ok GROUP BY language, error_kind
            ) AS f
            JOIN (SELECT language, count(*) AS rows FROM render GROUP BY language) AS t ON f.language = t.language
            ORDER BY f.failures DESC, f.language, f.error_kind
            """
        ),
        ("render",),
    ),
    Recipe(
        "rejections",
        "every stage's dropped rows by reason (table `rejected`: all <stage>_rejected together), with a sample detail",
        _sql(
            """
            SELECT rejected_by, reason, count(*) AS n, min(reason_detail) AS sample_detail
            FROM rejected
            GROUP BY rejected_by, reason
            ORDER BY rejected_by, n DESC, reason
            """
        ),
        ("rejected",),
    ),
    Recipe(
        "repair-effect",
        "repair per source (rows it touched, kept and rejected): changed, parse rate after, render rates before/after",
        _sql(
            """
            SELECT source, count(*) AS rows, count(code_original) AS changed,
                   ROUND(100.0 * avg(CAST(parse_ok AS INT)), 1) AS parse_after_pct,
                   count(repair_render_before) AS proved,
                   ROUND(100.0 * avg(CAST(repair_render_before AS INT)), 1) AS render_before_pct,
                   ROUND(100.0 * avg(CAST(repair_render_after AS INT)), 1) AS render_after_pct,
                   sum(CAST(rejected AS INT)) AS rejected
            FROM (
                SELECT source, code_original, parse_ok, repair_render_before, repair_render_after, false AS rejected
                FROM repair WHERE parse_ok IS NOT NULL
                UNION ALL
                SELECT source, code_original, parse_ok, repair_render_before, repair_render_after, true AS rejected
                FROM repair_rejected WHERE parse_ok IS NOT NULL
            )
            GROUP BY source
            ORDER BY source
            """
        ),
        ("repair", "repair_rejected"),
    ),
    Recipe(
        "dedup-clusters",
        "per K-means cluster: rows kept, their domains, duplicates and not-sampled rows dropped from it",
        _sql(
            """
            SELECT COALESCE(k.cluster, d.cluster) AS cluster, COALESCE(k.kept, 0) AS kept, k.domains,
                   COALESCE(d.duplicates, 0) AS duplicates, COALESCE(d.not_sampled, 0) AS not_sampled
            FROM (
                SELECT cluster, count(*) AS kept, string_agg(DISTINCT domain, ',' ORDER BY domain) AS domains
                FROM dedup GROUP BY cluster
            ) AS k
            FULL JOIN (
                SELECT cluster,
                       sum(CAST(reason IN ('exact_duplicate', 'near_duplicate') AS INT)) AS duplicates,
                       sum(CAST(reason = 'not_sampled' AS INT)) AS not_sampled
                FROM dedup_rejected WHERE cluster IS NOT NULL GROUP BY cluster
            ) AS d ON k.cluster = d.cluster
            ORDER BY kept DESC, "cluster"  -- quoted: CLUSTER is also an SQL keyword
            """
        ),
        ("dedup", "dedup_rejected"),
    ),
    Recipe(
        "drafts",
        "refine rows per domain: drafts that rendered, their score (SSIM to the target), perfect and empty drafts",
        _sql(
            """
            SELECT COALESCE(r.domain, x.domain) AS domain, COALESCE(r.refine, 0) AS refine,
                   COALESCE(r.rendered, 0) AS rendered, r.mean_score, r.min_score, r.max_score,
                   COALESCE(x.perfect, 0) AS perfect, COALESCE(x.empty, 0) AS empty
            FROM (
                SELECT domain, count(*) AS refine, count(draft_score) AS rendered,
                       ROUND(avg(draft_score), 3) AS mean_score, ROUND(min(draft_score), 3) AS min_score,
                       ROUND(max(draft_score), 3) AS max_score
                FROM drafts WHERE task = 'refine' GROUP BY domain
            ) AS r
            FULL JOIN (
                SELECT domain, sum(CAST(reason = 'perfect_draft' AS INT)) AS perfect,
                       sum(CAST(reason = 'empty_draft' AS INT)) AS empty
                FROM drafts_rejected GROUP BY domain
            ) AS x ON r.domain = x.domain
            ORDER BY domain
            """
        ),
        ("drafts", "drafts_rejected"),
    ),
    Recipe(
        "rewards",
        "ViRL reward distribution per run (every virl/<run>/rollouts.jsonl): reward percentiles, parts, exec rate",
        _sql(
            """
            SELECT run, count(*) AS rollouts, count(DISTINCT step) AS steps,
                   ROUND(avg(reward), 3) AS reward_mean, ROUND(quantile_cont(reward, 0.1), 3) AS reward_p10,
                   ROUND(median(reward), 3) AS reward_p50, ROUND(quantile_cont(reward, 0.9), 3) AS reward_p90,
                   ROUND(max(reward), 3) AS reward_max, ROUND(avg(visual), 3) AS visual_mean,
                   ROUND(avg(alignment), 3) AS alignment_mean,
                   ROUND(100.0 * avg(CAST(render_ok AS INT)), 1) AS exec_pct
            FROM rollouts
            GROUP BY run
            ORDER BY run
            """
        ),
        ("rollouts",),
    ),
    Recipe(
        "eval-scores",
        "newest evaluation per benchmark and language: mean primary score (0-100), render rate, broken references",
        _sql(
            """
            SELECT benchmark, language, count(*) AS samples, ROUND(avg("primary"), 2) AS score,
                   ROUND(100.0 * avg(CASE WHEN reference_ok THEN CAST(rendered AS INT) END), 1) AS render_pct,
                   sum(CAST(NOT reference_ok AS INT)) AS broken_refs
            FROM eval
            GROUP BY benchmark, language
            ORDER BY benchmark, language
            """
        ),
        ("eval",),
    ),
)

BY_NAME: dict[str, Recipe] = {r.name: r for r in RECIPES}


def get_recipe(name: str) -> Recipe:
    """The recipe called `name`; a LookupError listing the valid names otherwise."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise LookupError(f"unknown recipe {name!r}; recipes: {', '.join(BY_NAME)} (`vinci query --list`)") from None


def missing_table(table: str, root: str) -> str:
    """Why `table` is not in the SQL context of `root`, and what makes it."""
    if table == "eval":
        return f"no finished evaluation under {fsys.join(root, 'eval')}; run `vinci evaluate` first"
    if table == "rollouts":
        return f"no ViRL rollouts under {fsys.join(root, 'virl')}; run `vinci virl` first"
    if table == "rejected":
        return f"no finished datasets under {root}; run a stage first (`vinci ingest`, `vinci pipeline`)"
    stage = table.removesuffix("_rejected")
    command = "vinci ingest" if stage == "ingest" else f"vinci stage {stage}"
    return f"no finished '{stage}' dataset under {root}; run `{command}` first (or `vinci pipeline`)"


def run_recipe(recipe: str | Recipe, root: str | None = None) -> pl.DataFrame:
    """Run a recipe over the latest artifacts under `root`; LookupError naming what to run when a table is missing."""
    r = get_recipe(recipe) if isinstance(recipe, str) else recipe
    uri = DataRoot(root or default_root()).uri
    ctx = sql_context(uri)
    present = set(ctx.tables())
    missing = [t for t in r.tables if t not in present]
    if missing:
        reasons = "; ".join(dict.fromkeys(missing_table(t, uri) for t in missing))
        raise LookupError(f"recipe {r.name!r} needs table {', '.join(missing)}: {reasons}")
    return ctx.execute(r.sql).collect()


def describe(recipe: Recipe) -> str:
    """A recipe as `vinci query --list` prints it: name, description, tables, SQL."""
    sql = textwrap.indent(recipe.sql, "    ")
    return f"{recipe.name}: {recipe.description}\n  tables: {', '.join(recipe.tables)}\n{sql}\n"
