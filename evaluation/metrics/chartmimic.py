"""ChartMimic (chart image -> matplotlib), direct generation: execution rate and the low-level score.

Per sample, the generated answer's code is the first ```python block (the whole answer when it has no fence, as
in a prediction file that holds plain code). It and the reference script both run in the render sandbox with
ChartMimic's instrumentation on (`RenderOptions(python_instrument="chartmimic")`, renderers/instrument.py): the
engine captures the figure however the script ends (a `plt.savefig` to any file, `plt.show()` or nothing), which
is what ChartMimic's "drop savefig/show, append a save" achieves, and returns the log of what was drawn (texts
without tick labels, subplot layouts, plotting calls per kind, colours per kind). Executed = the generated script
produced a figure. The four F1 scores and their mean come from `chartmimic_scores.low_level`; a sample that did
not execute scores 0 on all of them, and `aggregate` averages over ALL samples. A reference script that fails is a
broken benchmark item: reported (`broken_references`) and left out of the means. As in ChartMimic, a chart with
no text at all scores 0 on text even against itself (an empty side gives F1 0).

The high-level score needs a judge model behind an OpenAI-compatible endpoint; without one it is reported as not
run (`aggregate(...)["high_level"]` is None with the reason in `high_level_note`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from evaluation.metrics.chartmimic_scores import ChartLog, low_level
from evaluation.metrics.chartmimic_scores import aggregate as aggregate_low_level
from training.answers import fenced_blocks

TIMEOUT_S = 60.0  # per script, as ChartMimic gives each script a generous limit


@dataclass
class ChartMimicScore:
    executed: bool
    text: float
    layout: float
    type: float
    color: float
    low_level: float
    error: str | None = None
    reference_ok: bool = True  # False: the reference script itself failed (a broken item, left out of the means)

    def row(self) -> dict[str, Any]:
        return asdict(self)


def answer_code(answer: str | None) -> str | None:
    """The first ```python block of the answer; the whole answer when it has no fenced block at all."""
    if not answer or not answer.strip():
        return None
    blocks = fenced_blocks(answer)
    python = [b for b in blocks if b.language == "python"]
    if python:
        return python[0].code or None
    if blocks:
        return None  # fenced, but not python: no code in the requested language
    return answer


def _options(timeout_s: float):
    from renderers.result import RenderOptions

    return RenderOptions(python_instrument="chartmimic", timeout_s=timeout_s)


def _log(result) -> ChartLog | None:
    if not result.ok:
        return None
    data = (result.diagnostics or {}).get("chartmimic")
    return ChartLog.from_dict(data) if data and "error" not in data else None


def score_many(
    answers: Sequence[str | None], references: Sequence[str], *, engine: Any = None, timeout_s: float = TIMEOUT_S
) -> list[ChartMimicScore]:
    """Scores of (answer, reference script) pairs, in order; every script runs in parallel in the sandbox pools."""
    from renderers.engine import default_engine

    if len(answers) != len(references):
        raise ValueError(f"{len(answers)} answers for {len(references)} references")
    engine = engine or default_engine()
    options = _options(timeout_s)
    codes = [answer_code(a) for a in answers]
    jobs = [(ref, "python", options) for ref in references]
    jobs += [(code, "python", options) for code in codes if code is not None]
    results = list(engine.render_many(jobs))
    ref_results, gen_results = results[: len(references)], iter(results[len(references) :])
    scores = []
    for code, ref_result in zip(codes, ref_results, strict=True):
        ref_log = _log(ref_result)
        gen_result = next(gen_results) if code is not None else None
        if ref_log is None:
            error = f"reference failed: {ref_result.error_kind}: {ref_result.error_message}"[:500]
            scores.append(ChartMimicScore(**_zero(), error=error, reference_ok=False))
            continue
        if code is None:
            scores.append(ChartMimicScore(**_zero(), error="no python code in the answer"))
            continue
        gen_log = _log(gen_result)
        error = None if gen_log is not None else f"{gen_result.error_kind}: {gen_result.error_message}"[:500]
        scores.append(ChartMimicScore(**low_level(gen_log, ref_log), error=error))
    return scores


def score(answer: str | None, reference: str, *, engine: Any = None, timeout_s: float = TIMEOUT_S) -> ChartMimicScore:
    return score_many([answer], [reference], engine=engine, timeout_s=timeout_s)[0]


def _zero() -> dict[str, Any]:
    return low_level(None, ChartLog([], [], {}, {}))


def aggregate(scores: Sequence[ChartMimicScore]) -> dict[str, Any]:
    """exec_rate and the four F1s and low-level score (0-100) over ALL samples whose reference runs (items whose
    reference script fails are broken and counted in `broken_references`); the judge's score is not run here."""
    summary = aggregate_low_level([s.row() for s in scores if s.reference_ok])
    summary["broken_references"] = sum(not s.reference_ok for s in scores)
    summary["high_level"] = None
    summary["high_level_note"] = "not run: no judge endpoint (set `judge` in the evaluation recipe)"
    return summary
