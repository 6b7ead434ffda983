"""Render fidelity on the shared real samples: render rate per source, and for sources that ship reference
images (charts, web) the distribution of pHash distances between our render and the reference.

    .venv/bin/python benchmarks/render_fidelity.py         # or: make fidelity

pHash is imagehash's 64-bit DCT hash; distance = Hamming distance (0 = same structure, >10 = clearly different).
Charts whose code draws unseeded random data or uses random layouts cannot match their reference exactly; they
are named in the report (the code contains `np.random`/`random.` without a seed, or a networkx layout).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import statistics
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from renderers import EngineConfig, RenderEngine  # noqa: E402

SHARED = Path(os.environ.get("VINCI_SHARED_DATA", ROOT.parent / "shared" / "data"))
UNSEEDED = re.compile(r"np\.random\.(?!seed)|random\.(?!seed)|_layout\(")
SEEDED = re.compile(r"np\.random\.seed\(|random\.seed\(|default_rng\(\s*\d|seed\s*=\s*\d")


def phash_distance(a: bytes, reference: Path) -> int:
    import imagehash
    from PIL import Image

    return imagehash.phash(Image.open(io.BytesIO(a)).convert("RGB")) - imagehash.phash(
        Image.open(reference).convert("RGB")
    )


def distribution(values: list[int]) -> str:
    if not values:
        return "n/a"
    q = statistics.quantiles(values, n=10) if len(values) > 1 else [values[0]] * 9
    buckets = Counter("0-4" if v <= 4 else "5-8" if v <= 8 else "9-16" if v <= 16 else ">16" for v in values)
    shares = ", ".join(f"{k}: {buckets.get(k, 0)}" for k in ("0-4", "5-8", "9-16", ">16"))
    return f"median {statistics.median(values):.0f}, p90 {q[8]:.0f}, max {max(values)}; {shares}"


def report(name: str, items: list[tuple[str, str, str]], results, references: dict[str, Path] | None) -> None:
    ok = [r for r in results if r.ok]
    failures = Counter(r.error_kind for r in results if not r.ok)
    print(f"\n{name}: {len(ok)}/{len(results)} rendered ({100 * len(ok) / max(1, len(results)):.1f}%)", dict(failures))
    for (item, _, _), r in zip(items, results, strict=True):
        if not r.ok:
            print(f"  failed  {item}: {r.error_kind}: {(r.error_message or '')[:160]}")
    if not references:
        return
    distances = []
    for (item, code, _), r in zip(items, results, strict=True):
        if r.ok and item in references:
            d = phash_distance(r.image, references[item])
            distances.append(d)
            if d > 8:
                why = "unseeded randomness" if UNSEEDED.search(code) and not SEEDED.search(code) else "differs"
                print(f"  outlier {item}: pHash distance {d} ({why})")
    print(f"  pHash distance to reference: {distribution(distances)}")


def main() -> None:
    parser = argparse.ArgumentParser(description="render fidelity on ../shared/data")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    engine = RenderEngine(EngineConfig(sandbox_workers=args.workers, browser_workers=1))
    sources: list[tuple[str, list[tuple[str, str, str]], dict[str, Path] | None]] = []
    charts = sorted((SHARED / "charts").glob("*.py"))
    sources.append(
        ("charts", [(p.name, p.read_text(), "python") for p in charts], {p.name: p.with_suffix(".png") for p in charts})
    )
    pages = sorted((SHARED / "web").glob("*.html"))
    sources.append(
        (
            "web",
            [(p.name, p.read_text(errors="replace"), "html") for p in pages],
            {p.name: p.with_suffix(".png") for p in pages},
        )
    )
    sources.append(("tikz", [(p.name, p.read_text(), "latex") for p in sorted((SHARED / "tikz").glob("*.tex"))], None))
    sources.append(("svg", [(p.name, p.read_text(), "svg") for p in sorted((SHARED / "svg").glob("*.svg"))], None))
    with open(SHARED / "molecules" / "smiles.csv", newline="") as fh:
        molecules = [(row["id"], row["smiles"], "smiles") for row in csv.DictReader(fh)]
    sources.append(("smiles", molecules, None))
    try:
        for name, items, references in sources:
            results = list(engine.render_many([(code, lang) for _, code, lang in items]))
            report(name, items, results, references)
    finally:
        engine.close()


if __name__ == "__main__":
    main()
