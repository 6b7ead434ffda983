"""The ViRL stage on CPU: a tiny SFT checkpoint that has learned to open an SVG block, then two GRPO steps with the
real reward (every tagged answer rendered in the sandbox and scored), the run's artifacts, caching, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from safetensors.torch import load_file

from training.generate import TransformersGenerator
from training.models import ModelSpec
from training.recipes import RECIPES_DIR, load_recipe
from training.rewards.encoders import EncoderUnavailable
from training.runs import LATEST_RUN, latest_checkpoint
from training.sft import run_sft
from training.virl import ViRLRecipe, plan_virl, run_virl

SFT = {
    "name": "toy",
    "model": {"path": None, "dtype": "float32"},
    "data": {"datasets": ["dedup"]},
    "check_generation": False,
    "trainer": {
        "max_steps": 60,
        "per_device_train_batch_size": 4,
        "learning_rate": 3.0e-3,
        "lr_scheduler_type": "constant",
        "max_length": 256,
        "use_cpu": True,
        "bf16": False,
        "save_strategy": "no",
        "dataloader_num_workers": 0,
    },
}
VIRL_OVERRIDES = {"exclude_base_rows": False, "trainer": {"max_completion_length": 96}}


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_model, toy_svg_rows, dedup_writer):
    root = dedup_writer(str(tmp_path_factory.mktemp("virl") / "data"), toy_svg_rows)
    sft = run_sft({**SFT, "model": {"path": str(tiny_model), "dtype": "float32"}}, root)
    virl = run_virl("tiny-cpu", root, VIRL_OVERRIDES)
    return root, sft, virl


def _rollouts(summary) -> list[dict]:
    path = Path(summary["checkpoint"]) / "rollouts.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_two_grpo_steps_with_rendered_rewards(trained):
    root, sft, virl = trained
    assert virl["steps"] == 2 and virl["encoder"] == "ssim" and virl["base_model"] == sft["checkpoint"]
    rollouts = _rollouts(virl)
    assert len(rollouts) == 2 * 8  # 2 steps x (2 prompts x 4 generations)
    assert {r["step"] for r in rollouts} == {0, 1}
    rendered = [r for r in rollouts if r["rendered"]]
    assert rendered, "the SFT checkpoint opens ```svg blocks, so some answers must reach the renderer"
    assert {r["run"] for r in rollouts} == {Path(virl["checkpoint"]).name}
    for r in rollouts:
        assert r["language"] == "svg" and r["language_rule"] == "fence_request" and r["encoder"] == "ssim"
        assert r["reward"] == pytest.approx(0.9 * r["visual"] + 0.1 * r["alignment"])
        if not r["render_ok"]:
            assert r["visual"] == 0.0 and r["error_kind"]
    assert any(r["alignment"] == 1.0 for r in rollouts)


def test_curves_plot_and_run_files(trained):
    _, _, virl = trained
    out = Path(virl["checkpoint"])
    points = json.loads((out / "curves.json").read_text())
    assert [p["step"] for p in points][:2] == [1, 2]
    assert {"reward", "visual", "alignment", "exec_rate", "render_attempted"} <= set(points[0])
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert virl["reward_first"] == pytest.approx(points[0]["reward"], abs=1e-4)
    resolved = yaml.safe_load((out / "recipe.yaml").read_text())
    assert resolved["reward"]["encoder"] == "ssim" and resolved["trainer"]["beta"] == 0.0
    assert resolved["model"]["path"] == virl["base_model"] and resolved["data"]["datasets"][0].startswith("dedup@")
    assert pq.read_table(out / "rl_ids.parquet").num_rows == virl["rows"] == 4
    assert (out.parent / LATEST_RUN).read_text().strip() == out.name
    assert latest_checkpoint(trained[0], "virl") == out


def test_policy_moved_and_the_checkpoint_generates(trained):
    _, sft, virl = trained
    before = load_file(Path(sft["checkpoint"]) / "model.safetensors")
    after = load_file(Path(virl["checkpoint"]) / "model.safetensors")
    assert before.keys() == after.keys()
    assert any(not before[k].equal(after[k]) for k in before), "a GRPO step with unequal rewards must move weights"
    generator = TransformersGenerator(ModelSpec(path=virl["checkpoint"], dtype="float32"))
    from PIL import Image

    text = generator.generate([Image.new("RGB", (64, 64), "red")], ["Draw it in SVG."], max_new_tokens=8)[0]
    assert isinstance(text, str)


def test_a_finished_run_is_found_again(trained):
    root, _, virl = trained
    again = run_virl("tiny-cpu", root, VIRL_OVERRIDES)
    assert again["cached"] and again["checkpoint"] == virl["checkpoint"]
    moved = plan_virl("tiny-cpu", root, {**VIRL_OVERRIDES, "reward": {"visual_weight": 0.8}})
    assert moved.output_dir != Path(virl["checkpoint"])  # the reward is part of what is trained
    same = plan_virl("tiny-cpu", root, {**VIRL_OVERRIDES, "reward": {"worker": "spawn", "batch_size": 8}})
    assert same.output_dir == Path(virl["checkpoint"])  # where the reward runs is not


def test_rows_the_base_trained_on_are_left_out(trained):
    root, _, _ = trained
    with pytest.raises(ValueError, match="no training rows left"):
        run_virl("tiny-cpu", root, {"trainer": {"max_steps": 1}})  # the toy SFT trained on all four rows


def test_a_missing_encoder_is_refused_clearly(trained, monkeypatch):
    root, _, _ = trained
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(EncoderUnavailable, match="reward.encoder: ssim"):
        run_virl("tiny-cpu", root, {**VIRL_OVERRIDES, "reward": {"encoder": "dinov2"}})


@pytest.mark.prefect
def test_the_virl_flow_and_its_artifacts(trained, prefect_server):
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.virl import virl as virl_flow

    root, _, virl = trained
    result = virl_flow(config="tiny-cpu", data_root=root, overrides=VIRL_OVERRIDES)
    assert result["stage"] == "virl" and result["cached"] and result["checkpoint"] == virl["checkpoint"]

    async def read(key):
        async with get_client() as client:
            return await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))

    table = asyncio.run(read("virl-summary"))[0].data
    table = json.loads(table) if isinstance(table, str) else table
    assert {r["field"]: r["value"] for r in table}["encoder"] == "ssim"
    markdown = asyncio.run(read("virl-curves"))[0].data
    assert "data:image/png;base64," in markdown and "rollouts.jsonl" in markdown


def test_vinci_virl_and_reward_commands(trained, tmp_path, toy_svg_rows):
    from typer.testing import CliRunner

    from vinci.cli import app

    root, _, virl = trained
    runner = CliRunner()
    out = runner.invoke(
        app,
        [
            "virl",
            "--local",
            "--data-root",
            root,
            "--set",
            "exclude_base_rows=false",
            "--set",
            "trainer.max_completion_length=96",
            "--json",
        ],
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.output[out.output.index("{") :])["checkpoint"] == virl["checkpoint"]

    row = toy_svg_rows[0]
    image = tmp_path / "target.png"
    image.write_bytes(row["image"]["bytes"])
    answer = tmp_path / "answer.txt"
    answer.write_text(f"Here it is:\n```svg\n{row['code']}\n```\n")
    out = runner.invoke(
        app,
        [
            "reward",
            "--image",
            str(image),
            "--completion",
            str(answer),
            "--instruction",
            row["instruction"],
            "--encoder",
            "ssim",
        ],
    )
    assert out.exit_code == 0, out.output
    parts = json.loads(out.output)
    assert parts["reward"] == pytest.approx(1.0, abs=1e-6) and parts["visual"] == pytest.approx(1.0, abs=1e-6)
    assert parts["alignment"] == 1.0 and parts["language"] == "svg" and parts["encoder"] == "ssim"

    out = runner.invoke(app, ["reward", "--image", str(image), "--completion", "-", "--encoder", "ssim"], input="x")
    assert out.exit_code == 0 and json.loads(out.output)["error_kind"] == "no_code"
    out = runner.invoke(
        app, ["reward", "--image", str(image), "--completion", str(answer), "--encoder", "dinov2:/nope"]
    )
    assert out.exit_code == 2 and "reward.encoder: ssim" in out.output


@pytest.mark.parametrize("path", sorted((RECIPES_DIR / "virl").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_virl_recipe_is_valid_for_trl(path, tmp_path):
    from trl import GRPOConfig

    recipe = load_recipe(path, ViRLRecipe, kind="virl")
    fields = {**recipe.trainer, "bf16": False, "use_cpu": True, "report_to": "none"}
    config = GRPOConfig(output_dir=str(tmp_path), **fields)
    assert config.beta == 0.0 and config.temperature == 1.0 and config.top_p == 1.0
    assert recipe.reward.visual_weight == 0.9 and recipe.reward.alignment_weight == 0.1


@pytest.mark.parametrize("name", ["qwen2.5-vl-7b", "qwen3-vl-8b"])
def test_paper_settings_in_the_gpu_virl_recipes(name):
    recipe = load_recipe(name, ViRLRecipe, kind="virl")
    t = recipe.trainer
    assert t["num_generations"] == 8 and t["learning_rate"] == 1e-6 and t["lr_scheduler_type"] == "constant"
    assert (t["epsilon"], t["epsilon_high"], t["weight_decay"], t["max_grad_norm"]) == (0.2, 0.3, 0.01, 1.0)
    assert t["max_completion_length"] == 10240 and recipe.max_prompt_tokens == 6144
    assert t["generation_batch_size"] == 256 * 8 and t["loss_type"] == "dapo" and t["num_train_epochs"] == 1
    assert recipe.model.min_pixels == 512 * 512 and recipe.model.max_pixels == 2048 * 2048
    assert recipe.reward.encoder == "dinov2" and recipe.model.path == "sft:latest"
