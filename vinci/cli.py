"""`vinci`: run stages, query artifacts and check the machine from the command line.

Stages run as Prefect flows by default (against `PREFECT_API_URL` when set, else a temporary local server);
`--local` runs the same stage functions without Prefect.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:
    import polars as pl

# Prefect defaults that suit a CLI on a closed network; a user's own settings win.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)

DataRootOpt = Annotated[
    str | None, typer.Option("--data-root", help="where datasets live (default: VINCI_DATA_ROOT or ./data)")
]
WorkersOpt = Annotated[int | None, typer.Option("--workers", "-w", min=1, help="worker processes (default: CPUs)")]
LocalOpt = Annotated[bool, typer.Option("--local", help="run without Prefect (plain process pool)")]
RunnerOpt = Annotated[
    str | None,
    typer.Option("--runner", help="where shard tasks run: local (default), dask, or a YAML file (flows/runner.py)"),
]
ProgressOpt = Annotated[
    bool | None, typer.Option("--progress/--no-progress", help="progress bar (default: when on a terminal)")
]


def _fail(message: str) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def _print_summary(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(summary, indent=2, default=str))
        return
    if summary.get("stage") in ("sft", "virl"):
        from vinci.training_cli import print_training

        print_training(summary)
        return
    if summary.get("stage") == "merge":
        from vinci.training_cli import print_merge

        print_merge(summary)
        return
    if summary.get("stage") == "evaluate":
        from vinci.eval_cli import print_evaluation

        print_evaluation(summary)
        return
    typer.secho(f"{summary['stage']} {summary['version']}: {summary['rows']} rows, {summary['rejected']} rejected")
    typer.echo(f"  written to {summary['uri']}")
    for domain, n in summary["rows_by_domain"].items():
        typer.echo(f"  {domain:<10} {n:>8}")
    for reason, n in summary["rejected_by_reason"].items():
        typer.echo(f"  rejected {reason:<24} {n:>6}")
    report = summary.get("report") or []
    for name, n in summary.get("counters", {}).items():
        if not (report and name.startswith(f"{summary['stage']}.")):  # those are in the report below
            typer.echo(f"  {name:<19} {n:>8}")
    if report:
        typer.echo(_table(report))


def _table(rows: list[dict[str, Any]]) -> str:
    """Rows of dicts as a fixed-width text table (None shown as -)."""
    keys = list(rows[0])
    cells = [[("-" if r.get(k) is None else str(r.get(k))) for k in keys] for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    lines = ["  " + "  ".join(k.rjust(w) for k, w in zip(keys, widths, strict=True))]
    lines += ["  " + "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)


def _run(
    stage_name: str,
    config: Any,
    data_root: str | None,
    workers: int | None,
    local: bool,
    progress,
    runner: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> dict:
    from training.runs import TrainingError
    from vinci.config import ConfigError

    if runner and runner != "local" and local:
        _fail("--runner needs Prefect; drop --local")
    try:
        if local and stage_name in ("merge", "sft", "virl"):
            from vinci.training_cli import run_training

            return run_training(stage_name, config, data_root, overrides)
        if local:
            from flows.stage import summarize
            from tasks.executor import run_local
            from tasks.registry import build_stage

            stage = build_stage(stage_name, config, data_root)
            if workers and "workers" in type(stage.config).model_fields:  # as the flows do: sizes the stage's pools
                stage.config = stage.config.model_copy(update={"workers": workers})
            manifest = run_local(stage, workers or getattr(stage.config, "workers", None), progress)
            return summarize(manifest, stage.report(manifest.extra.get("counters", {})))
        from flows.pipeline import FLOWS
        from flows.runner import CLUSTER_STAGES, load_runner

        extra = {}
        if runner:
            if stage_name not in CLUSTER_STAGES:
                _fail(f"--runner applies to {', '.join(CLUSTER_STAGES)}, not {stage_name}")
            extra["runner"] = load_runner(runner).model_dump()
        if overrides:
            extra["overrides"] = overrides
        return FLOWS[stage_name](config=config, data_root=data_root, workers=workers, progress=progress, **extra)
    # OSError: missing inputs, a full disk (messages name the file); TrainingError: a refused training step
    except (ConfigError, OSError, ValueError, TrainingError) as exc:
        _fail(str(exc))


@app.command()
def ingest(
    sources: Annotated[
        list[str] | None,
        typer.Argument(help="paths to ingest (folder, Parquet/JSONL/JSON/CSV file or folder, MCD json) or demo[:SIZE]"),
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="ingest config YAML")] = None,
    adapter: Annotated[str, typer.Option(help="auto | folder | table | mcd | demo")] = "auto",
    name: Annotated[str | None, typer.Option(help="source name (default: from the path)")] = None,
    domain: Annotated[str | None, typer.Option(help="force a domain: chart|web|svg|latex|science")] = None,
    language: Annotated[str | None, typer.Option(help="force a language")] = None,
    split: Annotated[str, typer.Option(help="split for rows that do not say")] = "train",
    shard_rows: Annotated[int, typer.Option(min=1, help="rows per shard")] = 1000,
    data_root: DataRootOpt = None,
    workers: WorkersOpt = None,
    local: LocalOpt = False,
    progress: ProgressOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Read sources into the sample schema: `vinci ingest ../shared/data/charts --domain chart`."""
    from tasks.ingest.detect import source_from_argument

    if sources and config:
        _fail("give either source paths or --config, not both")
    if not sources and not config:
        config = Path("configs/ingest/demo.yaml")
    cfg: Any = str(config) if config else None
    if sources:
        try:
            specs = [
                source_from_argument(
                    s,
                    adapter=adapter,
                    name=name if len(sources) == 1 else None,
                    domain=domain,
                    language=language,
                    split=split,
                )
                for s in sources
            ]
        except (ValueError, FileNotFoundError) as exc:
            _fail(str(exc))
        cfg = {"sources": specs, "shard_rows": shard_rows}
    _print_summary(_run("ingest", cfg, data_root, workers, local, progress), as_json)


