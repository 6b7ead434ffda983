"""One entry point over the five benchmark metrics (and the held-out `visual` one), and the paper's Table 3.

`score_benchmark(benchmark, answers, references, weights)` returns per-sample rows (in input order) and the
benchmark's own aggregate; `vinci eval` (evaluation/files.py) and the evaluation stage (evaluation/stage.py) both
call it. `primary_scores` picks, per sample, the one 0-100 number the report ranks and plots, and `table3` lays
the aggregates out as benchmark x metric rows.

A benchmark item whose reference itself fails (a script that no longer runs, LaTeX that no longer compiles, a
SMILES that does not parse) is marked `reference_ok = False`, reported as broken, and left out of the means,
as ChartMimic and Design2Code do; every other failure is the model's and scores zero.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

VISUAL = "visual"


@dataclass(frozen=True)
class Weights:
    """Optional model weights and choices of the metrics that need them (local paths; None = not run)."""

    clip: str | None = None  # CLIP folder: UniSVG (ViT-L/14-336), Design2Code (ViT-B/32)
    lpips: str | None = None  # folder with alexnet.pth + alex.pth (UniSVG's LPIPS)
    fingerprint: str = "rdkit"  # ChemDraw: rdkit | morgan2
    reward_encoder: str = "ssim"  # held-out `visual` rows: the ViRL reward's encoder


@dataclass
class Inputs:
    answers: Sequence[str | None]  # raw answers; None = no answer
    references: Sequence[str]  # reference code / SMILES
    weights: Weights
    assets: dict[str, str]  # design2code: files every page may load
    images: Sequence[bytes] | None = None  # the target images (image2struct, visual)
    languages: Sequence[str] | None = None  # visual: each row's language
    instructions: Sequence[str] | None = None  # visual: what each row asked


Result = tuple[list[dict[str, Any]], dict[str, Any]]


def _chartmimic(x: Inputs) -> Result:
    from evaluation.metrics.chartmimic import aggregate, score_many

    scores = score_many(x.answers, x.references)
    return [s.row() for s in scores], aggregate(scores)


def _unisvg(x: Inputs) -> Result:
    from evaluation.metrics.unisvg import UniSVGScorer, aggregate

    scorer = UniSVGScorer(lpips_weights=x.weights.lpips, clip_path=x.weights.clip)
    scores = scorer.score_many(list(zip(x.answers, x.references, strict=True)))
    return [asdict(s) for s in scores], aggregate(scores)


def _image2struct(x: Inputs) -> Result:
    """The answer's LaTeX (`extract_code`) against the reference image when the benchmark ships one (Image2Struct's
    images are the official references), else against the reference code compiled the same way."""
    from evaluation.metrics.image2struct import aggregate, score
    from training.answers import extract_code

    rows, valid = [], []
    for i, (answer, reference) in enumerate(zip(x.answers, x.references, strict=True)):
        target = x.images[i] if x.images is not None else reference
        try:
            s = score(extract_code(answer, "latex").code, target)
        except ValueError as exc:  # the reference does not compile: a broken item
            rows.append({"rendered": False, "ems": 0.0, "error": str(exc)[:500], "reference_ok": False})
            continue
        valid.append(s)
        rows.append({**asdict(s), "reference_ok": True})
    summary = aggregate(valid)
    summary["broken_references"] = len(rows) - len(valid)
    return rows, summary


def _chemdraw(x: Inputs) -> Result:
    from evaluation.metrics.chemdraw import FINGERPRINTS, ChemDrawScore, aggregate, parse_smiles, score

    if x.weights.fingerprint not in FINGERPRINTS:
        raise ValueError(f"unknown fingerprint {x.weights.fingerprint!r}; choose one of {FINGERPRINTS}")
    rows, valid = [], []
    for answer, reference in zip(x.answers, x.references, strict=True):
        smiles = reference.strip().split()[0] if reference.strip() else reference
        if parse_smiles(smiles) is None:  # the reference does not parse: a broken item
            error = f"reference failed: {smiles[:200]!r} is not a valid molecule"
            broken = ChemDrawScore(False, 0.0, None, error, x.weights.fingerprint)
            rows.append({**asdict(broken), "reference_ok": False})
            continue
        s = score(answer, smiles, fingerprint=x.weights.fingerprint)
        valid.append(s)
        rows.append({**asdict(s), "reference_ok": True})
    summary = aggregate(valid, x.weights.fingerprint)
    summary["broken_references"] = len(rows) - len(valid)
    return rows, summary


def _design2code(x: Inputs) -> Result:
    from evaluation.metrics.design2code import aggregate, score_many

    rows = score_many(x.answers, x.references, clip_path=x.weights.clip, assets=x.assets)
    return rows, aggregate(rows)


def _visual(x: Inputs) -> Result:
    """Held-out rows of languages no benchmark covers: rendered or not, and the ViRL visual score (0-1) of the render
    against the row's image with `weights.reward_encoder`; a failure scores 0."""
    from training.rewards.scorer import RewardConfig, RewardScorer, Rollout

    if x.images is None:
        raise ValueError("the visual benchmark needs the target images")
    languages = x.languages or [None] * len(x.answers)
    instructions = x.instructions or [None] * len(x.answers)
    rollouts = [
        Rollout(image, answer or "", instruction, language)
        for image, answer, instruction, language in zip(x.images, x.answers, instructions, languages, strict=True)
    ]
    with RewardScorer(RewardConfig(encoder=x.weights.reward_encoder)) as scorer:
        results = scorer.score(rollouts)
    rows = [
        {
            "rendered": r.render_ok,
            "visual": r.visual,
            "alignment": r.alignment,
            "language": r.language,
            "error": r.error_kind,
        }
        for r in results
    ]
    n = len(rows)
    summary = {
        "n": n,
        "exec_rate": 100.0 * sum(r["rendered"] for r in rows) / n if n else None,
        "visual": 100.0 * sum(r["visual"] for r in rows) / n if n else None,
        "encoder": results[0].encoder if results else x.weights.reward_encoder,
    }
    return rows, summary


