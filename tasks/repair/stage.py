"""The repair stage: fix chart code with Ruff and heuristics, and prove the fixes by rendering.

Rows in the configured languages (Python by default) go through `tasks.repair.fix.repair_batch` a whole shard
at a time (Ruff runs a few times per shard, not once per row). A row keeps its original code in
`code_original` when repair changed it, lists what fired in `repair_fixes`, and says in `parse_ok` whether the
result compiles. With `prove` on, the original and the repaired code are both rendered with the render engine
and the outcomes land in `repair_render_before` / `repair_render_after`; the stage's report (tasks/repair/
report.py) gives parse and render rates before and after, per source. Code that still does not parse is
rejected as `unparseable` (unless `drop_unparseable: false`); rows in other languages pass through untouched.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from pydantic import Field

from renderers.result import RenderOptions
from schemas.languages import LANGUAGES
from tasks.derived import EngineStage, RenderingConfig
from tasks.repair.fix import RepairOutcome, repair_batch
from tasks.repair.report import report_rows, row_counts
from tasks.stage import Rejection, Tally


class RepairConfig(RenderingConfig):
    """Which dataset to repair, which fixes to apply and how to prove them (render options: the proof's)."""

    input: str = Field("ingest", min_length=1, description="stage whose dataset is repaired")
    languages: list[str] = Field(["python"], description="languages repaired; other rows pass through")
    ruff: bool = Field(True, description="run Ruff's fixes and formatter (tasks/repair/ruff_fix.py)")
    heuristics: list[str] | None = Field(None, description="heuristics to apply (default: all)")
    drop_unparseable: bool = Field(True, description="reject code that still does not parse after repair")
    prove: Literal["off", "changed", "all"] = Field(
        "changed",
        description="render original and repaired code: off, for rows whose code a fix changed (formatting alone "
        "does not count), or for all rows",
    )

    def model_post_init(self, context: Any) -> None:
        unknown = sorted(set(self.languages) - set(LANGUAGES))
        if unknown:
            raise ValueError(f"unknown language(s) {unknown}; known: {', '.join(LANGUAGES)}")


class RepairStage(EngineStage):
    name = "repair"
    adds = ("repair",)
    code_modules = ("tasks.repair", "tasks.derived", "schemas")
    config: RepairConfig

    @property
    def executor(self) -> str:  # type: ignore[override]
        # the proof renders through this process's engine pools; without it, shards are plain CPU work
        return "processes" if self.config.prove == "off" else "threads"

    def identity(self) -> dict[str, Any]:
        identity = super().identity()
        if self.config.prove == "off":
            identity.pop("options", None)  # render options do not matter when nothing is rendered
        return identity

    def process(self, spec: dict[str, Any]) -> Iterator[dict[str, Any] | Rejection | Tally]:
        rows = self.read_rows(spec)
        targets = [i for i, row in enumerate(rows) if row["language"] in self.config.languages]
        heuristics = tuple(self.config.heuristics) if self.config.heuristics is not None else None
        repaired = repair_batch([rows[i]["code"] for i in targets], ruff=self.config.ruff, heuristics=heuristics)
        outcomes = dict(zip(targets, repaired, strict=True))
        proofs = self._prove(rows, outcomes)
        for i, row in enumerate(rows):
            outcome = outcomes.get(i)
            if outcome is None:
                yield row
                continue
            changed = outcome.code != row["code"]
            proof = proofs.get(i)
            for name in row_counts(
                row["source"], changed=changed, parse_before=outcome.parse_ok_before, parse_after=outcome.parse_ok,
                proof=proof,
            ):  # fmt: skip
                yield Tally(name)
            for fix in outcome.fixes:
                yield Tally(f"fix.{fix}")
            out = {
                **row,
                "code": outcome.code,
                "code_original": row["code"] if changed else None,
                "repair_fixes": list(outcome.fixes),
                "parse_ok": outcome.parse_ok,
                "repair_render_before": proof[0] if proof else None,
                "repair_render_after": proof[1] if proof else None,
            }
            if not outcome.parse_ok and self.config.drop_unparseable:
                yield Rejection("unparseable", outcome.error or "does not parse after repair", out)
            else:
                yield out

    def _prove(self, rows: list[dict[str, Any]], outcomes: dict[int, RepairOutcome]) -> dict[int, tuple[bool, bool]]:
        """Render original and repaired code of the rows to prove; {row index: (ok before, ok after)}."""
        mode = self.config.prove
        if mode == "off":
            return {}
        chosen = [i for i, o in outcomes.items() if mode == "all" or _semantic_fixes(o)]
        jobs: list[tuple[str, str, RenderOptions]] = []
        for i in chosen:
            language, options = rows[i]["language"], self.config.options
            jobs.append((rows[i]["code"], language, options))
            if outcomes[i].code != rows[i]["code"]:
                jobs.append((outcomes[i].code, language, options))
        results = iter(self.engine.render_many(jobs) if jobs else [])
        proofs = {}
        for i in chosen:
            before = next(results).ok
            after = next(results).ok if outcomes[i].code != rows[i]["code"] else before
            proofs[i] = (before, after)
        return proofs

    def report(self, counters: dict[str, int]) -> list[dict[str, Any]]:
        """Parse and render rates before and after, per source (the stage's report artifact)."""
        return report_rows(counters)


def _semantic_fixes(outcome: RepairOutcome) -> list[str]:
    """Fixes that can change what the code does (formatting alone leaves the syntax tree as it was)."""
    return [fix for fix in outcome.fixes if fix != "ruff:format"]