@app.command()
def pipeline(
    config: Annotated[Path, typer.Option("--config", "-c", help="pipeline config YAML")] = Path(
        "configs/pipeline/demo.yaml"
    ),
    data_root: DataRootOpt = None,
    workers: WorkersOpt = None,
    local: LocalOpt = False,
    progress: ProgressOpt = None,
    runner: RunnerOpt = None,
) -> None:
    """Run every configured stage in order (the demo config: the offline demo corpus)."""
    from vinci.config import ConfigError

    if runner and runner != "local" and local:
        _fail("--runner needs Prefect; drop --local")
    if local:
        from tasks.registry import load_pipeline, step_overrides

        try:
            cfg, stages = load_pipeline(str(config))
        except ConfigError as exc:
            _fail(str(exc))
        results: dict[str, Any] = {}
        for stage_name, stage_config in stages:
            root, n = data_root or cfg.data_root, workers or cfg.workers
            extra = step_overrides(stage_name, results)
            results[stage_name] = _run(stage_name, stage_config, root, n, True, progress, overrides=extra)
            _print_summary(results[stage_name], False)
        return
    from flows.pipeline import pipeline as pipeline_flow
    from flows.runner import load_runner

    try:
        spec = load_runner(runner).model_dump() if runner else None
        results = pipeline_flow(
            config=str(config), data_root=data_root, workers=workers, progress=progress, runner=spec
        )
    except (ConfigError, ValueError) as exc:
        _fail(str(exc))
    for summary in results.values():
        _print_summary(summary, False)


