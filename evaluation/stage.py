"""The evaluate stage: generate answers for every benchmark sample, score them, and write the report.

    vinci evaluate --recipe demo          # configs/evaluate/demo.yaml: the demo model on held-out demo rows

A run's folder `<root>/eval/<name>-<hash>` is keyed on the recipe (minus where it writes and how fast it works),
the model it resolves to, the samples (ids, references and image hashes) and the evaluation code, so a finished
evaluation is found again and anything that changes the numbers starts a new one. It holds:

    recipe.yaml                 the recipe as it ran (model resolved)
    answers/<benchmark>/part-*.parquet   raw answers (id, answer), written every `chunk_size` samples: a re-run
                                resumes generation after the last finished part
    scores/<benchmark>.parquet  every metric column per sample, with the answer and the primary score
    per_sample.parquet          one table over all benchmarks: run, benchmark, id, language, primary score,
                                rendered, reference_ok, error, answer (query it with Polars or `vinci query`)
    summary.json                each benchmark's aggregate and the Table-3 rows
    report.md, report.html, plots/   the report (evaluation/report.py)
    _done.json                  written last; <root>/eval/LATEST_RUN names the newest finished run
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from evaluation.loaders import BenchmarkError, BenchmarkSample, load_benchmark
from evaluation.recipe import EvalRecipe, load_eval_recipe
from evaluation.scoring import DISPLAY, VISUAL, Inputs, primary_scores, score_benchmark, table3
from training.recipes import fingerprint
from training.runs import DONE, LATEST_RUN, local_root, resolve_model_path
from vinci.progress import progress_bar
from vinci.settings import data_root
from vinci.version import source_hash

log = logging.getLogger(__name__)

HOME = "eval"
CODE_MODULES = (
    "evaluation.stage",
    "evaluation.scoring",
    "evaluation.heldout",
    "evaluation.loaders",
    "evaluation.metrics.chartmimic",
    "evaluation.metrics.chartmimic_scores",
    "evaluation.metrics.chartmimic_judge",
    "evaluation.metrics.design2code",
    "evaluation.metrics.design2code_scores",
    "evaluation.metrics.unisvg",
    "evaluation.metrics.image2struct",
    "evaluation.metrics.chemdraw",
    "training.prompts",
    "training.generate",
)


@dataclass
class EvalRun:
    recipe: EvalRecipe
    root: str
    model_path: str
    output_dir: Path
    samples: dict[str, list[BenchmarkSample]]
    sources: dict[str, Any] = field(default_factory=dict)

    @property
    def done_file(self) -> Path:
        return self.output_dir / DONE


def _samples_key(samples: dict[str, list[BenchmarkSample]]) -> str:
    digest = hashlib.sha256()
    for name, group in sorted(samples.items()):
        for s in group:
            for part in (name, s.id, s.instruction, s.reference, hashlib.sha256(s.image).hexdigest()):
                digest.update(part.encode("utf-8", "replace") + b"\0")
    return digest.hexdigest()


def load_samples(recipe: EvalRecipe, root: str, model_path: str) -> tuple[dict[str, list[BenchmarkSample]], dict]:
    from evaluation.heldout import load_heldout

    samples: dict[str, list[BenchmarkSample]] = {}
    sources: dict[str, Any] = {}
    for source in recipe.benchmarks:
        if source.name == "heldout":
            groups, info = load_heldout(source, root, model_path)
            sources["heldout"] = info
        else:
            groups = {source.name: load_benchmark(source.name, source.path, source.limit)}
            sources[source.name] = {"path": source.path, "samples": len(groups[source.name])}
        for name, group in groups.items():
            if name in samples:
                raise BenchmarkError(f"benchmark {name} is listed twice (directly and through heldout?)")
            samples[name] = group
    return samples, sources


def plan_eval(
    recipe: str | dict[str, Any] | EvalRecipe, root: str | None = None, overrides: dict[str, Any] | None = None
) -> EvalRun:
    """Validate the recipe, resolve the model, load the samples and choose the output folder (nothing runs)."""
    cfg = load_eval_recipe(recipe, overrides)
    root = data_root(root or cfg.data_root)
    model_path = resolve_model_path(cfg.model.path, root)
    samples, sources = load_samples(cfg, root, model_path)
    if cfg.output_dir:
        out = Path(cfg.output_dir)
    else:
        key = cfg.model_dump(mode="json", exclude=cfg.unkeyed())
        key["model"]["path"] = model_path
        key["samples"] = _samples_key(samples)
        key["code"] = source_hash(CODE_MODULES)
        out = local_root(root) / HOME / f"{cfg.name}-{fingerprint(key)}"
    return EvalRun(cfg, root, model_path, out, samples, sources)


# ---------------------------------------------------------------------------------------------------- answers


class _LazyGenerator:
    """Loads the model only when some answers are still missing."""

    def __init__(self, run: EvalRun):
        self.run, self._generator = run, None

    def __call__(self, images: list[bytes], instructions: list[str]) -> list[str]:
        if self._generator is None:
            from training.generate import make_generator

            spec = self.run.recipe.model.model_copy(update={"path": self.run.model_path})
            self._generator = make_generator(spec, self.run.recipe.generation)
            log.info("evaluate: generating with %s (%s)", self.run.model_path, type(self._generator).__name__)
        return self._generator.generate(images, instructions)

    def close(self) -> None:
        close = getattr(self._generator, "close", None)
        if close is not None:
            close()


def _write_parquet(rows: list[dict[str, Any]], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(pa.Table.from_pylist(rows), tmp)
    tmp.replace(path)


def generate_answers(run: EvalRun, generate: _LazyGenerator, show: bool | None = None) -> dict[str, list[str]]:
    """Every sample's raw answer; parts already on disk (same ids) are read back instead of generated."""
    import pyarrow.parquet as pq

    chunk = run.recipe.chunk_size
    answers: dict[str, list[str]] = {}
    resumed = 0
    for name, samples in run.samples.items():
        folder = run.output_dir / "answers" / name
        out: list[str] = []
        with progress_bar(len(samples), f"generate {name}", show) as bar:
            for index, start in enumerate(range(0, len(samples), chunk)):
                part = samples[start : start + chunk]
                path = folder / f"part-{index:05d}.parquet"
                ids = [s.id for s in part]
                if path.is_file():
                    table = pq.read_table(path).to_pydict()
                    if table["id"] == ids:
                        out += table["answer"]
                        resumed += len(part)
                        bar.advance(len(part))
                        continue
                started = time.time()
                texts = generate([s.image for s in part], [s.instruction for s in part])
                seconds = (time.time() - started) / max(1, len(part))
                _write_parquet(
                    [{"id": i, "answer": t, "seconds": seconds} for i, t in zip(ids, texts, strict=True)], path
                )
                out += texts
                bar.advance(len(part))
                log.info("evaluate: %s answers %d-%d of %d", name, start + 1, start + len(part), len(samples))
        answers[name] = out
    if resumed:
        log.info("evaluate: %d answers read back from an earlier, interrupted run", resumed)
    return answers


