"""Render fidelity on the shared real samples: render rate per source, and for sources that ship reference
images (charts, web) the distribution of pHash distances between our render and the reference.

    .venv/bin/python benchmarks/render_fidelity.py         # or: make fidelity

pHash is imagehash's 64-bit DCT hash; distance = Hamming distance (0 = same structure, >10 = clearly different).
On images with little detail (a lone filled curve) pHash is unstable, so every outlier also gets a pixel check:
the mean absolute difference (0-255) after resizing the render to the reference's size. Charts whose code draws
unseeded random data (a `random_*` graph or an `np.random` call with no seed anywhere) are named as such.
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

from renderers import EngineConfig, RenderEngine, RenderOptions  # noqa: E402

SHARED = Path(os.environ.get("VINCI_SHARED_DATA", ROOT.parent / "shared" / "data"))
NUMPY_RANDOM = re.compile(r"np\.random\.(?!seed)")
NUMPY_SEED = re.compile(r"np\.random\.seed\(|default_rng\(\s*\d")
UNSEEDED_CALL = re.compile(r"\brandom_\w+\(([^()]*)\)")  # networkx random_* graph generators


def unseeded(code: str) -> bool:
    if NUMPY_RANDOM.search(code) and not NUMPY_SEED.search(code):
        return True
    return any("seed" not in m.group(1) for m in UNSEEDED_CALL.finditer(code))


def compare(a: bytes, reference: Path) -> tuple[int, float]:
    """(pHash distance, mean absolute pixel difference 0-255) between a render and its reference."""
    import imagehash
    import numpy as np
    from PIL import Image

    ours = Image.open(io.BytesIO(a)).convert("RGB")
    ref = Image.open(reference).convert("RGB")
    diff = np.abs(np.asarray(ours.resize(ref.size), dtype=np.int16) - np.asarray(ref, dtype=np.int16))
    return imagehash.phash(ours) - imagehash.phash(ref), float(diff.mean())


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
    distances, pixel = [], []
    for (item, code, _), r in zip(items, results, strict=True):
        if r.ok and item in references:
            d, mad = compare(r.image, references[item])
            distances.append(d)
            pixel.append(mad)
            if d > 8:
                why = "unseeded randomness" if unseeded(code) else "pixels match" if mad < 3 else "differs"
                print(f"  outlier {item}: pHash distance {d}, mean pixel difference {mad:.1f} ({why})")
    print(f"  pHash distance to reference: {distribution(distances)}")
    print(f"  mean pixel difference (0-255): median {statistics.median(pixel):.1f}, max {max(pixel):.1f}")


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
    # Design2Code pages all show the placeholder rick.jpg, which ships beside them: it is served, all else blocked
    web_options = RenderOptions(html_assets={"rick.jpg": str(SHARED / "web" / "rick.jpg")})
    try:
        for name, items, references in sources:
            options = web_options if name == "web" else None
            results = list(engine.render_many([(code, lang, options) for _, code, lang in items]))
            report(name, items, results, references)
    finally:
        engine.close()


if __name__ == "__main__":
    main()