@app.command()
def stage(
    name: Annotated[str, typer.Argument(help="a registered stage, e.g. ingest or render")],
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="stage config YAML (default: configs/NAME/demo.yaml)")
    ] = None,
    data_root: DataRootOpt = None,
    workers: WorkersOpt = None,
    local: LocalOpt = False,
    progress: ProgressOpt = None,
    runner: RunnerOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Run one stage with its config: `vinci stage render --config configs/render/demo.yaml`."""
    from tasks.registry import STAGES

    if name not in STAGES:
        hint = f" (training: `vinci {name}`)" if name in ("merge", "sft", "virl") else ""
        _fail(f"unknown stage {name!r}; known, in pipeline order: {', '.join(STAGES)}{hint}")
    cfg = str(config or Path("configs", name, "demo.yaml"))
    _print_summary(_run(name, cfg, data_root, workers, local, progress, runner), as_json)


@app.command()
def render(
    paths: Annotated[list[Path], typer.Argument(help="code files (.py .html .svg .tex .mmd .asy .smi) or folders")],
    out: Annotated[Path, typer.Option("--out", "-o", help="folder for the PNGs and results.parquet")],
    timeout: Annotated[float | None, typer.Option("--timeout", min=0.1, help="seconds per item (default 30)")] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", "-w", min=1, help="render workers (default: CPUs)")
    ] = None,
    dpi: Annotated[int | None, typer.Option("--dpi", min=1, help="raster dpi for python/latex/asymptote")] = None,
    progress: ProgressOpt = None,
) -> None:
    """Render code files to PNGs in --out; a .smi file gives one PNG per SMILES line.

    Writes OUT/results.parquet, one row per item. Exit status: 0 all rendered, 1 some failed, 2 nothing to render.
    """
    from tasks.render_files import render_files

    summary = render_files(paths, out, timeout_s=timeout, dpi=dpi, workers=workers, progress=progress, echo=typer.echo)
    if not summary.rows:
        _fail("nothing to render (give code files or folders with known extensions)")
    for line in summary.lines():
        typer.echo(line)
    typer.echo(
        f"{len(summary.rows) - summary.failed}/{len(summary.rows)} rendered; results in {out / 'results.parquet'}"
    )
    if summary.failed:
        raise typer.Exit(1)


@app.command()
def repair(
    paths: Annotated[list[Path], typer.Argument(help="Python files or folders (searched for *.py)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="folder for the repaired files and repair.parquet")],
    render: Annotated[
        bool, typer.Option("--render/--no-render", help="prove the fixes by rendering before and after")
    ] = True,
    timeout: Annotated[float | None, typer.Option("--timeout", min=0.1, help="render seconds per file")] = None,
    workers: WorkersOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Repair chart scripts with Ruff and heuristics; print parse and render rates before and after.

    Repaired files go to OUT/<argument>/<relative path>; OUT/repair.parquet lists every file's fixes and outcomes.
    Exit status: 0 when every repaired file parses, 1 when some do not, 2 when there is nothing to repair.
    """
    from tasks.repair.files import repair_files

    try:
        rows, report = repair_files(paths, out, render=render, timeout_s=timeout, workers=workers)
    except FileNotFoundError as exc:
        _fail(str(exc))
    if not rows:
        _fail("nothing to repair (give .py files or folders that contain some)")
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        fixes: dict[str, int] = {}
        for row in rows:
            for fix in row["fixes"]:
                fixes[fix] = fixes.get(fix, 0) + 1
        typer.echo(_table(report))
        if fixes:
            typer.echo("fixes: " + ", ".join(f"{k} {v}" for k, v in sorted(fixes.items(), key=lambda kv: -kv[1])))
        typer.echo(f"{len(rows)} files repaired into {out}; details in {out / 'repair.parquet'}")
    if any(not r["parse_after"] for r in rows):
        raise typer.Exit(1)


