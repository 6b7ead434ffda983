"""benchmarks/reward_bench.py at the smallest size: its encoder rows, its FLOPs count and its per-language reward row
are well formed and sane (no timing thresholds: the figures depend on the machine)."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest
import torch

from renderers.engine import default_engine
from training.rewards.encoders import SSIMEncoder
from training.rewards.scorer import RewardConfig, RewardScorer

BENCH = Path(__file__).resolve().parents[3] / "benchmarks" / "reward_bench.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("reward_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_vit_flops_match_a_hand_count(bench):
    # tiny DINOv2: width 32, 2 layers, MLP 64, patch 14 on a 448 tile -> 32 x 32 = 1024 patches, 1025 tokens
    tokens, d, d_mlp = 1025, 32, 64
    matmuls = 2 * tokens * (4 * d * d + 2 * d * d_mlp)  # 16_793_600
    attention = 4 * tokens * tokens * d  # 134_480_000
    patch_embedding = 2 * 1024 * (3 * 14 * 14) * d  # 38_535_168
    assert 2 * (matmuls + attention) + patch_embedding == 341_082_368
    assert bench.vit_flops_per_tile(32, 2, 64) == 341_082_368
    encoder, flops = bench.build_vit("tiny", batch_size=2)
    assert flops == 341_082_368 and encoder.batch_size == 2
    # DINOv2-L (1024 wide, 24 layers, MLP 4096): about 724 GFLOP per tile
    assert bench.vit_flops_per_tile(1024, 24, 4096) == pytest.approx(723.59e9, rel=1e-4)


def test_peak_table_and_defaults(bench):
    assert bench.peak_tflops_for("NVIDIA H200") == 989
    assert bench.peak_tflops_for("NVIDIA H100 80GB HBM3") == 989
    assert bench.peak_tflops_for("NVIDIA A100-SXM4-80GB") == 312
    assert bench.peak_tflops_for("NVIDIA L40S") == 362
    assert bench.peak_tflops_for("Some Other GPU") is None
    assert bench.spread(list(range(10)), 3) == [0, 3, 6] and bench.spread([1, 2], 5) == [1, 2]
    args = bench.parse_args(["--device", "cpu"])
    assert args.sizes == ["tiny", "small"] and args.batch_size == 8 and args.warmup == 1
    with pytest.raises(SystemExit):
        bench.parse_args(["--sizes", "huge"])


def test_encoder_rows_are_sane(bench, tmp_path):
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        timing = dict(seconds=0.0, min_batches=2, warmup=1, batch_size=2)
        ssim = bench.bench_encoder(SSIMEncoder(), label="ssim", **timing)
        encoder, flops = bench.build_vit("tiny", batch_size=2)
        vit = bench.bench_encoder(encoder, label="DINOv2-tiny", flops_per_tile=flops, peak_tflops=1.0, **timing)
    finally:
        torch.set_num_threads(previous)
    for row in (ssim, vit):
        assert row["tiles_per_s"] > 0 and math.isfinite(row["tiles_per_s"])
        assert row["batches"] == 2 and row["batch_size"] == 2 and row["device"] == "cpu"
        assert row["batch_s_min"] <= row["batch_s_median"] <= row["batch_s_max"]
    assert ssim["forward_tiles_per_s"] is None and ssim["tflops"] is None
    assert vit["dtype"] == "float32" and vit["gflops_per_tile"] == pytest.approx(0.341082368)
    assert vit["forward_tiles_per_s"] > 0 and vit["forward"]["batches"] == 2
    assert vit["tflops"] == pytest.approx(flops * vit["forward_tiles_per_s"] / 1e12)
    assert vit["peak_fraction"] == pytest.approx(vit["tflops"])  # peak given as 1 TFLOP/s
    bench.print_encoders([ssim, vit], {"device_name": "test"})
    json.dumps([ssim, vit])  # the --json report holds these rows as they are


def test_ground_truth_svg_scores_one(bench, shared_data, capsys):
    samples = bench.load_samples("svg", 2, shared_data)
    assert len(samples) == 2 and all(code.lstrip().startswith("<") for _, code in samples)
    engine = default_engine()
    with RewardScorer(RewardConfig(encoder="ssim"), engine=engine, encoder=SSIMEncoder()) as scorer:
        row = bench.bench_reward_language(engine, scorer, "svg", samples)
    assert row["items"] == row["targets"] == row["scored"] == 2
    assert row["visual"] == pytest.approx(1.0, abs=1e-6) and row["visual_min"] == pytest.approx(1.0, abs=1e-6)
    assert row["exec_rate"] == 1.0 and row["reward"] == pytest.approx(1.0, abs=1e-6)
    assert row["renders_per_s"] > 0 and row["tiles"] >= 1
    assert row["render_only_s"] > 0 and row["encode_only_s"] > 0 and row["render_share"] > 0
    assert "score_errors" not in row and "target_errors" not in row
    reward = {
        "encoder": "ssim",
        "engine": {"sandbox_mode": "test", "workers": {"sandbox": 2}, "concurrency": 2, "startup_s": {"sandbox": 1}},
        "languages": [row, {"language": "asymptote", "items": 1, "targets": 0, "target_errors": ["syntax"]}],
        "skipped": ["smiles"],
    }
    bench.print_reward(reward)
    printed = capsys.readouterr().out
    assert "svg" in printed and "no target rendered (syntax)" in printed and "skipped (no inputs): smiles" in printed
