"""Reward speed: how fast the vision encoders embed 448x448 tiles, and how many ground-truth answers per second the
full ViRL reward scores, per language.

    .venv/bin/python benchmarks/reward_bench.py            # or: make bench-reward
    python benchmarks/reward_bench.py --sizes tiny,base,large    # on a GPU machine (bf16 by default there)

encoders (448x448 tiles; every tile counts, i.e. both sides of each pair)
        ssim       training.rewards.encoders.SSIMEncoder (grey-scale SSIM, the weights-free baseline)
        DINOv2-*   a DINOv2 with RANDOM weights at the chosen size (--sizes): tiny (build_tiny_dinov2()), small
                   (384 wide, 12 layers, 6 heads), base (768/12/12) or large (DINOV2_LARGE: 1024/24/16), wrapped in
                   ViTEncoder. Speed does not depend on the weights, so no checkpoint is needed.
        Two figures per ViT: `tiles/s`, what the reward pays (`ViTEncoder.similarities` on PIL tile pairs:
        preprocessing, host-to-device copy, forward, CLS features back), and `fwd tiles/s`, the model forward alone
        on a ready pixel tensor on the device. Achieved TFLOP/s comes from the forward alone and an analytic count
        per tile: with T = (448/14)^2 + 1 = 1025 tokens, width d and MLP width d_mlp, each layer costs
        2*T*(4*d^2 + 2*d*d_mlp) (QKV, output projection and MLP matmuls, a multiply-add = 2 FLOPs) + 4*T^2*d
        (attention scores and the weighted sum), plus 2*(448/14)^2*(3*14^2)*d for the patch embedding. On a GPU
        that is also given as a share of the card's dense bf16 peak (--peak-tflops, else a small table by device
        name). Warm-up batches are excluded; each batch is timed alone (torch.cuda.synchronize on a GPU) until at
        least --seconds have passed and --min-batches were run, and the median batch time is reported.
        Defaults: CPU: sizes tiny,small, float32, batch 8; CUDA: sizes tiny,base,large, bfloat16, batch 64.
        base and large take minutes per batch on a small CPU; ask for them with --sizes.

reward  (training.rewards.scorer.RewardScorer, encoder ssim by default; --reward-encoder ssim | random:SIZE | any
        spec that training.rewards.encoders.load_encoder takes, e.g. dinov2:/models/dinov2-large)
        Ground-truth answers from ../shared/data (VINCI_SHARED_DATA overrides): charts/*.py (python), web/*.html
        (html), svg/*.svg (svg), tikz/*.tex (latex), molecules/smiles.csv (smiles), and mermaid and asymptote from
        the demo corpus generator (tasks.ingest.demo, seed 0). Up to --limit files per language, spread evenly over
        the sorted folder. Each code is first rendered once by the engine to make its target image (set-up, not
        timed); then one `scorer.score(rollouts)` call on the whole batch (answer = format_answer(code), instruction
        = direct_instruction(language)) is timed: renders/s = rollouts scored per second. The same renders alone
        (engine.render_many at the scorer's concurrency) and the same encoding alone (visual_scores on the
        target/render pairs) are timed too; the scorer overlaps the two, so their shares of the scored time may add up
        to more than 100%. Ground truth should score visual ~1.0 and exec 100%. The engine's pools are started
        before any timing (start-up reported separately).

Flags: --only encoders|reward, --sizes, --device, --dtype, --batch-size, --seconds, --min-batches, --warmup,
--peak-tflops, --limit, --languages, --reward-encoder, --json PATH (also write every figure as JSON).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from renderers.engine import EngineConfig, RenderEngine  # noqa: E402
from renderers.registry import renderer  # noqa: E402
from renderers.result import RenderOptions  # noqa: E402
from training.prompts import direct_instruction, format_answer  # noqa: E402
from training.rewards.encoders import (  # noqa: E402
    DINOV2_LARGE,
    SSIMEncoder,
    ViTEncoder,
    build_tiny_dinov2,
    load_encoder,
)
from training.rewards.scorer import RewardConfig, RewardScorer, Rollout, summarize  # noqa: E402
from training.rewards.tiling import TILE  # noqa: E402
from training.rewards.visual import visual_scores  # noqa: E402

SHARED = Path(os.environ.get("VINCI_SHARED_DATA", ROOT.parent / "shared" / "data"))

# DINOv2 configs by size (random weights); tiny is build_tiny_dinov2()'s own default.
SIZES: dict[str, dict[str, Any]] = {
    "tiny": {},
    "small": dict(
        hidden_size=384, num_hidden_layers=12, num_attention_heads=6, mlp_ratio=4, patch_size=14, image_size=518
    ),
    "base": dict(
        hidden_size=768, num_hidden_layers=12, num_attention_heads=12, mlp_ratio=4, patch_size=14, image_size=518
    ),
    "large": dict(DINOV2_LARGE),
}
LABELS = {"tiny": "DINOv2-tiny", "small": "DINOv2-S", "base": "DINOv2-B", "large": "DINOv2-L"}

# Dense (no sparsity) bf16 tensor-core peaks from NVIDIA's data sheets, TFLOP/s; first matching name wins.
PEAK_BF16_TFLOPS: tuple[tuple[str, float], ...] = (
    ("H200", 989.0),
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("H100", 989.0),  # SXM ("NVIDIA H100 80GB HBM3")
    ("A100", 312.0),
    ("L40S", 362.0),
)

LANGUAGE_ORDER = ("python", "html", "svg", "latex", "smiles", "mermaid", "asymptote")
SHORT_DTYPES = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16", "float64": "fp64"}


# --- encoders ------------------------------------------------------------------------------------------------------
def vit_flops_per_tile(hidden: int, layers: int, mlp_dim: int, *, patch: int = 14, tile: int = TILE) -> float:
    """Matmul FLOPs of one ViT forward on one tile (multiply-add = 2): patch embedding + `layers` blocks."""
    patches = (tile // patch) ** 2
    tokens = patches + 1  # + CLS
    per_layer = 2 * tokens * (4 * hidden * hidden + 2 * hidden * mlp_dim) + 2 * 2 * tokens * tokens * hidden
    embedding = 2 * patches * (3 * patch * patch) * hidden
    return float(layers * per_layer + embedding)


def peak_tflops_for(device_name: str) -> float | None:
    """The dense bf16 peak of a known GPU by its torch name, else None."""
    for key, value in PEAK_BF16_TFLOPS:
        if key.lower() in device_name.lower():
            return value
    return None


def build_vit(size: str, *, device: str = "cpu", dtype: torch.dtype = torch.float32, batch_size: int = 8):
    """A ViTEncoder around a random-weight DINOv2 of the given size, and its FLOPs per 448x448 tile."""
    if size not in SIZES:
        raise ValueError(f"unknown DINOv2 size {size!r} (choose from {', '.join(SIZES)})")
    model = build_tiny_dinov2(**SIZES[size]).to(device=device, dtype=dtype)
    config = model.config
    encoder = ViTEncoder(model, name=f"dinov2:random-{size}", batch_size=batch_size)
    flops = vit_flops_per_tile(
        config.hidden_size,
        config.num_hidden_layers,
        int(config.hidden_size * config.mlp_ratio),
        patch=config.patch_size,
        tile=encoder.image_size,
    )
    return encoder, flops


def make_tiles(n: int, seed: int = 0, size: int = TILE) -> list[Image.Image]:
    """Deterministic RGB tiles: coarse random blocks (so SSIM sees structure), upscaled to size x size."""
    rng = np.random.default_rng(seed)
    tiles = []
    for _ in range(n):
        blocks = rng.integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
        tiles.append(Image.fromarray(blocks, "RGB").resize((size, size), Image.Resampling.NEAREST))
    return tiles


def _synchronizer(device: torch.device) -> Callable[[], None]:
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    return lambda: None


def time_batches(
    step: Callable[[], Any], *, seconds: float, min_batches: int, warmup: int, sync: Callable[[], None]
) -> list[float]:
    """Seconds of each timed call of `step` after `warmup` untimed ones; runs until both limits are met."""
    for _ in range(warmup):
        step()
    sync()
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < max(1, min_batches) or time.perf_counter() - started < seconds:
        begun = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - begun)
    return times


def _timing(times: Sequence[float], tiles_per_batch: int) -> dict[str, Any]:
    median = statistics.median(times)
    return {
        "tiles_per_s": tiles_per_batch / median,
        "batch_s_median": median,
        "batch_s_min": min(times),
        "batch_s_max": max(times),
        "batches": len(times),
    }


def bench_encoder(
    encoder: Any,
    *,
    label: str,
    batch_size: int,
    seconds: float = 5.0,
    min_batches: int = 2,
    warmup: int = 1,
    flops_per_tile: float | None = None,
    peak_tflops: float | None = None,
) -> dict[str, Any]:
    """Tiles/s of one encoder on batches of `batch_size` tiles (pairs of tiles; an odd size rounds up to a pair)."""
    pairs_per_batch = max(1, -(-batch_size // 2))
    tiles = make_tiles(2 * pairs_per_batch)
    pairs = list(zip(tiles[0::2], tiles[1::2], strict=True))
    is_vit = isinstance(encoder, ViTEncoder)
    device = encoder.device if is_vit else torch.device("cpu")
    dtype = str(encoder.dtype).removeprefix("torch.") if is_vit else "float64"
    sync = _synchronizer(device)
    row: dict[str, Any] = {
        "encoder": label,
        "name": encoder.name,
        "device": str(device),
        "dtype": dtype,
        "batch_size": 2 * pairs_per_batch,
        "torch_threads": torch.get_num_threads(),
    }
    forward: dict[str, Any] | None = None
    if is_vit:
        # the model forward alone, exactly as ViTEncoder.embed calls it, on a pixel tensor already on the device
        pixel_values = encoder._pixel_values(tiles)
        kwargs = dict(encoder._forward_kwargs)

        def forward_step() -> None:
            with torch.inference_mode():
                outputs = encoder.model(pixel_values=pixel_values, output_hidden_states=True, **kwargs)
                _ = outputs.hidden_states[-1][:, 0]

        forward = _timing(
            time_batches(forward_step, seconds=seconds, min_batches=min_batches, warmup=warmup, sync=sync), len(tiles)
        )
        row["attention"] = getattr(encoder.model.config, "_attn_implementation", None)
        warmup = 0  # the model is warm now; the end-to-end pass below reuses it

    end_to_end = _timing(
        time_batches(
            lambda: encoder.similarities(pairs), seconds=seconds, min_batches=min_batches, warmup=warmup, sync=sync
        ),
        len(tiles),
    )
    row.update(end_to_end)
    row["forward"] = forward
    row["forward_tiles_per_s"] = forward["tiles_per_s"] if forward else None
    row["gflops_per_tile"] = flops_per_tile / 1e9 if flops_per_tile else None
    row["tflops"] = flops_per_tile * forward["tiles_per_s"] / 1e12 if flops_per_tile and forward else None
    row["peak_tflops"] = peak_tflops
    row["peak_fraction"] = row["tflops"] / peak_tflops if row["tflops"] and peak_tflops else None
    return row


def bench_encoders(args: argparse.Namespace, device: torch.device, dtype: torch.dtype) -> list[dict[str, Any]]:
    peak = args.peak_tflops
    if peak is None and device.type == "cuda" and dtype in (torch.bfloat16, torch.float16):
        peak = peak_tflops_for(torch.cuda.get_device_name(device))
    common = dict(seconds=args.seconds, min_batches=args.min_batches, warmup=args.warmup, batch_size=args.batch_size)
    rows = [bench_encoder(SSIMEncoder(), label="ssim", **common)]
    _print_progress(rows[-1])
    for size in args.sizes:
        started = time.perf_counter()
        encoder, flops = build_vit(size, device=str(device), dtype=dtype, batch_size=args.batch_size)
        build_s = time.perf_counter() - started
        rows.append(bench_encoder(encoder, label=LABELS[size], flops_per_tile=flops, peak_tflops=peak, **common))
        rows[-1]["build_s"] = build_s
        _print_progress(rows[-1])
        del encoder
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return rows


def _print_progress(row: dict[str, Any]) -> None:
    print(f"  {row['encoder']}: {row['tiles_per_s']:.2f} tiles/s ({row['batches']} batches)", flush=True)


# --- reward --------------------------------------------------------------------------------------------------------
def spread(items: Sequence[Any], k: int) -> list[Any]:
    """k items at positions floor(j*n/k), j = 0..k-1 (all of them when k >= n)."""
    n = len(items)
    if k >= n:
        return list(items)
    return [items[j * n // k] for j in range(k)]


def _demo_samples(language: str, limit: int, seed: int = 0) -> list[tuple[str, str]]:
    from tasks.ingest.demo import REGISTRY, generate_sample, kind_of

    found: list[tuple[str, str]] = []
    for index in range(limit * 200):
        if len(found) >= limit:
            break
        if REGISTRY[kind_of(seed, index)].language == language:
            sample = generate_sample(seed, index)
            if not sample.flaws:
                found.append((f"demo-{seed}-{index}", sample.code))
    return found


def _smiles_samples(root: Path) -> list[tuple[str, str]]:
    folder = root / "molecules"
    rows: list[tuple[str, str]] = []
    for path in sorted(folder.glob("*.csv")):
        with path.open(newline="") as handle:
            for i, row in enumerate(csv.DictReader(handle)):
                if (row.get("smiles") or "").strip():
                    rows.append((row.get("id") or f"{path.stem}-{i}", row["smiles"].strip()))
    for path in sorted([*folder.glob("*.smi"), *folder.glob("*.txt")]):
        for i, line in enumerate(path.read_text().splitlines()):
            if line.strip():
                rows.append((f"{path.stem}-{i}", line.split()[0]))
    return rows


def load_samples(language: str, limit: int, root: Path = SHARED) -> list[tuple[str, str]]:
    """Up to `limit` (name, ground-truth code) pairs of a language, spread evenly over its sorted inputs."""
    if language in ("mermaid", "asymptote"):
        return _demo_samples(language, limit)
    if language == "smiles":
        return spread(_smiles_samples(root), limit)
    patterns = {
        "python": [("charts", "*.py")],
        "html": [("web", "*.html")],
        "svg": [("svg", "*.svg")],
        "latex": [("tikz", "*.tex"), ("latex", "*.tex"), ("tex", "*.tex")],
    }
    if language not in patterns:
        raise ValueError(f"unknown language {language!r}")
    for folder, pattern in patterns[language]:
        files = sorted((root / folder).glob(pattern))
        if files:
            return [(f.stem, f.read_text(errors="replace")) for f in spread(files, limit)]
    return []


def _timed(fn: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn(*args)
    return time.perf_counter() - started, value


def bench_reward_language(
    engine: RenderEngine, scorer: RewardScorer, language: str, samples: Sequence[tuple[str, str]]
) -> dict[str, Any]:
    """Target renders (set-up), then the timed render-only pass, full score and encode-only pass of one language."""
    cfg = scorer.config
    options = RenderOptions(timeout_s=cfg.render_timeout_s, max_pixels=cfg.max_pixels)  # as the scorer renders
    setup_s, targets = _timed(lambda: list(engine.render_many([(code, language, options) for _, code in samples])))
    kept = [(name, code, t.image) for (name, code), t in zip(samples, targets, strict=True) if t.ok]
    row: dict[str, Any] = {"language": language, "items": len(samples), "targets": len(kept), "setup_s": setup_s}
    failed = sorted({t.error_kind for t in targets if not t.ok})
    if failed:
        row["target_errors"] = failed
    if not kept:
        return row
    rollouts = [
        Rollout(image, format_answer(code, language), direct_instruction(language, key=name), language)
        for name, code, image in kept
    ]
    render_s, renders = _timed(lambda: list(engine.render_many([(code, language, options) for _, code, _ in kept])))
    score_s, results = _timed(scorer.score, rollouts)
    pairs = [(image, r.image) for (_, _, image), r in zip(kept, renders, strict=True) if r.ok]
    limits = dict(min_tiles=cfg.min_tiles, max_tiles=cfg.max_tiles, max_pixels=cfg.max_pixels)
    encode_s, _ = _timed(lambda: visual_scores(pairs, scorer.encoder, **limits))
    summary = summarize(results)
    row.update(
        scored=len(results),
        score_s=score_s,
        renders_per_s=len(results) / score_s,
        visual=summary["visual"],
        visual_min=min(r.visual for r in results),
        reward=summary["reward"],
        exec_rate=summary["exec_rate"],
        tiles=summary["tiles"],
        render_only_s=render_s,
        encode_only_s=encode_s,
        render_share=render_s / score_s,
        encode_share=encode_s / score_s,
    )
    errors = sorted({r.error_kind for r in results if r.error_kind})
    if errors:
        row["score_errors"] = errors
    return row


def make_reward_encoder(spec: str, *, device: str, dtype: torch.dtype, batch_size: int) -> Any:
    """ssim, random:SIZE (a random-weight DINOv2, as in the encoder part) or a load_encoder spec."""
    if spec.startswith("random:"):
        return build_vit(spec.split(":", 1)[1], device=device, dtype=dtype, batch_size=batch_size)[0]
    return load_encoder(spec, device=device, dtype=dtype, batch_size=batch_size)


def bench_reward(args: argparse.Namespace, device: torch.device, dtype: torch.dtype) -> dict[str, Any]:
    samples = {language: load_samples(language, args.limit) for language in args.languages}
    skipped = [language for language, found in samples.items() if not found]
    samples = {language: found for language, found in samples.items() if found}
    encoder = make_reward_encoder(args.reward_encoder, device=str(device), dtype=dtype, batch_size=args.batch_size)
    config = RewardConfig(encoder=args.reward_encoder, batch_size=args.batch_size)
    rows = []
    with RenderEngine(EngineConfig()) as engine:
        pools = sorted({renderer(language).POOL for language in samples})
        startup = {}
        for pool in pools:
            startup[pool], _ = _timed(engine.warm_up, pool)
            print(f"  engine start-up: {pool} pool {startup[pool]:.1f}s", flush=True)
        with RewardScorer(config, engine=engine, encoder=encoder) as scorer:
            for language, found in samples.items():
                rows.append(bench_reward_language(engine, scorer, language, found))
                row = rows[-1]
                rate = f"{row['renders_per_s']:.2f} renders/s" if "renders_per_s" in row else "no targets"
                print(f"  {language}: {rate}", flush=True)
        stats = engine.stats()
    return {
        "encoder": encoder.name,
        "engine": {
            "sandbox_mode": stats["sandbox_mode"],
            "workers": {pool: info["size"] for pool, info in stats["pools"].items()},
            "concurrency": engine.concurrency,
            "startup_s": startup,
        },
        "languages": rows,
        "skipped": skipped,
    }


def _cpus() -> int:
    return max(1, len(os.sched_getaffinity(0))) if hasattr(os, "sched_getaffinity") else max(1, os.cpu_count() or 1)


# --- report --------------------------------------------------------------------------------------------------------
def _fmt(value: float | None, spec: str, width: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}{spec}}"


def print_encoders(rows: list[dict[str, Any]], machine: dict[str, Any]) -> None:
    print("\nencoder throughput: 448x448 tiles, both sides of every pair counted; median batch time")
    print("  tiles/s = ViTEncoder.similarities (preprocess + forward + features back); fwd = the model forward alone")
    head = f"{'encoder':<12} {'device':<7} {'dtype':<9} {'batch':>5} {'tiles/s':>9} {'fwd tiles/s':>11}"
    print(head + f" {'GFLOP/tile':>10} {'TFLOP/s':>8} {'% peak':>7} {'batches':>7}")
    for r in rows:
        peak = None if r["peak_fraction"] is None else 100 * r["peak_fraction"]
        print(
            f"{r['encoder']:<12} {r['device']:<7} {r['dtype']:<9} {r['batch_size']:>5} {r['tiles_per_s']:>9.2f} "
            f"{_fmt(r['forward_tiles_per_s'], '.2f', 11)} {_fmt(r['gflops_per_tile'], '.1f', 10)} "
            f"{_fmt(r['tflops'], '.3f', 8)} {_fmt(peak, '.1f', 7)} {r['batches']:>7}"
        )
    print()
    for r in rows:
        if r["tflops"] is None:
            continue
        dtype = SHORT_DTYPES.get(r["dtype"], r["dtype"])
        if r["peak_fraction"] is not None:
            share = f"{100 * r['peak_fraction']:.1f}% of peak ({r['peak_tflops']:g} TFLOP/s, {machine['device_name']})"
        else:
            share = "% of peak unknown (give --peak-tflops)"
        print(
            f"{r['encoder']} {dtype}: {r['forward_tiles_per_s']:.2f} tiles/s forward "
            f"({r['tiles_per_s']:.2f} end to end), {r['tflops']:.3f} TFLOP/s = {share}"
        )


def print_reward(reward: dict[str, Any]) -> None:
    engine = reward["engine"]
    startup = ", ".join(f"{pool} {seconds:.1f}s" for pool, seconds in engine["startup_s"].items())
    workers = " + ".join(f"{size} {pool}" for pool, size in engine["workers"].items())
    print(
        f"\nreward throughput: RewardScorer, encoder {reward['encoder']}, ground-truth answers; engine "
        f"{engine['sandbox_mode']}, {workers} workers "
        f"(start-up, not timed: {startup})"
    )
    print("  render%/encode% = render-only / encode-only time as a share of the scored time (they overlap in score)")
    head = f"{'language':<10} {'items':>5} {'scored':>6} {'renders/s':>9} {'visual':>7} {'exec':>6} {'tiles':>5}"
    print(head + f" {'score s':>8} {'render s':>8} {'encode s':>8} {'render%':>7} {'encode%':>7} {'setup s':>7}")
    for r in reward["languages"]:
        if "renders_per_s" not in r:
            errors = ", ".join(r.get("target_errors", []))
            print(f"{r['language']:<10} {r['items']:>5} {0:>6}  no target rendered ({errors})")
            continue
        print(
            f"{r['language']:<10} {r['items']:>5} {r['scored']:>6} {r['renders_per_s']:>9.2f} {r['visual']:>7.4f} "
            f"{100 * r['exec_rate']:>5.0f}% {r['tiles']:>5.1f} {r['score_s']:>8.2f} {r['render_only_s']:>8.2f} "
            f"{r['encode_only_s']:>8.2f} {100 * r['render_share']:>6.0f}% {100 * r['encode_share']:>6.0f}% "
            f"{r['setup_s']:>7.2f}"
        )
    notes = [
        f"{r['language']}: {kind} {', '.join(r[kind])}"
        for r in reward["languages"]
        for kind in ("target_errors", "score_errors")
        if r.get(kind)
    ]
    if reward["skipped"]:
        notes.append(f"skipped (no inputs): {', '.join(reward['skipped'])}")
    for note in notes:
        print(f"  {note}")


# --- main ----------------------------------------------------------------------------------------------------------
def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="reward speed benchmark: encoder tiles/s and reward renders/s")
    parser.add_argument("--only", choices=["encoders", "reward"], action="append", help="run only this part")
    parser.add_argument(
        "--sizes", type=_csv, help="DINOv2 sizes: tiny,small,base,large (CPU: tiny,small; GPU: tiny,base,large)"
    )
    parser.add_argument("--device", help="cpu or cuda[:N] (default: cuda when available)")
    parser.add_argument("--dtype", choices=["auto", "float32", "bfloat16", "float16"], default="auto")
    parser.add_argument("--batch-size", type=int, help="tiles per encoder batch (default: 64 on GPU, 8 on CPU)")
    parser.add_argument("--seconds", type=float, default=5.0, help="time each encoder for at least this long")
    parser.add_argument("--min-batches", type=int, default=2, help="and for at least this many timed batches")
    parser.add_argument("--warmup", type=int, help="untimed batches first (default: 3 on GPU, 1 on CPU)")
    parser.add_argument("--peak-tflops", type=float, help="peak TFLOP/s for the %% of peak (default: by GPU name)")
    parser.add_argument("--limit", type=int, default=16, help="ground-truth samples per language")
    parser.add_argument("--languages", type=_csv, default=list(LANGUAGE_ORDER), help="comma-separated languages")
    parser.add_argument("--reward-encoder", default="ssim", help="ssim | random:SIZE | an encoder spec")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    cuda = torch.cuda.is_available()
    args.device = args.device or ("cuda" if cuda else "cpu")
    on_gpu = torch.device(args.device).type == "cuda"
    args.sizes = args.sizes or (["tiny", "base", "large"] if on_gpu else ["tiny", "small"])
    unknown = [s for s in args.sizes if s not in SIZES] + [
        lang for lang in args.languages if lang not in LANGUAGE_ORDER
    ]
    if unknown:
        parser.error(f"unknown size or language: {', '.join(unknown)}")
    args.batch_size = args.batch_size or (64 if on_gpu else 8)
    args.warmup = (3 if on_gpu else 1) if args.warmup is None else args.warmup
    return args


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "cpu"


def machine_info(device: torch.device, dtype: torch.dtype) -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpus": _cpus(),
        "torch_threads": torch.get_num_threads(),
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else _cpu_name(),
        "dtype": str(dtype).removeprefix("torch."),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    device = torch.device(args.device)
    dtype = {"auto": None, "float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[args.dtype]
    dtype = dtype or (torch.bfloat16 if device.type == "cuda" else torch.float32)
    machine = machine_info(device, dtype)
    print(
        f"machine: {machine['device_name']} ({machine['device']}), {machine['cpus']} CPUs, torch {machine['torch']} "
        f"({machine['torch_threads']} threads), encoder dtype {machine['dtype']}",
        flush=True,
    )
    report: dict[str, Any] = {
        "machine": machine,
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
    }
    parts = args.only or ["encoders", "reward"]
    if "encoders" in parts:
        print(f"encoders (batch {args.batch_size}, >= {args.seconds:g}s and >= {args.min_batches} batches each):")
        report["encoders"] = bench_encoders(args, device, dtype)
    if "reward" in parts:
        print(f"reward ({args.limit} per language, encoder {args.reward_encoder}):", flush=True)
        report["reward"] = bench_reward(args, device, dtype)
    if "encoders" in report:
        print_encoders(report["encoders"], machine)
    if "reward" in report:
        print_reward(report["reward"])
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
        print(f"\nwrote {args.json}")
    return report


if __name__ == "__main__":
    main()