@app.command()
def query(
    sql: Annotated[
        str | None, typer.Argument(help='e.g. "SELECT domain, count(*) AS n FROM ingest GROUP BY domain"')
    ] = None,
    recipe: Annotated[
        str | None, typer.Option("--recipe", "-r", help="run a named query (see --list), e.g. render-failures")
    ] = None,
    list_recipes: Annotated[bool, typer.Option("--list", help="list the named queries with their SQL")] = False,
    data_root: DataRootOpt = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table | csv | json | ndjson")] = "table",
    max_rows: Annotated[int, typer.Option(help="rows shown in table format")] = 100,
) -> None:
    """Polars SQL over the latest dataset of every stage (tables: ingest, ingest_rejected, ..., rejected, eval,
    rollouts), or a named query: `vinci query --recipe domains`; `vinci query --list` prints them all."""
    import polars as pl

    from storage.query import sql as run_sql
    from storage.recipes import RECIPES, describe, run_recipe

    given = [name for name, value in (("SQL", sql), ("--recipe", recipe), ("--list", list_recipes)) if value]
    if len(given) != 1:
        _fail(f"give exactly one of SQL, --recipe NAME or --list (got {', '.join(given) if given else 'none'})")
    if fmt not in ("table", "csv", "json", "ndjson"):
        _fail(f"unknown format {fmt!r}")
    if list_recipes:
        if fmt == "table":
            typer.echo("\n".join(describe(r) for r in RECIPES), nl=False)
        else:
            rows = [
                {"name": r.name, "description": r.description, "tables": ", ".join(r.tables), "sql": r.sql}
                for r in RECIPES
            ]
            _echo_frame(pl.DataFrame(rows), fmt, max_rows)
        return
    try:
        frame = run_recipe(recipe, data_root) if recipe else run_sql(sql, data_root)
    except LookupError as exc:
        _fail(str(exc))
    except (pl.exceptions.PolarsError, ValueError) as exc:
        _fail(f"query failed: {exc}")
    _echo_frame(frame, fmt, max_rows)


def _echo_frame(frame: pl.DataFrame, fmt: str, max_rows: int) -> None:
    import polars as pl

    binary = [c for c, t in frame.schema.items() if t in (pl.Binary,) or isinstance(t, pl.Struct)]
    if fmt == "table":
        shown = frame.drop(binary) if binary else frame
        with pl.Config(tbl_rows=max_rows, tbl_cols=-1, fmt_str_lengths=60, tbl_width_chars=200):
            typer.echo(shown)
        if binary:
            typer.echo(f"(binary/struct columns not shown: {', '.join(binary)})")
    elif fmt == "csv":
        typer.echo(frame.drop(binary).write_csv(), nl=False)
    elif fmt == "json":
        typer.echo(frame.drop(binary).write_json())
    else:
        typer.echo(frame.drop(binary).write_ndjson(), nl=False)


@app.command()
def datasets(data_root: DataRootOpt = None) -> None:
    """List every stage's latest finished dataset."""
    from storage.dataset import DataRoot
    from vinci.settings import data_root as resolve_root

    root = DataRoot(resolve_root(data_root))
    stages = root.stages()
    if not stages:
        typer.echo(f"no finished datasets under {root.uri}")
        return
    typer.echo(f"{'stage':<12} {'version':<18} {'rows':>9} {'rejected':>9}  finished")
    for stage in stages:
        m = root.latest(stage).manifest()
        typer.echo(f"{stage:<12} {m.version:<18} {m.rows:>9} {m.rejected:>9}  {m.finished_at}  {m.uri}")


@app.command()
def show(
    stage: Annotated[str, typer.Argument(help="stage name, e.g. ingest")],
    version: Annotated[str | None, typer.Option(help="a version (default: latest)")] = None,
    data_root: DataRootOpt = None,
) -> None:
    """Print a dataset's manifest (inputs, config, code version, counts, timings)."""
    from storage.dataset import DataRoot, DatasetNotFound
    from vinci.settings import data_root as resolve_root

    root = DataRoot(resolve_root(data_root))
    try:
        v = root.version(stage, version) if version else root.latest(stage)
        typer.echo(v.manifest().to_json(), nl=False)
    except DatasetNotFound as exc:
        _fail(str(exc))


@app.command()
def doctor() -> None:
    """Check that the system tools and Python packages the pipeline needs are present."""
    from vinci.doctor import checks

    failed = 0
    for name, ok, detail in checks():
        mark = typer.style("ok  ", fg=typer.colors.GREEN) if ok else typer.style("MISSING", fg=typer.colors.RED)
        typer.echo(f"{mark} {name:<28} {detail}")
        failed += not ok
    if failed:
        typer.echo(f"{failed} check(s) failed; run `make setup` (scripts/setup.sh) to install what is missing")
        raise typer.Exit(1)


# the training commands (sft, virl, reward, tiny-model, export) and `eval` live in their own modules
from vinci import eval_cli, training_cli  # noqa: E402,F401


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover - `python -m vinci.cli`: the app the training commands joined
    from vinci.cli import app as registered

    sys.exit(registered())
