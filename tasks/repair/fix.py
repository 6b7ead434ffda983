"""The code-fixing core of the repair stage: many Python chart scripts in, repaired scripts and what fired out.

VinciCoder (arXiv 2511.00391, §3.2.1) corrects Chart2Code code "with the Ruff linter and custom heuristics". This
is that step without rendering. Per batch, in order:

1. ``strip_fences`` — the script out of an LLM answer (fences, prose);
2. syntax heuristics, only while the code does not compile: ``mixed_tabs``, ``py2_print``, ``truncated_tail``
   (repeated up to three rounds, since one fix can uncover the next error);
3. Ruff diagnostics (one process per ≤500 snippets): F821 undefined names;
4. ``missing_imports`` (from the F821 names), ``deprecated_matplotlib``, ``drop_show``;
5. Ruff fixes (one process), then Ruff format (one process) for the snippets that compile.

Nothing here raises for one bad snippet (NUL bytes, lone surrogates, huge or empty strings): its outcome says
``parse_ok=False`` and why. Snippets over ``MAX_CHARS`` are not repaired at all. The result is deterministic.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field

from tasks.repair import ruff_fix
from tasks.repair.fences import strip_fences
from tasks.repair.heuristics import HEURISTICS, SYNTAX_FIXERS
from tasks.repair.modernize import deprecated_matplotlib, drop_show, missing_imports
from tasks.repair.syntax import compiles, describe, first_error

log = logging.getLogger(__name__)

MAX_CHARS = 200_000  # chart scripts are a few KB; the pure-Python tokenizer is slow on megabytes
SYNTAX_ROUNDS = 3


@dataclass
class RepairOutcome:
    code: str  # repaired code (the input when nothing applied)
    # what fired, in order: heuristic names, "ruff:<CODE>" per rule Ruff fixed, "ruff:format" when formatting changed it
    fixes: list[str] = field(default_factory=list)
    parse_ok: bool = False  # the repaired code compiles (compile(code, "<chart>", "exec"))
    parse_ok_before: bool = False
    error: str | None = None  # why it still does not parse, when it does not


def _fire(outcome: RepairOutcome, name: str, fixer: Callable[[str], str | None]) -> bool:
    """Run one heuristic; record it when it changed the code. A crashing heuristic is logged and skipped."""
    try:
        new = fixer(outcome.code)
    except Exception:  # a heuristic's bug must not sink the batch
        log.exception("repair heuristic %s failed", name)
        return False
    if new is None or new == outcome.code:
        return False
    outcome.code = new
    if name not in outcome.fixes:
        outcome.fixes.append(name)
    return True


def _syntax_pass(outcome: RepairOutcome, enabled: set[str]) -> None:
    """Fences first, then the syntax fixers in rounds until the code compiles or nothing changes."""
    if "strip_fences" in enabled:
        _fire(outcome, "strip_fences", strip_fences)
    for _ in range(SYNTAX_ROUNDS):
        changed = False
        for name, fixer in SYNTAX_FIXERS.items():
            if name in enabled:  # each fixer checks for itself whether the code needs it
                changed |= _fire(outcome, name, fixer)
        if not changed or compiles(outcome.code):
            return


def _check(codes: list[str], heuristics: tuple[str, ...] | None) -> set[str]:
    if not isinstance(codes, list | tuple):
        raise TypeError(f"repair_batch takes a list of code strings, not {type(codes).__name__}")
    enabled = set(HEURISTICS if heuristics is None else heuristics)
    unknown = enabled - set(HEURISTICS)
    if unknown:
        raise ValueError(f"unknown heuristics {sorted(unknown)}; known: {', '.join(HEURISTICS)}")
    return enabled


def repair_batch(
    codes: list[str], *, ruff: bool = True, heuristics: tuple[str, ...] | None = None
) -> list[RepairOutcome]:
    """Repair every snippet; ``heuristics`` limits the heuristics by name (None: all of ``HEURISTICS``)."""
    enabled = _check(codes, heuristics)
    outcomes: list[RepairOutcome] = []
    active: list[int] = []  # indices that take part in repair
    for code in codes:
        if not isinstance(code, str):
            outcomes.append(RepairOutcome(code="", error=f"not a string: {type(code).__name__}"))
            continue
        outcome = RepairOutcome(code=code)
        outcomes.append(outcome)
        if len(code) > MAX_CHARS:
            outcome.error = f"too large to repair ({len(code)} characters > {MAX_CHARS})"
            continue
        outcome.parse_ok_before = compiles(code)
        _syntax_pass(outcome, enabled)
        active.append(len(outcomes) - 1)

    with ruff_fix.RuffBatch([outcomes[i].code for i in active]) if ruff and active else nullcontext() as batch:
        diagnostics = batch.diagnose() if batch is not None and "missing_imports" in enabled else None
        for k, i in enumerate(active):
            _modernize(outcomes[i], enabled, diagnostics[k].undefined if diagnostics is not None else None)
        if batch is not None:
            _ruff_pass(batch, [outcomes[i] for i in active])
    for outcome in outcomes:
        if outcome.error is not None:
            continue  # not a string, or too large: left as it was, parse_ok False
        error = first_error(outcome.code)
        outcome.parse_ok = error is None
        outcome.error = None if error is None else describe(error)
    return outcomes


def _modernize(outcome: RepairOutcome, enabled: set[str], undefined: list[str] | None) -> None:
    """missing_imports (from Ruff's F821 names, or the AST fallback without Ruff), deprecated API, show()."""
    if "missing_imports" in enabled and (undefined is None or undefined):
        _fire(outcome, "missing_imports", lambda code: missing_imports(code, undefined))
    if "deprecated_matplotlib" in enabled:
        _fire(outcome, "deprecated_matplotlib", deprecated_matplotlib)
    if "drop_show" in enabled:
        _fire(outcome, "drop_show", drop_show)


def _ruff_pass(batch: ruff_fix.RuffBatch, outcomes: list[RepairOutcome]) -> None:
    """Ruff's fixes, then Ruff's formatter on what compiles; a result that compiles worse is thrown away."""
    for k, outcome in enumerate(outcomes):
        batch.set(k, outcome.code)
    for k, (outcome, rules) in enumerate(zip(outcomes, batch.fix(), strict=True)):
        fixed = batch.codes[k]
        if fixed != outcome.code and compiles(fixed) >= compiles(outcome.code):
            outcome.code = fixed
            outcome.fixes.extend(f"ruff:{rule}" for rule in rules if f"ruff:{rule}" not in outcome.fixes)
        else:
            batch.set(k, outcome.code)
    parsed = [k for k, outcome in enumerate(outcomes) if compiles(outcome.code)]
    for k, done in enumerate(batch.format(parsed)):
        formatted = batch.codes[k]
        if done and formatted != outcomes[k].code and compiles(formatted):
            outcomes[k].code = formatted
            outcomes[k].fixes.append("ruff:format")
