"""Ingest throughput, as ratios against a baseline measured in the same run (`make bench`).

    .venv/bin/python scripts/bench_ingest.py --rows 20000 --charts ../shared/data/charts

Baseline: the demo corpus with one worker process. Compared: two workers; the ChartMimic folder (code + PNG per
row, images checked with PIL) per row. Each run writes a fresh data root under a temporary folder.
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
    results = []
    base_s, base_rows = timed(demo, 1)
    results.append(("demo, 1 worker (baseline)", base_s, base_rows))
    two_s, two_rows = timed(demo, 2)
    results.append(("demo, 2 workers", two_s, two_rows))
    if args.charts.is_dir():
        charts = {
            "sources": [{"adapter": "folder", "name": "charts", "path": str(args.charts), "domain": "chart"}],
            "shard_rows": 60,
        }
        c_s, c_rows = timed(charts, 2)
        results.append(("charts folder (py+png), 2 workers", c_s, c_rows))

    base_rate = base_rows / base_s
    print(f"{'run':<36} {'rows':>7} {'seconds':>8} {'rows/s':>8} {'vs baseline':>12}")
    for name, seconds, rows in results:
        rate = rows / seconds
        print(f"{name:<36} {rows:>7} {seconds:>8.2f} {rate:>8.0f} {rate / base_rate:>11.2f}x")


if __name__ == "__main__":
    main()
