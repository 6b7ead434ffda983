"""Repair Python files: the logic behind `vinci repair PATH... --out DIR`.

Every `.py` file under the given paths is repaired in one batch; the repaired files are written under DIR with
their paths relative to the argument they came from (`DIR/<argument name>/<relative path>`), and
`DIR/repair.parquet` has one row per file: path, source (the argument), fixes, parse and render outcomes before
and after, and the error of code that still does not parse. The report groups rates by argument, as the
stage's report groups them by source.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from tasks.repair.fix import repair_batch
from tasks.repair.report import report_rows, row_counts


def collect(paths: list[Path]) -> list[tuple[str, Path, Path]]:
    """(source name, file, path relative to its argument) for every .py file under `paths`."""
    found = []
    for arg in paths:
        arg = Path(arg)
        if not arg.exists():
            raise FileNotFoundError(f"{arg} does not exist")
        files = [arg] if arg.is_file() else sorted(p for p in arg.rglob("*.py") if p.is_file())
        for f in files:
            found.append(
                (
                    arg.stem if arg.is_file() else arg.resolve().name,
                    f,
                    f.relative_to(arg) if arg.is_dir() else Path(f.name),
                )
            )
    return found


def repair_files(
    paths: list[Path], out: Path, *, render: bool = True, timeout_s: float | None = None, workers: int | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Repair every file; returns (per-file rows, report rows)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    items = collect(paths)
    codes = [f.read_bytes().decode("utf-8", errors="replace") for _, f, _ in items]
    outcomes = repair_batch(codes)
    proofs: list[tuple[bool, bool] | None] = [None] * len(items)
    if render and items:
        proofs = _prove(codes, [o.code for o in outcomes], timeout_s, workers)
    rows, counts = [], Counter()
    for (source, path, rel), code, outcome, proof in zip(items, codes, outcomes, proofs, strict=True):
        target = out / source / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(outcome.code, encoding="utf-8")
        changed = outcome.code != code
        counts.update(
            row_counts(
                source, changed=changed, parse_before=outcome.parse_ok_before, parse_after=outcome.parse_ok, proof=proof
            )
        )
        rows.append(
            {
                "path": str(path),
                "source": source,
                "output": str(target),
                "changed": changed,
                "fixes": list(outcome.fixes),
                "parse_before": outcome.parse_ok_before,
                "parse_after": outcome.parse_ok,
                "render_before": proof[0] if proof else None,
                "render_after": proof[1] if proof else None,
                "error": outcome.error,
            }
        )
    out.mkdir(parents=True, exist_ok=True)
    if rows:
        pq.write_table(pa.Table.from_pylist(rows), out / "repair.parquet")
    return rows, report_rows(counts)


def _prove(before: list[str], after: list[str], timeout_s: float | None, workers: int | None):
    from renderers.engine import EngineConfig, RenderEngine
    from renderers.result import RenderOptions

    options = RenderOptions(timeout_s=timeout_s) if timeout_s else RenderOptions()
    jobs = [(code, "python", options) for code in before]
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    jobs += [(after[i], "python", options) for i in changed]
    with RenderEngine(EngineConfig(sandbox_workers=workers)) as engine:
        results = list(engine.render_many(jobs))
    ok_before = [r.ok for r in results[: len(before)]]
    ok_after = list(ok_before)
    for i, r in zip(changed, results[len(before) :], strict=True):
        ok_after[i] = r.ok
    return list(zip(ok_before, ok_after, strict=True))
