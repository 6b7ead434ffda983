"""Render soak: thousands of renders mixed with hostile code; throughput against a clean run, and worker memory.

    .venv/bin/python benchmarks/render_soak.py                    # 5 500 mixed + 4 950 clean = 10 450 renders
    make soak                                                     # the same, into data/soak
    .venv/bin/python benchmarks/render_soak.py --renders 2000 --out data/soak-2000

One `RenderEngine` (the render stage's path: `engine.render_many` over `(code, language, options)` rows) runs

  phase A  the clean samples alone: demo-corpus code of every language (tasks/ingest/demo; about one chart in five
           carries a deliberate defect, so some clean samples fail too), the baseline;
  phase B  the same clean samples with `--hostile-fraction` of hostile ones (benchmarks/hostile_corpus.py: endless
           loops, fork bombs, daemons, memory and disk bombs, escapes, floods, forged frames, LaTeX tricks, hostile
           pages) spread evenly at seeded positions, each with the short per-job limit `--timeout`.

Every `--sample-every` renders it records, for every live worker of both pools, the resident memory (VmRSS and PSS
from /proc) of the worker's long-lived processes (bwrap + the warm sandbox worker; the browser worker with its
Playwright driver and Chromium), the transient job children of sandbox workers separately, and the pools' started /
recycled counts. It checks that every hostile sample ended as one of its expected typed failures and leaked nothing,
that every clean sample got the same outcome (render_ok, error_kind) in both phases, that the pools still serve
afterwards, and that nothing is left running after `close()`: this process is a child subreaper for the run, so
every process the workers orphaned is re-parented to it and found.

Throughput: "clean renders/s" is clean samples / wall time in both phases (phase B's wall time includes its hostile
samples), so `slowdown = wall B / wall A` is the price of the hostile share; "hostile job-seconds" (the hostile
jobs' own time) shows how much of it the attacks' own limits explain.

Writes `--out`/soak.json (every number and the memory curve) and `--out`/soak_rss.png (and, as the run goes,
`--out`/soak_samples.jsonl: the memory samples so far); exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.hostile_corpus import HostileSample, hostile_corpus  # noqa: E402
from benchmarks.soak_watch import Watch, child_subreaper, now_ticks  # noqa: E402
from renderers import EngineConfig, RenderEngine, RenderOptions, RenderResult  # noqa: E402
from renderers.registry import LANGUAGE_MODULES, renderer  # noqa: E402

# Leak bounds on the sampled RSS sums (peaks of the last quarter of samples against the first quarter's), from
# measurements on 2 cores: a sandbox worker is ~300 MB and flat (its jobs are forks that exit; new workers after a
# recycle come back at the same size), so its pool may drift by SANDBOX_SLACK_MB at most; the browser worker's tree
# (Playwright + Chromium, shared pages counted in every process) moves by up to ~350 MB between samples (renderer
# processes come and go, a context is dropped after a timeout, a relaunch every 200 jobs), which the total's
# factor and slack let through. A leaked retired worker (>= 300 MB) or a growing one does not pass both.
RSS_GROWTH_FACTOR = 1.25
RSS_SLACK_MB = 100.0
SANDBOX_SLACK_MB = 50.0
CHECK_CHART = "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [2, 1, 3])\nplt.title('still serving')\n"
CHECK_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><circle cx="32" cy="32" r="20"/></svg>'
CHECK_HTML = "<!doctype html><html><body><h1>Still serving</h1></body></html>"


@dataclass
class SoakConfig:
    renders: int = 5_500  # samples in the mixed run (phase B); phase A renders its clean share
    hostile_fraction: float = 0.1
    workers: int = 2  # sandbox workers
    browser_workers: int = 1
    timeout: float = 3.0  # per-job limit of hostile samples
    clean_timeout: float = 30.0  # per-job limit of clean samples (RenderOptions' default)
    sample_every: int = 100
    languages: list[str] = field(default_factory=lambda: list(LANGUAGE_MODULES))
    hostile_kinds: list[str] | None = None  # None: every kind whose pool the clean languages use
    seed: int = 0
    max_jobs_per_worker: int = EngineConfig.model_fields["max_jobs_per_worker"].default
    max_worker_rss_mb: int = EngineConfig.model_fields["max_worker_rss_mb"].default


@dataclass
class Item:
    index: int  # position in the mixed run
    kind: str  # demo kind ("chart/line") or hostile kind ("fork_bomb")
    language: str
    code: str
    options: RenderOptions
    hostile: HostileSample | None = None
    clean_id: int | None = None  # index among the clean samples


# -- inputs --------------------------------------------------------------------------------------------------------
def clean_items(n: int, seed: int, languages: list[str], timeout_s: float) -> list[Item]:
    """`n` demo-corpus samples of the given languages, in corpus order (every kind in every block)."""
    from tasks.ingest.demo import REGISTRY, generate_sample, kind_of

    options = RenderOptions(timeout_s=timeout_s)
    items: list[Item] = []
    index = 0
    while len(items) < n:
        if REGISTRY[kind_of(seed, index)].language in languages:
            sample = generate_sample(seed, index)
            items.append(Item(-1, sample.kind, sample.language, sample.code, options, clean_id=len(items)))
        index += 1
        if index > 100 * (n + 50) and not items:
            raise SystemExit(f"the demo corpus has no sample in {languages}")
    return items


def mixed_items(clean: list[Item], attacks: list[HostileSample], total: int, seed: int) -> list[Item]:
    """The clean items in order with `total - len(clean)` hostile ones at seeded positions, one per equal stratum;
    attack kinds are dealt in seeded shuffled rounds, so each kind appears equally often."""
    hostile = total - len(clean)
    rng = random.Random(f"soak:{seed}")
    positions: set[int] = set()
    for k in range(hostile):
        lo, hi = k * total // hostile, (k + 1) * total // hostile
        positions.add(rng.randrange(lo, hi))
    deck: list[HostileSample] = []
    out: list[Item] = []
    feed = iter(clean)
    for i in range(total):
        if i in positions:
            if not deck:
                deck = list(attacks)
                rng.shuffle(deck)
            attack = deck.pop()
            out.append(Item(i, attack.kind, attack.language, attack.code, attack.options, hostile=attack))
        else:
            item = next(feed)
            item.index = i
            out.append(item)
    return out


# -- the run --------------------------------------------------------------------------------------------------------
def outcome(result: RenderResult) -> str:
    return "ok" if result.ok else str(result.error_kind)


def job_s(result: RenderResult) -> float:
    """The job's own time (the worker's measure, as the render stage's render_ms), without queueing."""
    return float(result.diagnostics.get("job_s", result.elapsed))