# ---------------------------------------------------------------------------------------------------- renders


def answer_code(benchmark: str, sample: BenchmarkSample, answer: str | None) -> tuple[str | None, str]:
    """(the code the benchmark's metric would run, its language) for showing an answer's render."""
    if benchmark == "chartmimic":
        from evaluation.metrics.chartmimic import answer_code as chart_code

        return chart_code(answer), "python"
    if benchmark == "unisvg":
        from evaluation.metrics.unisvg import answer_svg

        return answer_svg(answer)[0], "svg"
    if benchmark == "design2code":
        from evaluation.metrics.design2code import answer_html

        return answer_html(answer), "html"
    if benchmark == "chemdraw":
        from evaluation.metrics.chemdraw import answer_kind, smiles_token

        kind, text = answer_kind(answer)
        return (smiles_token(text) if kind == "smiles" and text else text), kind
    from training.answers import extract_code

    language = "latex" if benchmark == "image2struct" else sample.language
    return extract_code(answer, language).code, language


def render_answers(benchmark: str, samples: list[BenchmarkSample], answers: list[str | None]) -> list[bytes | None]:
    """PNGs of the answers, rendered in the sandbox (None where there is no code or it failed)."""
    from renderers.engine import default_engine
    from renderers.result import RenderOptions

    codes = [answer_code(benchmark, s, a) for s, a in zip(samples, answers, strict=True)]
    jobs = [(code, language, RenderOptions()) for code, language in codes if code]
    results = iter(default_engine().render_many(jobs))
    images: list[bytes | None] = []
    for code, _ in codes:
        result = next(results) if code else None
        images.append(result.image if result is not None and result.ok else None)
    return images


