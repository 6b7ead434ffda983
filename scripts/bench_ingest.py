"""Ingest throughput, as ratios against a baseline measured in the same run (`make bench`).

    .venv/bin/python scripts/bench_ingest.py --rows 20000 --charts ../shared/data/charts

Two comparisons, each against its own baseline: the demo corpus with one worker vs two worker processes (includes
the pool's start-up), and the ChartMimic folder (code + PNG per row) with `image_check: verify` (header and
integrity, the default) vs `decode` (full pixel decode). Each run writes a fresh data root in a temporary folder.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tasks.executor import run_local  # noqa: E402
from tasks.ingest import IngestConfig, IngestStage  # noqa: E402


def timed(config: dict, workers: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory(prefix="vinci-bench-") as root:
        stage = IngestStage(IngestConfig.model_validate(config), root)
        started = time.perf_counter()
        manifest = run_local(stage, workers=workers, progress=False)
        return time.perf_counter() - started, manifest.rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--shard-rows", type=int, default=1000)
    parser.add_argument("--charts", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/charts")
    args = parser.parse_args()

    demo = {"sources": [{"adapter": "demo", "size": args.rows}], "shard_rows": args.shard_rows}
    report("demo corpus", [("1 worker (baseline)", *timed(demo, 1)), ("2 workers", *timed(demo, 2))])
    if args.charts.is_dir():

        def charts(check: str) -> dict:
            source = {"adapter": "folder", "name": "charts", "path": str(args.charts), "domain": "chart"}
            return {"sources": [source], "shard_rows": 60, "limits": {"image_check": check}}

        runs = [("image_check=verify (baseline)", *timed(charts("verify"), 1))]
        runs.append(("image_check=decode", *timed(charts("decode"), 1)))
        report("ChartMimic folder, 1 worker", runs)


def report(title: str, runs: list[tuple[str, float, int]]) -> None:
    base_rate = runs[0][2] / runs[0][1]
    print(f"\n{title}")
    print(f"  {'run':<32} {'rows':>7} {'seconds':>8} {'rows/s':>8} {'vs baseline':>12}")
    for name, seconds, rows in runs:
        rate = rows / seconds
        print(f"  {name:<32} {rows:>7} {seconds:>8.2f} {rate:>8.0f} {rate / base_rate:>11.2f}x")


if __name__ == "__main__":
    main()
