"""Dedup benchmark: near-duplicate search time against N, and pHash throughput against imagehash.

    .venv/bin/python benchmarks/dedup_bench.py                       # N = 10k .. 1M at the default radius
    .venv/bin/python benchmarks/dedup_bench.py --sizes 10000,100000 --radius 8 --no-phash

Hashes: uniformly random 64-bit base hashes plus ``--dup-frac`` near copies of random bases, each with 0..radius
random bits flipped (and so some exact copies). For each N: the chunk count chosen, ``radius_pairs`` time (the
search), ``group_duplicates`` time (distinct hashes, search, leader choice and assignment), the pairs found, and
seconds per 1000 hashes; then the log-log slope of search time against N and the projected time for 1.6 M hashes.
pHash: the shared images (charts, screenshots) hashed with ``imagehash.phash`` one by one (from bytes) and with
``phash_batch`` (which also computes the clustering features), best of ``--repeat`` interleaved runs.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tasks.dedup.neighbors import DEFAULT_RADIUS, choose_chunks, group_duplicates, radius_pairs  # noqa: E402
from tasks.dedup.phash import phash_batch  # noqa: E402

SHARED = Path(os.environ.get("VINCI_SHARED_DATA", ROOT.parent / "shared" / "data"))
PROJECT_TO = 1_600_000


def make_hashes(n: int, radius: int, dup_frac: float, rng: np.random.Generator) -> np.ndarray:
    n_copies = int(n * dup_frac)
    base = rng.integers(0, 2**64 - 1, n - n_copies, dtype=np.uint64, endpoint=True)
    src = base[rng.integers(0, len(base), n_copies)]
    flips = rng.integers(0, radius + 1, n_copies)
    chosen = rng.random((n_copies, 64)).argsort(axis=1) < flips[:, None]
    bits = np.uint64(1) << np.arange(64, dtype=np.uint64)
    copies = src ^ np.bitwise_or.reduce(np.where(chosen, bits, np.uint64(0)), axis=1)
    h = np.concatenate([base, copies])
    rng.shuffle(h)
    return h


def bench_search(sizes: list[int], radius: int, dup_frac: float, seed: int) -> None:
    print(f"near-duplicate search, radius {radius}, {dup_frac:.0%} near copies (0..{radius} bits flipped)")
    print(f"{'N':>9} {'m':>3} {'search s':>9} {'group s':>8} {'pairs':>9} {'groups':>9} {'search s/1k':>11}")
    rng = np.random.default_rng(seed)
    times = []
    for n in sizes:
        h = make_hashes(n, radius, dup_frac, rng)
        m = choose_chunks(h, radius)
        t0 = time.perf_counter()
        pairs = radius_pairs(h, radius)
        t_search = time.perf_counter() - t0
        t0 = time.perf_counter()
        groups = group_duplicates(h, radius)
        t_group = time.perf_counter() - t0
        n_groups = len(np.unique(groups.representative))
        times.append(t_search)
        print(
            f"{n:>9} {m:>3} {t_search:>9.2f} {t_group:>8.2f} {len(pairs.i):>9} {n_groups:>9} "
            f"{t_search / n * 1000:>11.4f}",
            flush=True,
        )
    if len(sizes) >= 2:
        logn, logt = np.log(np.asarray(sizes, dtype=float)), np.log(np.asarray(times))
        slope_all = float(np.polyfit(logn, logt, 1)[0])
        top = slice(-3, None) if len(sizes) >= 3 else slice(None)
        slope, intercept = np.polyfit(logn[top], logt[top], 1)
        projected = float(np.exp(intercept + slope * np.log(PROJECT_TO)))
        print(f"log-log slope: {slope_all:.2f} over all sizes, {slope:.2f} over the largest {len(logn[top])}")
        print(f"projected search time for {PROJECT_TO:,} hashes (largest-sizes fit): {projected:.1f} s")


def bench_phash(repeat: int) -> None:
    import imagehash
    from PIL import Image

    files = sorted((SHARED / "charts").glob("*.png")) + sorted((SHARED / "web").glob("*.png"))
    if not files:
        print(f"pHash throughput: no shared images under {SHARED}")
        return
    blobs = [f.read_bytes() for f in files]
    mpix = sum(np.prod(Image.open(io.BytesIO(b)).size) for b in blobs) / 1e6
    best = dict.fromkeys(["imagehash.phash per image", "phash_batch", "phash_batch workers=2"], float("inf"))
    same = True
    for _ in range(repeat):
        t0 = time.perf_counter()
        ref = [int(str(imagehash.phash(Image.open(io.BytesIO(b)))), 16) for b in blobs]
        best["imagehash.phash per image"] = min(best["imagehash.phash per image"], time.perf_counter() - t0)
        t0 = time.perf_counter()
        ours = phash_batch(blobs)
        best["phash_batch"] = min(best["phash_batch"], time.perf_counter() - t0)
        t0 = time.perf_counter()
        threaded = phash_batch(blobs, workers=2)
        best["phash_batch workers=2"] = min(best["phash_batch workers=2"], time.perf_counter() - t0)
        same &= ours.hashes.tolist() == ref == threaded.hashes.tolist()
    print(f"\npHash throughput on {len(blobs)} shared images ({mpix:.1f} Mpixel), best of {repeat}")
    base = best["imagehash.phash per image"]
    for name, t in best.items():
        print(f"{name:28s} {t:7.2f} s {len(blobs) / t:7.1f} img/s  speed ratio {base / t:4.2f}x")
    print(f"hashes identical to imagehash: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,30000,100000,300000,1000000", help="comma-separated N")
    parser.add_argument("--radius", type=int, default=DEFAULT_RADIUS)
    parser.add_argument("--dup-frac", type=float, default=0.1, help="fraction of near copies")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=2, help="pHash timing runs (best is reported)")
    parser.add_argument("--no-phash", action="store_true", help="skip the pHash throughput part")
    args = parser.parse_args()
    bench_search([int(s) for s in args.sizes.split(",") if s], args.radius, args.dup_frac, args.seed)
    if not args.no_phash:
        bench_phash(args.repeat)


if __name__ == "__main__":
    main()
