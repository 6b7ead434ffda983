"""SFT with TRL on the tiny Qwen2-VL: real trainer, real images through the vision tower, checkpoint reload."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import torch
import yaml
from safetensors.torch import load_file
from trl import SFTConfig

from storage.query import sql
from training.recipes import RECIPES_DIR, SFTRecipe, accelerate_config_path, load_recipe, parse_overrides
from training.sft import latest_checkpoint, plan_sft, run_sft
from vinci.config import ConfigError


def _overrides(tiny_model, **extra):
    base = {
        "model": {"path": str(tiny_model)},
        "data": {"datasets": ["dedup"], "max_rows": None},
        "trainer": {"max_steps": 2, "save_steps": 1},
    }
    for key, value in extra.items():
        base[key] = {**base.get(key, {}), **value} if isinstance(value, dict) else value
    return base


def _visual(path) -> dict[str, torch.Tensor]:
    weights = load_file(str(path / "model.safetensors"))
    visual = {k: v for k, v in weights.items() if ".visual." in f".{k}"}
    assert visual, "no vision tower weights found"
    return visual


def test_two_steps_train_the_vision_tower_and_the_checkpoint_reloads(tiny_model, curated_root):
    summary = run_sft("tiny-cpu", curated_root, _overrides(tiny_model))
    out = summary["checkpoint"]
    assert summary["steps"] == 2 and summary["rows"] == 16
    assert summary["rows_by_domain"] == {"chart": 8, "svg": 8}
    assert summary["tokens_seen"] > 0 and summary["train_loss"] > 0
    # images reached the vision tower: its weights moved (gradients flowed through pixel_values)
    before, after = _visual(tiny_model), _visual(Path(out))
    moved = [k for k in before if not torch.equal(before[k], after[k])]
    assert len(moved) > len(before) // 2, f"only {len(moved)} of {len(before)} vision tensors changed"
    # the checkpoint folder is complete and reloads: the summary's generation check loaded it from disk
    check = summary["generation_check"]
    assert check["loaded_from"] == out and check["generated_chars"] > 0
    resolved = yaml.safe_load(Path(out, "recipe.yaml").read_text())
    assert resolved["data"]["datasets"][0].startswith("dedup@") and resolved["output_dir"] == out
    assert set(resolved["versions"]) == {"torch", "transformers", "trl"}
    ids = pq.read_table(f"{out}/train_ids.parquet").to_pydict()
    assert len(ids["id"]) == 16 and set(ids["task"]) == {"direct"}
    assert json.loads(Path(out, "_done.json").read_text())["checkpoint"] == out
    # the newest run is findable, and a run folder never poses as a dataset (queries over the root still work)
    assert latest_checkpoint(curated_root) == Path(out)
    assert sql("SELECT count(*) AS n FROM dedup", curated_root)["n"][0] == 16
    # a finished recipe is not trained again
    again = run_sft("tiny-cpu", curated_root, _overrides(tiny_model))
    assert again["cached"] is True and again["checkpoint"] == out


def test_frozen_vision_tower_stays_put_and_filters_apply(tiny_model, curated_root):
    overrides = _overrides(tiny_model, freeze_vision=True, data={"domains": ["svg"]}, check_generation=False)
    summary = run_sft("tiny-cpu", curated_root, overrides)
    assert summary["rows_by_domain"] == {"svg": 8}
    assert summary["frozen_vision_parameters"] > 0
    before, after = _visual(tiny_model), _visual(Path(summary["checkpoint"]))
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_output_folder_is_keyed_on_recipe_and_data(tiny_model, curated_root):
    a = plan_sft("tiny-cpu", curated_root, _overrides(tiny_model))
    b = plan_sft("tiny-cpu", curated_root, _overrides(tiny_model, trainer={"learning_rate": 1e-4}))
    c = plan_sft("tiny-cpu", curated_root, _overrides(tiny_model, launcher={"num_processes": 1}))
    assert a.output_dir != b.output_dir and a.output_dir == c.output_dir
    assert a.output_dir.parent.name == "sft"


def test_empty_selection_is_a_clear_error(tiny_model, curated_root):
    with pytest.raises(ValueError, match="no training rows left"):
        run_sft("tiny-cpu", curated_root, _overrides(tiny_model, data={"domains": ["web"]}))


@pytest.mark.parametrize("path", sorted((RECIPES_DIR / "sft").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_recipe_is_valid_for_trl(path, tmp_path):
    recipe = load_recipe(path, SFTRecipe)
    # bf16 recipes target GPUs; on this CPU-only machine check the rest of the fields with bf16 off
    fields = {**recipe.trainer, "bf16": False, "use_cpu": True, "report_to": "none"}
    SFTConfig(output_dir=str(tmp_path), **fields)
    if recipe.launcher.accelerate_config:
        from accelerate.commands.config.config_args import load_config_from_file

        config = load_config_from_file(str(accelerate_config_path(recipe.launcher.accelerate_config)))
        assert config.num_processes == recipe.launcher.num_processes


def test_paper_settings_in_the_gpu_recipes():
    for name in ("qwen2.5-vl-7b", "qwen3-vl-8b"):
        recipe = load_recipe(name, SFTRecipe)
        t = recipe.trainer
        global_batch = t["per_device_train_batch_size"] * t["gradient_accumulation_steps"] * 8
        assert global_batch == 96 and t["num_train_epochs"] == 1
        assert recipe.model.min_pixels == 512 * 512 and recipe.model.max_pixels == 2048 * 2048
        assert recipe.data.datasets == ["dedup", "drafts"]


def test_overrides_and_unknown_fields():
    assert parse_overrides(["trainer.max_steps=3", "data.domains=[svg, chart]", "freeze_vision=true"]) == {
        "trainer": {"max_steps": 3},
        "data": {"domains": ["svg", "chart"]},
        "freeze_vision": True,
    }
    with pytest.raises(ConfigError, match="key=value"):
        parse_overrides(["trainer.max_steps"])
    with pytest.raises(ConfigError, match="bogus"):
        load_recipe("tiny-cpu", SFTRecipe, {"bogus": 1})
    with pytest.raises(ConfigError, match="not found"):
        load_recipe("no-such-recipe", SFTRecipe)


@pytest.mark.parametrize("recipe", ["qwen2.5-vl-7b", "qwen3-vl-8b"])
def test_gpu_smoke_code_path_runs_shrunk_on_cpu(recipe, tmp_path):
    from training.smoke import run_smoke

    result = run_smoke(recipe, steps=2, image_size=(128, 96), answer_tokens=32, shrink=True, workdir=str(tmp_path))
    assert result["steps"] == 2 and result["tokens_per_step"] > 0 and result["tokens_per_second"] > 0
    assert result["architecture"] == ("qwen3_vl" if "qwen3" in recipe else "qwen2_5_vl")


def test_pipeline_runs_training_after_the_data_stages():
    from tasks.registry import PipelineConfig, load_pipeline

    cfg = PipelineConfig(stages={"sft": "r.yaml", "drafts": "x.yaml", "dedup": "d.yaml"})
    assert [name for name, _ in cfg.ordered()] == ["dedup", "drafts", "sft"]
    _, stages = load_pipeline(str(Path(__file__).resolve().parents[2] / "configs/pipeline/demo.yaml"))
    assert [name for name, _ in stages][-4:] == ["drafts", "sft", "virl", "evaluate"]
    with pytest.raises(ConfigError, match="unknown stage"):
        PipelineConfig(stages={"evaluation": "v.yaml"}).ordered()


def test_lora_run_saves_a_merged_plain_checkpoint(tiny_model, curated_root):
    lora = {"r": 4, "alpha": 8, "target_modules": ["q_proj", "v_proj"]}
    overrides = _overrides(tiny_model, model={"lora": lora}, trainer={"max_steps": 1, "learning_rate": 0.05})
    summary = run_sft("tiny-cpu", curated_root, overrides)
    base = load_file(str(tiny_model / "model.safetensors"))
    merged = load_file(str(Path(summary["checkpoint"]) / "model.safetensors"))
    assert set(merged) == set(base)  # adapters merged in: an ordinary checkpoint, no lora_ tensors
    changed = {k for k in base if not torch.equal(base[k], merged[k])}
    assert changed and all(k.endswith(("q_proj.weight", "v_proj.weight")) for k in changed)
    assert summary["generation_check"]["generated_chars"] > 0


CPU_LAUNCH = """compute_environment: LOCAL_MACHINE
distributed_type: 'NO'
mixed_precision: 'no'
num_machines: 1
num_processes: 1
use_cpu: true
"""


def test_accelerate_launcher_trains_in_a_subprocess(tiny_model, curated_root, tmp_path):
    """The multi-GPU path (`accelerate launch -m training.sft <resolved recipe>`), here with a one-process CPU
    config: the recipe is resolved and written, the child trains and writes _done.json, the parent reads it."""
    config = tmp_path / "cpu.yaml"
    config.write_text(CPU_LAUNCH)
    launcher = {"accelerate_config": str(config), "num_processes": 1}
    overrides = _overrides(tiny_model, launcher=launcher, check_generation=False, trainer={"max_steps": 1})
    summary = run_sft("tiny-cpu", curated_root, overrides)
    out = Path(summary["checkpoint"])
    assert summary["steps"] == 1 and summary["processes"] == 1
    written = yaml.safe_load((out / "recipe.yaml").read_text())
    assert written["output_dir"] == str(out) and written["data"]["datasets"][0].startswith("dedup@")
    with pytest.raises(ConfigError, match="accelerate config"):
        bad = _overrides(tiny_model, launcher={"accelerate_config": "no-such-config"}, trainer={"max_steps": 3})
        run_sft("tiny-cpu", curated_root, bad)


def test_cli_sft_and_tiny_model(tiny_model, curated_root, tmp_path):
    from typer.testing import CliRunner

    from vinci.cli import app

    runner = CliRunner()
    args = ["sft", "--recipe", "tiny-cpu", "--data-root", curated_root, "--local", "--set", f"model.path={tiny_model}"]
    args += ["--set", "data.datasets=[dedup]", "--set", "trainer.max_steps=1", "--set", "check_generation=false"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "sft tiny-cpu: 16 rows, 1 steps" in result.output and "checkpoint" in result.output
    again = runner.invoke(app, args)
    assert "(already trained)" in again.output
    bad = runner.invoke(app, ["sft", "--recipe", "tiny-cpu", "--set", "trainer.max_steps", "--local"])
    assert bad.exit_code == 2 and "key=value" in bad.output
    made = runner.invoke(app, ["tiny-model", str(tmp_path / "tiny")])
    assert made.exit_code == 0 and "Qwen2-VL" in made.output
    assert (tmp_path / "tiny" / "model.safetensors").exists()