# ---------------------------------------------------------------------------------------------------- scoring


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=str)
    return value


def _judge(run: EvalRun, samples: list[BenchmarkSample], answers: list[str], rows: list[dict], summary: dict) -> None:
    """ChartMimic's high-level score through the configured judge endpoint, into the rows and the summary."""
    from evaluation.metrics.chartmimic_judge import judge_many
    from evaluation.metrics.chartmimic_judge import summary as judge_summary

    renders = render_answers("chartmimic", samples, answers)
    generated = [png if row.get("executed") else None for png, row in zip(renders, rows, strict=True)]
    keep = [i for i, row in enumerate(rows) if row.get("reference_ok", True)]
    scores = judge_many([samples[i].image for i in keep], [generated[i] for i in keep], run.recipe.judge)
    for i, s in zip(keep, scores, strict=True):
        rows[i].update(high_level=s.score, judge_error=s.error, judge_answer=s.raw)
    found = judge_summary(scores)
    summary.update(high_level=found["high_level"], judge=found, judge_model=run.recipe.judge.model)
    summary.pop("high_level_note", None)


def score_all(run: EvalRun, answers: dict[str, list[str]]) -> dict[str, dict[str, Any]]:
    """Per benchmark: rows, aggregate, primary scores; writes scores/<benchmark>.parquet and per_sample.parquet."""
    from evaluation.files import page_assets

    weights = run.recipe.weights.weights()
    results: dict[str, dict[str, Any]] = {}
    common: list[dict[str, Any]] = []
    for name, samples in run.samples.items():
        started = time.time()
        folder = samples[0].meta.get("folder")
        inputs = Inputs(
            answers[name],
            [s.reference for s in samples],
            weights,
            page_assets(Path(folder)) if folder else {},
            images=[s.image for s in samples] if _needs_images(name, samples) else None,
            languages=[s.language for s in samples],
            instructions=[s.instruction for s in samples],
        )
        rows, summary = score_benchmark(name, inputs)
        if name == "chartmimic" and run.recipe.judge is not None:
            _judge(run, samples, answers[name], rows, summary)
        primary, values = primary_scores(name, rows)
        table = []
        for sample, answer, row, value in zip(samples, answers[name], rows, values, strict=True):
            rendered = row.get("executed", row.get("rendered", row.get("valid")))
            table.append(
                {"id": sample.id, "language": sample.language, "primary": value, "answer": answer}
                | {k: _cell(v) for k, v in row.items()}
            )
            common.append(
                {
                    "run": run.output_dir.name,
                    "benchmark": name,
                    "id": sample.id,
                    "language": sample.language,
                    "primary": value,
                    "rendered": None if rendered is None else bool(rendered),
                    "reference_ok": bool(row.get("reference_ok", True)),
                    "error": None if row.get("error") is None else str(row["error"]),
                    "answer": answer,
                }
            )
        _write_parquet(table, run.output_dir / "scores" / f"{name}.parquet")
        summary["seconds"] = round(time.time() - started, 3)
        log.info("evaluate: scored %s (%d samples) in %.1f s", name, len(samples), summary["seconds"])
        results[name] = {"rows": rows, "summary": summary, "primary": primary, "values": values}
    _write_parquet(common, run.output_dir / "per_sample.parquet")
    return results


def _needs_images(name: str, samples: list[BenchmarkSample]) -> bool:
    """The visual metric compares with the target image; so does Image2Struct, whose released images are its
    official references (held-out LaTeX rows compile their reference code instead)."""
    return name == VISUAL or (name == "image2struct" and not samples[0].meta.get("dataset"))


# ---------------------------------------------------------------------------------------------------- report