def run_phase(
    engine: RenderEngine, items: list[Item], watch: Watch, phase: str, every: int, offset: int, log=print
) -> dict:
    results: list[RenderResult] = []
    started = time.monotonic()
    stream = engine.render_many([(it.code, it.language, it.options) for it in items])
    for n, result in enumerate(stream, 1):
        results.append(result)
        if n % every == 0 or n == len(items):
            record = watch.sample(offset + n, phase)
            done = sum(1 for r in results if r.ok)
            log(
                f"  {phase:<5} {n:>6}/{len(items)}  {n / (time.monotonic() - started):6.2f}/s  ok {done:>6}  "
                f"rss {record['rss_mb']:8.1f} MB  workers {len(record['workers'])}"
            )
    return {"results": results, "wall_s": time.monotonic() - started}


def post_check(engine: RenderEngine, languages: list[str]) -> dict[str, str]:
    pools = {renderer(lang).POOL for lang in languages}
    checks = {"python": CHECK_CHART, "svg": CHECK_SVG} if "sandbox" in pools else {}
    if "browser" in pools:
        checks["html"] = CHECK_HTML
    return {lang: outcome(engine.render(code, lang)) for lang, code in checks.items()}


def rss_stats(samples: list[dict[str, Any]], key: str = "rss_mb") -> dict[str, float]:
    xs = [s["renders"] for s in samples]
    ys = [s[key] for s in samples]
    n = len(ys)
    if n == 0:
        return {}
    decile, quarter = max(1, n // 10), max(1, n // 4)
    mx, my = sum(xs) / n, sum(ys) / n
    var = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0
    return {
        "samples": n,
        "first_decile_mean_mb": round(sum(ys[:decile]) / decile, 1),
        "last_decile_mean_mb": round(sum(ys[-decile:]) / decile, 1),
        "first_quarter_max_mb": round(max(ys[:quarter]), 1),
        "last_quarter_max_mb": round(max(ys[-quarter:]), 1),
        "min_mb": round(min(ys), 1),
        "max_mb": round(max(ys), 1),
        "slope_mb_per_1000_renders": round(slope * 1000, 2),
    }


def run_soak(config: SoakConfig, out: str | Path | None = None, log=print) -> dict[str, Any]:
    """Both phases through one engine; returns the report (and writes soak.json + soak_rss.png into `out`)."""
    unknown = sorted(set(config.languages) - set(LANGUAGE_MODULES))
    if unknown:
        raise SystemExit(f"unknown languages {unknown}; known: {', '.join(LANGUAGE_MODULES)}")
    pools_used = {renderer(lang).POOL for lang in config.languages}
    hostile_n = round(config.renders * config.hostile_fraction)
    clean = clean_items(config.renders - hostile_n, config.seed, config.languages, config.clean_timeout)
    engine_config = EngineConfig(
        sandbox_workers=config.workers,
        browser_workers=config.browser_workers,
        max_jobs_per_worker=config.max_jobs_per_worker,
        max_worker_rss_mb=config.max_worker_rss_mb,
    )
    since_ticks = now_ticks() - 1  # before the engine probes the sandbox
    with (
        tempfile.TemporaryDirectory(prefix="vinci-soak-") as tmp,
        hostile_corpus(tmp) as corpus,
        child_subreaper(),
    ):
        attacks = [
            a
            for a in corpus.samples(config.timeout)
            if renderer(a.language).POOL in pools_used
            and (config.hostile_kinds is None or a.kind in config.hostile_kinds)
        ]
        if hostile_n and not attacks:
            raise SystemExit("no hostile kind left for these languages / --hostile-kinds")
        mixed = mixed_items(clean, attacks, config.renders, config.seed)
        engine = RenderEngine(engine_config)
        watch = Watch(engine, None if out is None else Path(out) / "soak_samples.jsonl", since_ticks)
        try:
            started = time.monotonic()
            engine.warm_up(*sorted(pools_used))
            warm_s = time.monotonic() - started
            log(f"warm-up {warm_s:.1f}s; phase A: {len(clean)} clean, phase B: {len(mixed)} ({hostile_n} hostile)")
            watch.sample(0, "start")
            a = run_phase(engine, clean, watch, "clean", config.sample_every, 0, log)
            b = run_phase(engine, mixed, watch, "mixed", config.sample_every, len(clean), log)
            after = post_check(engine, config.languages)
            stats_before_close = engine.stats()
        finally:
            engine.close()
        leftovers = watch.leftovers()
        leftovers["hostile"] = corpus.leftovers()
    report = build_report(config, engine_config, clean, mixed, a, b, watch, after, stats_before_close, leftovers)
    report["warm_up_s"] = round(warm_s, 2)
    if out is not None:
        write_outputs(report, Path(out))
    return report


def build_report(config, engine_config, clean, mixed, a, b, watch, after, stats, leftovers) -> dict[str, Any]:
    clean_outcome = {it.clean_id: outcome(r) for it, r in zip(clean, a["results"], strict=True)}
    per_kind: dict[str, dict[str, Any]] = {}
    mismatches, unexpected, breaches = [], [], []
    mixed_clean_outcomes: Counter = Counter()
    hostile_job_s: Counter = Counter()
    clean_ms_b: list[float] = []
    for it, r in zip(mixed, b["results"], strict=True):
        if it.hostile is None:
            got = outcome(r)
            mixed_clean_outcomes[got] += 1
            clean_ms_b.append(job_s(r) * 1000)
            if got != clean_outcome[it.clean_id]:
                mismatches.append(
                    {"index": it.index, "kind": it.kind, "clean": clean_outcome[it.clean_id], "mixed": got}
                    | {"message": (r.error_message or "")[:300]}
                )
            continue
        hostile_job_s[renderer(it.language).POOL] += job_s(r)
        entry = per_kind.setdefault(
            it.kind,
            {"language": it.language, "n": 0, "outcomes": Counter(), "expected": list(it.hostile.expected), "s": 0.0},
        )
        entry["n"] += 1
        entry["outcomes"][outcome(r)] += 1
        entry["s"] += job_s(r)
        if r.error_kind not in it.hostile.expected:
            unexpected.append({"index": it.index, "kind": it.kind, "got": outcome(r), "message": r.error_message})
        finding = it.hostile.breach(r)
        if finding:
            breaches.append({"index": it.index, "kind": it.kind, "breach": finding})
    for entry in per_kind.values():
        entry["mean_s"] = round(entry.pop("s") / entry["n"], 2)
        entry["outcomes"] = dict(entry["outcomes"])
    clean_ms_a = [job_s(r) * 1000 for r in a["results"]]
    n_clean, n_mixed = len(clean), len(mixed)
    memory = {
        "all": rss_stats(watch.samples),
        "mixed": rss_stats([s for s in watch.samples if s["phase"] == "mixed"]),
        "pss_all": rss_stats(watch.samples, "pss_mb"),
        "per_pool": {
            pool: rss_stats(
                [
                    {"renders": s["renders"], "rss_mb": sum(w["rss_mb"] for w in s["workers"] if w["pool"] == pool)}
                    for s in watch.samples
                ]
            )
            for pool in sorted({w["pool"] for s in watch.samples for w in s["workers"]})
        },
    }
    allm = memory["all"]
    bound = RSS_GROWTH_FACTOR * allm["first_quarter_max_mb"] + RSS_SLACK_MB
    sandbox = memory["per_pool"].get("sandbox")
    sandbox_bound = sandbox["first_quarter_max_mb"] + SANDBOX_SLACK_MB if sandbox else None
    memory["bound"] = {
        "rule": f"all workers: last quarter's max <= {RSS_GROWTH_FACTOR} x first quarter's max + {RSS_SLACK_MB:.0f} MB"
        f"; sandbox pool: last quarter's max <= first quarter's max + {SANDBOX_SLACK_MB:.0f} MB",
        "limit_mb": round(bound, 1),
        "sandbox_limit_mb": None if sandbox_bound is None else round(sandbox_bound, 1),
        "ok": allm["last_quarter_max_mb"] <= bound
        and (sandbox_bound is None or sandbox["last_quarter_max_mb"] <= sandbox_bound),
    }
    counts = [s["worker_processes"] for s in watch.samples]
    memory["worker_processes"] = {"first": counts[0], "last": counts[-1], "min": min(counts), "max": max(counts)}
    sandbox_s = hostile_job_s["sandbox"] / config.workers
    browser_s = hostile_job_s["browser"] / config.browser_workers
    throughput = {
        "clean_run_renders_per_s": round(n_clean / a["wall_s"], 3),
        "mixed_run_renders_per_s": round(n_mixed / b["wall_s"], 3),
        "mixed_run_clean_renders_per_s": round(n_clean / b["wall_s"], 3),
        "slowdown": round(b["wall_s"] / a["wall_s"], 3),
        "clean_wall_s": round(a["wall_s"], 1),
        "mixed_wall_s": round(b["wall_s"], 1),
        "hostile_job_s": round(sum(hostile_job_s.values()), 1),
        "hostile_job_s_per_pool": {k: round(v, 1) for k, v in sorted(hostile_job_s.items())},
        # the hostile jobs' own time spread over the workers of their pool, as if the pools took turns: what the
        # attacks' limits alone explain (an upper estimate: the pools actually overlap)
        "explained_slowdown": round(1 + (sandbox_s + browser_s) / a["wall_s"], 3),
        "clean_render_ms_mean": {
            "clean_run": round(sum(clean_ms_a) / max(1, len(clean_ms_a)), 1),
            "mixed_run": round(sum(clean_ms_b) / max(1, len(clean_ms_b)), 1),
        },
    }
    failures = []
    if unexpected:
        failures.append(f"{len(unexpected)} hostile samples did not end as their expected typed failure")
    if breaches:
        failures.append(f"{len(breaches)} hostile samples leaked something")
    if mismatches:
        failures.append(f"{len(mismatches)} clean samples changed outcome in the mixed run")
    if any(v != "ok" for v in after.values()):
        failures.append(f"the pools did not serve after the run: {after}")
    if leftovers["ours"] or any(leftovers["hostile"].values()):
        failures.append(f"left behind: {leftovers['ours']} {leftovers['hostile']}")
    if not memory["bound"]["ok"]:
        failures.append(f"resident memory grew past the bound ({memory['bound']['rule']}): {memory['per_pool']}")
    return {
        "config": asdict(config),
        "engine": engine_config.model_dump(),
        "machine": {"cpus": os.cpu_count(), "sandbox_mode": stats["sandbox_mode"], "python": sys.version.split()[0]},
        "counts": {"clean": n_clean, "mixed": n_mixed, "hostile": n_mixed - n_clean, "renders": n_clean + n_mixed},
        "throughput": throughput,
        "outcomes": {
            "clean_run": dict(Counter(outcome(r) for r in a["results"])),
            "mixed_run_clean_samples": dict(mixed_clean_outcomes),
            "clean_by_language": _by_language(clean, a["results"]),
        },
        "hostile": dict(sorted(per_kind.items())),
        "unexpected_hostile": unexpected,
        "breaches": breaches,
        "clean_mismatches": mismatches,
        "post_check": after,
        "pools": stats["pools"],
        "leftovers": leftovers,
        "memory": memory,
        "failures": failures,
        "samples": watch.samples,
    }


def _by_language(items: list[Item], results: list[RenderResult]) -> dict[str, dict[str, int]]:
    out: dict[str, Counter] = {}
    for it, r in zip(items, results, strict=True):
        out.setdefault(it.language, Counter())[outcome(r)] += 1
    return {k: dict(v) for k, v in sorted(out.items())}


# -- outputs ----------------------------------------------------------------------------------------------------------
def write_outputs(report: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "soak.json").write_text(json.dumps(report, indent=1, default=str))
    plot(report, out / "soak_rss.png")


def plot(report: dict[str, Any], path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    samples = report["samples"]
    xs = [s["renders"] for s in samples]
    fig = Figure(figsize=(11, 6.5), dpi=100)
    FigureCanvasAgg(fig)
    ax, bx = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax.plot(xs, [s["rss_mb"] for s in samples], color="black", lw=2, label="all workers: RSS sum")
    ax.plot(xs, [s["pss_mb"] for s in samples], color="grey", lw=1.5, ls="--", label="all workers: PSS sum")
    slots = sorted({(w["pool"], w["slot"]) for s in samples for w in s["workers"]})
    for pool, slot in slots:
        ys = [_slot_rss(s, pool, slot) for s in samples]
        ax.plot(xs, ys, lw=1, label=f"{pool} worker {slot}")
    # retirements so far = started - alive; those beyond the pool's recycles replaced a worker that missed a
    # deadline, sent garbage or died (a new worker starts lazily, so "started" alone lags behind)
    recycled, replaced = [], []
    for prev, cur in zip(samples, samples[1:], strict=False):
        for pool, st in cur["pools"].items():
            before = prev["pools"].get(pool, {"started": 0, "alive": 0, "recycled": 0})
            r = st["recycled"] - before["recycled"]
            k = (st["started"] - st["alive"] - st["recycled"]) - (
                before["started"] - before["alive"] - before["recycled"]
            )
            recycled += [cur["renders"]] * max(0, r)
            replaced += [cur["renders"]] * max(0, k)
    top = max([s["rss_mb"] for s in samples] or [1])
    if recycled:
        ax.plot(recycled, [top * 1.06] * len(recycled), "v", color="tab:green", label="worker recycled (max jobs/RSS)")
    if replaced:
        ax.plot(replaced, [top * 1.03] * len(replaced), "x", color="tab:red", label="worker replaced (deadline/crash)")
    boundary = report["counts"]["clean"]
    for axis in (ax, bx):
        axis.axvline(boundary, color="tab:blue", ls=":", lw=1)
    ax.text(boundary, 0, "  clean run | mixed run", color="tab:blue", va="bottom", fontsize=8)
    ax.set_ylabel("resident MB")
    ax.set_ylim(0, top * 1.45)
    t = report["throughput"]
    m = report["memory"]["all"]
    ax.set_title(
        f"render soak: {report['counts']['clean']} clean + {report['counts']['mixed']} mixed "
        f"({report['counts']['hostile']} hostile); clean {t['clean_run_renders_per_s']}/s, mixed "
        f"{t['mixed_run_renders_per_s']}/s; RSS slope {m['slope_mb_per_1000_renders']} MB/1000",
        fontsize=9,
    )
    ax.legend(fontsize=7, ncol=3, loc="upper left")
    bx.step(xs, [s["worker_processes"] for s in samples], where="post", color="black", label="worker processes")
    bx.step(xs, [sum(p["started"] for p in s["pools"].values()) for s in samples], where="post", label="started")
    bx.set_xlabel("renders (clean run, then mixed run)")
    bx.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path)


def _slot_rss(sample: dict[str, Any], pool: str, slot: int) -> float:
    return next((w["rss_mb"] for w in sample["workers"] if (w["pool"], w["slot"]) == (pool, slot)), math.nan)


def summary(report: dict[str, Any]) -> str:
    t, m, c = report["throughput"], report["memory"]["all"], report["counts"]
    lines = [
        f"{'phase':<10} {'renders':>8} {'wall s':>8} {'renders/s':>10} {'clean/s':>8}",
        f"{'clean':<10} {c['clean']:>8} {t['clean_wall_s']:>8} {t['clean_run_renders_per_s']:>10} "
        f"{t['clean_run_renders_per_s']:>8}",
        f"{'mixed':<10} {c['mixed']:>8} {t['mixed_wall_s']:>8} {t['mixed_run_renders_per_s']:>10} "
        f"{t['mixed_run_clean_renders_per_s']:>8}",
        f"slowdown (wall mixed / wall clean) {t['slowdown']}x; the hostile jobs' own time explains "
        f"{t['explained_slowdown']}x ({t['hostile_job_s']} job-s)",
        f"clean render ms mean: clean run {t['clean_render_ms_mean']['clean_run']}, mixed run "
        f"{t['clean_render_ms_mean']['mixed_run']}",
        "",
        f"{'hostile kind':<22} {'n':>4} {'mean s':>7}  outcomes",
    ]
    for kind, e in report["hostile"].items():
        lines.append(f"{kind:<22} {e['n']:>4} {e['mean_s']:>7}  {e['outcomes']}")
    lines += [
        "",
        f"clean outcomes: {report['outcomes']['clean_run']}",
        f"RSS sum MB: first decile {m['first_decile_mean_mb']}, last decile {m['last_decile_mean_mb']}, "
        f"max {m['max_mb']}, slope {m['slope_mb_per_1000_renders']} MB/1000 renders; "
        f"bound {report['memory']['bound']['limit_mb']} MB ok={report['memory']['bound']['ok']}",
        *(
            f"  {pool:<8} first decile {p['first_decile_mean_mb']}, last decile {p['last_decile_mean_mb']}, "
            f"max {p['max_mb']}, slope {p['slope_mb_per_1000_renders']} MB/1000"
            for pool, p in report["memory"]["per_pool"].items()
        ),
        f"worker processes: {report['memory']['worker_processes']}",
        f"pools: {report['pools']}",
        f"leftover processes: {report['leftovers']['ours'] or 'none'}; hostile leftovers: "
        f"{report['leftovers']['hostile']}; other worker-like processes started meanwhile: "
        f"{len(report['leftovers']['other_worker_like'])}",
        f"checks: {'all passed' if not report['failures'] else report['failures']}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="render soak: hostile code at scale, throughput and memory")
    parser.add_argument("--renders", type=int, default=SoakConfig.renders, help="samples in the mixed run")
    parser.add_argument("--hostile-fraction", type=float, default=0.1)
    parser.add_argument("--workers", type=int, default=2, help="sandbox workers")
    parser.add_argument("--browser-workers", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=3.0, help="per-job limit of hostile samples (s)")
    parser.add_argument("--clean-timeout", type=float, default=30.0, help="per-job limit of clean samples (s)")
    parser.add_argument("--sample-every", type=int, default=100, help="memory sample every N renders")
    parser.add_argument("--languages", default=",".join(LANGUAGE_MODULES), help="comma-separated")
    parser.add_argument("--hostile-kinds", default=None, help="comma-separated (default: all that apply)")
    parser.add_argument("--max-jobs-per-worker", type=int, default=SoakConfig.max_jobs_per_worker)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="data/soak", help="folder for soak.json and soak_rss.png")
    args = parser.parse_args(argv)
    if not 0 <= args.hostile_fraction < 1:
        parser.error("--hostile-fraction must be in [0, 1)")
    config = SoakConfig(
        renders=args.renders,
        hostile_fraction=args.hostile_fraction,
        workers=args.workers,
        browser_workers=args.browser_workers,
        timeout=args.timeout,
        clean_timeout=args.clean_timeout,
        sample_every=args.sample_every,
        languages=[s.strip() for s in args.languages.split(",") if s.strip()],
        hostile_kinds=[s.strip() for s in args.hostile_kinds.split(",")] if args.hostile_kinds else None,
        max_jobs_per_worker=args.max_jobs_per_worker,
        seed=args.seed,
    )
    report = run_soak(config, args.out, log=lambda line: print(line, flush=True))
    print()
    print(summary(report))
    print(f"\nwrote {Path(args.out) / 'soak.json'} and {Path(args.out) / 'soak_rss.png'}")
    return 1 if report["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