SCORERS: dict[str, Callable[[Inputs], Result]] = {
    "chartmimic": _chartmimic,
    "design2code": _design2code,
    "unisvg": _unisvg,
    "image2struct": _image2struct,
    "chemdraw": _chemdraw,
    VISUAL: _visual,
}


def score_benchmark(benchmark: str, inputs: Inputs) -> Result:
    if benchmark not in SCORERS:
        raise ValueError(f"no metric for benchmark {benchmark!r}; known: {', '.join(SCORERS)}")
    if len(inputs.answers) != len(inputs.references):
        raise ValueError(f"{len(inputs.answers)} answers for {len(inputs.references)} references")
    return SCORERS[benchmark](inputs)


# ------------------------------------------------------------------------------------------- per-sample primary


def _pct(value: Any) -> float | None:
    return None if value is None else 100.0 * float(value)


def _design2code_primary(row: dict[str, Any]) -> float | None:
    if row.get("score") is not None:
        return _pct(row["score"])
    blocks = [row.get(k) for k in ("block_match", "text", "position", "color")]
    return None if any(b is None for b in blocks) else 25.0 * sum(float(b) for b in blocks)


def _unisvg_primary(row: dict[str, Any]) -> float | None:
    return _pct(row["ssim"] if row.get("score") is None else row["score"])


PRIMARY: dict[str, Callable[[dict[str, Any]], float | None]] = {
    "chartmimic": lambda r: r.get("low_level"),
    "design2code": _design2code_primary,
    "unisvg": _unisvg_primary,
    "image2struct": lambda r: _pct(r.get("ems")),
    "chemdraw": lambda r: _pct(r.get("tanimoto")),
    VISUAL: lambda r: _pct(r.get("visual")),
}


def primary_name(benchmark: str, rows: list[dict[str, Any]]) -> str:
    """What the per-sample primary score is, given whether the learned metrics ran."""
    if benchmark == "design2code":
        return "page score" if any(r.get("score") is not None for r in rows) else "block mean (no CLIP)"
    if benchmark == "unisvg":
        return "score" if any(r.get("score") is not None for r in rows) else "ssim (no LPIPS/CLIP)"
    return {"chartmimic": "low_level", "image2struct": "ems", "chemdraw": "tanimoto", VISUAL: "visual"}[benchmark]


def primary_scores(benchmark: str, rows: list[dict[str, Any]]) -> tuple[str, list[float | None]]:
    """(name, per-sample 0-100 score) for the report; None for broken reference items."""
    pick = PRIMARY[benchmark]
    return primary_name(benchmark, rows), [pick(r) if r.get("reference_ok", True) else None for r in rows]


# ---------------------------------------------------------------------------------------------------- Table 3

DISPLAY = {
    "chartmimic": "ChartMimic",
    "design2code": "Design2Code",
    "unisvg": "UniSVG",
    "image2struct": "Image2Struct-LaTeX",
    "chemdraw": "ChemDraw",
    VISUAL: "Held-out (visual)",
}


def _mean(values: list[float | None]) -> float | None:
    return None if any(v is None for v in values) else sum(values) / len(values)  # type: ignore[arg-type]


def _columns(benchmark: str, s: dict[str, Any]) -> list[tuple[str, float | None, str]]:
    """(metric, value on 0-100, note) in the paper's order for one benchmark's aggregate."""
    if benchmark == "chartmimic":
        return [
            ("Exec rate", s.get("exec_rate"), ""),
            ("Low-level", s.get("low_level"), ""),
            ("High-level", s.get("high_level"), s.get("high_level_note") or ""),
        ]
    if benchmark == "design2code":
        blocks = [s.get(k) for k in ("block_match", "text", "position", "color")]
        low = _mean(blocks) if blocks and all(b is not None for b in blocks) else None
        return [
            ("Low-level", _pct(low), "mean of block-match, text, position, colour"),
            ("High-level", _pct(s.get("clip")), s.get("clip_note") or "CLIP"),
        ]
    if benchmark == "unisvg":
        note = s.get("note") or ""
        return [
            ("SSIM", _pct(s.get("ssim")), "part of low-level"),
            ("Low-level", _pct(s.get("low_level")), note),
            ("High-level", _pct(s.get("high_level")), note),
            ("Score", _pct(s.get("score")), note),
        ]
    if benchmark == "image2struct":
        return [("Rendering success", s.get("rendering_success_rate"), ""), ("EMS", s.get("ems"), "")]
    if benchmark == "chemdraw":
        return [
            ("Exec rate", s.get("exec_rate"), ""),
            ("Tanimoto", s.get("tanimoto"), f"fingerprint {s.get('fingerprint')}"),
        ]
    return [("Exec rate", s.get("exec_rate"), ""), ("Visual", s.get("visual"), f"encoder {s.get('encoder')}")]


def table3(summaries: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows {benchmark, metric, value (0-100 or None = not run), note}, benchmarks in the paper's order."""
    rows = []
    for benchmark in (b for b in DISPLAY if b in summaries):
        for metric, value, note in _columns(benchmark, summaries[benchmark]):
            rows.append(
                {
                    "benchmark": DISPLAY[benchmark],
                    "metric": metric,
                    "value": None if value is None else round(float(value), 2),
                    "note": note if value is None or not note.startswith("not run") else "",
                }
            )
    return rows