def worst_examples(run: EvalRun, name: str, answers: list[str], values: list[float | None], rows: list[dict]):
    from evaluation.report import WorstExample

    k = run.recipe.worst_examples
    ranked = sorted((v, i) for i, v in enumerate(values) if v is not None)[:k]
    if not ranked:
        return []
    samples = run.samples[name]
    picked = [i for _, i in ranked]
    renders = render_answers(name, [samples[i] for i in picked], [answers[i] for i in picked])
    out = []
    for (value, i), png in zip(ranked, renders, strict=True):
        error = rows[i].get("error")
        head = (answers[i] or "").strip().splitlines()[:1]
        note = f"error: {error}" if error else f"answer: {head[0] if head else '(empty)'}"
        out.append(WorstExample(samples[i].id, value, samples[i].image, png, note))
    return out


def write_outputs(
    run: EvalRun, answers: dict[str, list[str]], scored: dict[str, dict[str, Any]], seconds: float
) -> dict[str, Any]:
    from evaluation.report import BenchmarkResult, write_report

    summaries = {name: r["summary"] for name, r in scored.items()}
    table = table3(summaries)
    results = []
    for name, r in scored.items():
        worst = worst_examples(run, name, answers[name], r["values"], r["rows"])
        ids = [s.id for s in run.samples[name]]
        results.append(BenchmarkResult(name, r["primary"], ids, r["values"], r["summary"], worst))
    meta = {
        "model": run.recipe.model.path,
        "checkpoint": run.model_path,
        "generation": run.recipe.generation.model_dump(exclude={"api_key_env"}),
        "samples": {DISPLAY.get(n, n): len(s) for n, s in run.samples.items()},
        "sources": run.sources,
        "judge": run.recipe.judge.model if run.recipe.judge else "not configured",
        "run": str(run.output_dir),
        "seconds": round(seconds, 1),
    }
    files = write_report(
        run.output_dir, title=f"Evaluation `{run.recipe.name}`", table=table, results=results, meta=meta
    )
    summary = {
        "recipe": run.recipe.name,
        "run": str(run.output_dir),
        "model": run.model_path,
        "samples": {n: len(s) for n, s in run.samples.items()},
        "benchmarks": summaries,
        "table": table,
        "report": str(files.markdown),
        "report_html": str(files.html),
        "plots": [str(p) for p in files.plots],
        "per_sample": str(run.output_dir / "per_sample.parquet"),
        "seconds": round(seconds, 3),
    }
    (run.output_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return summary


# ---------------------------------------------------------------------------------------------------- driver


def run_evaluation(
    recipe: str | dict[str, Any] | EvalRecipe,
    root: str | None = None,
    overrides: dict[str, Any] | None = None,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Evaluate (or find finished) the recipe; returns the summary also saved as `_done.json`."""
    run = plan_eval(recipe, root, overrides)
    if run.done_file.exists():
        summary = json.loads(run.done_file.read_text())
        return {**summary, "cached": True}
    run.output_dir.mkdir(parents=True, exist_ok=True)
    resolved = run.recipe.model_dump(mode="json")
    resolved["model"]["path"] = run.model_path
    resolved["sources"] = run.sources
    (run.output_dir / "recipe.yaml").write_text(yaml.safe_dump(resolved, sort_keys=False))
    started = time.time()
    generator = _LazyGenerator(run)
    try:
        answers = generate_answers(run, generator, progress)
    finally:
        generator.close()
    scored = score_all(run, answers)
    summary = write_outputs(run, answers, scored, time.time() - started)
    summary["cached"] = False
    run.done_file.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    if run.output_dir.parent == local_root(run.root) / HOME:
        (run.output_dir.parent / LATEST_RUN).write_text(run.output_dir.name + "\n")
    return summary


def table_text(table: list[dict[str, Any]]) -> str:
    """Table 3 as aligned plain text for a terminal."""
    lines = []
    width = max((len(r["benchmark"]) + len(r["metric"]) for r in table), default=0) + 3
    for r in table:
        value = "not run" if r["value"] is None else f"{r['value']:.1f}"
        label = f"{r['benchmark']} / {r['metric']}"
        lines.append(f"{label:<{width}} {value:>8}  {r.get('note') or ''}".rstrip())
    return "\n".join(lines)
