"""Peak memory of a backbone merge (training/merge) against the size of one model, on tiny-but-not-trivial models.

Builds a Qwen2-VL with a wider, deeper language model than the test one (training/tiny.py; ~100 MB of float32
weights at the defaults), its language model as the base LLM and a perturbed copy as the coder, then measures the
peak resident memory (VmHWM, the kernel's high-water mark, of a fresh child process) of:

    baseline   the child imports torch, safetensors and training.merge and exits (what any merge costs)
    merge      run_merge on the three checkpoints (the streaming merge)
    naive      the three state dicts loaded whole, merged in memory and saved (the simple way, for scale)

    python benchmarks/merge_memory.py                      # prints a table and writes results.json in --work
    python benchmarks/merge_memory.py --layers 16 --hidden 1024 --intermediate 2816
    python benchmarks/merge_memory.py --table 152064 1536  # instead: one 7B-vocabulary bf16 table as embeddings
                                                           # and head (Qwen2.5-1.5B's shape), 890 MiB a model
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BASELINE = "import torch, safetensors, training.merge"
MERGE = """
from training.merge import run_merge
recipe = {{"vlm": {vlm!r}, "base": {base!r}, "coder": {coder!r}, "scale": 0.5, "output_dir": {out!r}}}
run_merge({{**recipe, "chunk_mb": {chunk_mb}}}, {root!r})
"""
NAIVE = """
import torch
from safetensors.torch import load_file, save_file
vlm, base, coder = load_file({vlm!r} + "/model.safetensors"), load_file({base!r} + "/model.safetensors"), \\
    load_file({coder!r} + "/model.safetensors")
merged = {{k: (v.float() + 0.5 * (coder[k].float() - base[k].float())).to(v.dtype) if k in base else v
          for k, v in vlm.items()}}
save_file(merged, {out!r} + "/model.safetensors", metadata={{"format": "pt"}})
"""


def build_tables(work: Path, rows: int, cols: int) -> dict[str, Path]:
    """Three checkpoints that hold only a bf16 embedding table and output head of rows x cols (plus a vision tensor
    in the VLM): the largest tensors a real merge meets, to check that blocks of rows bound the memory."""
    import torch
    from safetensors.torch import save_file

    generator = torch.Generator().manual_seed(0)
    paths = {}
    for name in ("vlm", "base", "coder"):
        folder = work / f"table-{name}"
        paths[name] = folder
        if (folder / "model.safetensors").is_file():
            continue
        folder.mkdir(parents=True, exist_ok=True)
        config = {"model_type": "qwen2_vl" if name == "vlm" else "qwen2", "hidden_size": cols, "vocab_size": rows}
        (folder / "config.json").write_text(json.dumps(config))
        names = ("model.embed_tokens.weight", "lm_head.weight")
        tensors = {k: torch.randn(rows, cols, generator=generator).bfloat16() for k in names}
        if name == "vlm":
            tensors["visual.patch_embed.proj.weight"] = torch.randn(cols, 1176, generator=generator)
        save_file(tensors, folder / "model.safetensors", metadata={"format": "pt"})
    return paths


def build(work: Path, args: argparse.Namespace) -> dict[str, Path]:
    if args.table:
        return build_tables(work, *args.table)
    from training.tiny import TinySpec, build_tiny_coder, build_tiny_lm, build_tiny_vlm

    spec = TinySpec(
        hidden_size=args.hidden,
        intermediate_size=args.intermediate,
        num_layers=args.layers,
        num_heads=args.hidden // 64,
        num_kv_heads=max(1, args.hidden // 256),
    )
    vlm = build_tiny_vlm(work / "vlm", spec)
    base = build_tiny_lm(work / "base", vlm)
    return {"vlm": vlm, "base": base, "coder": build_tiny_coder(work / "coder", base)}


# The child reports its own high-water mark: VmHWM belongs to the program's address space, which exec starts afresh,
# while a child's ru_maxrss keeps the parent's peak from before the exec (and this parent just built three models).
REPORT = """
from training.merge.run import peak_rss
print("PEAK_RSS_GB", peak_rss()["peak_rss_gb"])
"""


def peak_rss_mb(code: str) -> tuple[float, float]:
    """(peak RSS in MiB, seconds) of `code` run in a fresh Python process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.time()
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code) + REPORT], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise SystemExit(f"child failed with {proc.returncode}: {proc.stderr[-2000:]}")
    line = next(line for line in proc.stdout.splitlines() if line.startswith("PEAK_RSS_GB"))
    return float(line.split()[1]) * 1024, time.time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("/tmp/vinci-merge-bench"))
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--intermediate", type=int, default=1536)
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--chunk-mb", type=float, default=4, help="the merge's block size (recipe chunk_mb)")
    parser.add_argument("--table", type=int, nargs=2, metavar=("ROWS", "COLS"), help="synthetic bf16 tables instead")
    args = parser.parse_args()
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    models = build(work, args)
    sizes = {name: sum(f.stat().st_size for f in path.glob("*.safetensors")) / 2**20 for name, path in models.items()}
    paths = {name: str(path) for name, path in models.items()}
    results = {}
    for name, code in (("baseline", BASELINE), ("merge", MERGE), ("naive", NAIVE)):
        out = work / f"out-{name}"
        shutil.rmtree(out, ignore_errors=True)
        if name == "naive":
            out.mkdir()
        source = code.format(**paths, out=str(out), root=str(work / "data"), chunk_mb=args.chunk_mb)
        results[name] = dict(zip(("peak_rss_mb", "seconds"), peak_rss_mb(source), strict=True))
    base_rss = results["baseline"]["peak_rss_mb"]
    report = {
        "model_mb": {k: round(v, 1) for k, v in sizes.items()},
        "runs": {
            k: {"peak_rss_mb": round(v["peak_rss_mb"], 1), "above_baseline_mb": round(v["peak_rss_mb"] - base_rss, 1),
                "seconds": round(v["seconds"], 2)}
            for k, v in results.items()
        },
    }  # fmt: skip
    (work / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"models (MiB of safetensors): {report['model_mb']}")
    print(f"{'run':<10} {'peak RSS MiB':>13} {'above baseline':>15} {'seconds':>8}")
    for name, row in report["runs"].items():
        print(f"{name:<10} {row['peak_rss_mb']:>13} {row['above_baseline_mb']:>15} {row['seconds']:>8}")


if __name__ == "__main__":
    main()
