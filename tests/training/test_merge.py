"""Backbone merge (training/merge) on tiny models built from configs: a tiny VLM whose language model moved away
from its base LLM, that base, and a "coder" made by perturbing the base."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import yaml
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from typer.testing import CliRunner

from training.merge import MergeError, MergeRecipe, plan_merge, run_merge
from training.merge.layout import LAYOUTS, Layout, detect_layout
from training.merge.recipe import pattern_matches
from training.tiny import build_tiny_coder, build_tiny_lm

SCALE = 0.5


def weights(folder: Path) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for file in sorted(folder.glob("*.safetensors")):
        out.update(load_file(file))
    return out


def raw(t: torch.Tensor) -> bytes:
    return t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def expected(vlm: torch.Tensor, base: torch.Tensor, coder: torch.Tensor, scale: float = SCALE) -> torch.Tensor:
    return (vlm.float() + scale * (coder.float() - base.float())).to(vlm.dtype)


def is_vision(key: str) -> bool:
    return key.startswith("visual.")


@pytest.fixture(scope="module")
def models(tmp_path_factory, tiny_model) -> SimpleNamespace:
    """base = the tiny VLM's language model as a Qwen2 LM; coder = base + noise; vlm = the tiny VLM whose language
    model then moved (as VLM training moves it), saved in several shards."""
    from transformers import Qwen2VLForConditionalGeneration

    root = tmp_path_factory.mktemp("merge-models")
    base = build_tiny_lm(root / "base", tiny_model)
    coder = build_tiny_coder(root / "coder", base, noise=0.02, seed=1)
    model = Qwen2VLForConditionalGeneration.from_pretrained(tiny_model)
    generator = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for param in model.model.language_model.parameters():
            param.add_(0.01 * torch.randn(param.shape, generator=generator))
    vlm = root / "vlm"
    model.save_pretrained(vlm, max_shard_size="200KB")
    for path in tiny_model.iterdir():
        if path.name not in {"model.safetensors", "config.json", "generation_config.json", "vinci_tiny.json"}:
            shutil.copy(path, vlm / path.name)
    return SimpleNamespace(root=root, vlm=vlm, base=base, coder=coder)


def recipe(models, out: Path, **extra) -> dict:
    return {"vlm": str(models.vlm), "base": str(models.base), "coder": str(models.coder), "scale": SCALE,
            "output_dir": str(out), **extra}  # fmt: skip


@pytest.fixture(scope="module")
def merged(models, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("merged") / "out"
    return out, run_merge(recipe(models, out), str(models.root / "data"))


def test_merged_equals_vlm_plus_scaled_task_vector_and_vision_is_untouched(models, merged):
    out, summary = merged
    index = json.loads((models.vlm / "model.safetensors.index.json").read_text())
    assert len(set(index["weight_map"].values())) >= 3  # the fixture really is sharded
    vlm, base, coder, got = weights(models.vlm), weights(models.base), weights(models.coder), weights(out)
    assert got.keys() == vlm.keys()
    lm_keys = [k for k in vlm if not is_vision(k)]
    assert lm_keys and set(lm_keys) == set(base)  # Qwen2-VL's hub layout: model.* on both sides
    for key in lm_keys:
        assert torch.equal(got[key], expected(vlm[key], base[key], coder[key])), key
        assert not torch.equal(got[key], vlm[key]), key  # the coder's delta really moved it
    vision = [k for k in vlm if is_vision(k)]
    assert len(vision) > 20 and all(raw(got[k]) == raw(vlm[k]) for k in vision)
    # the VLM's sharding and index are kept; the model files are copied
    assert sorted(p.name for p in out.glob("*.safetensors")) == sorted(set(index["weight_map"].values()))
    assert (out / "model.safetensors.index.json").read_bytes() == (
        models.vlm / "model.safetensors.index.json"
    ).read_bytes()
    for name in ("config.json", "generation_config.json", "tokenizer.json", "chat_template.jinja"):
        assert (out / name).read_bytes() == (models.vlm / name).read_bytes(), name
    for file in out.glob("*.safetensors"):  # tensors sit in the file the index names
        with safe_open(str(file), "pt") as handle:
            names = handle.keys()
            assert names and all(index["weight_map"][k] == file.name for k in names)
            assert handle.metadata() == {"format": "pt"}
    assert summary["tensors_merged"] == len(lm_keys) and summary["copied_by_reason"] == {"vision": len(vision)}
    assert summary["parameters_merged"] == sum(vlm[k].numel() for k in lm_keys)
    assert summary["layout"].startswith("qwen2-vl") and not summary["cached"]


def test_merge_yaml_records_the_recipe_inputs_counts_and_outputs(models, merged):
    out, summary = merged
    record = yaml.safe_load((out / "merge.yaml").read_text())
    assert record["recipe"]["scale"] == SCALE and record["recipe"]["include"] == ["*"]
    assert {record["inputs"][n]["path"] for n in ("vlm", "base", "coder")} == {
        str(models.vlm),
        str(models.base),
        str(models.coder),
    }
    assert record["inputs"]["base"]["model_type"] == "qwen2" and record["inputs"]["vlm"]["model_type"] == "qwen2_vl"
    assert all(f["bytes"] > 0 and len(f["header_blake2b"]) == 32 for f in record["inputs"]["vlm"]["files"].values())
    assert record["counts"]["merge"]["tensors"] == summary["tensors_merged"]
    assert record["merged_modules"]["model.layers.*.mlp.up_proj.weight"]["tensors"] == 2
    assert record["merged_modules"]["model.embed_tokens.weight"]["tensors"] == 1
    assert record["layout"]["name"] == "qwen2-vl" and record["unused_base_tensors"]["count"] == 0
    assert set(record["outputs"]["weights"]) == {p.name for p in out.glob("*.safetensors")}
    assert {"torch", "safetensors", "transformers", "python"} <= set(record["versions"])
    assert record["peak_rss_gb"] > 0
    lineage = yaml.safe_load((out / "recipe.yaml").read_text())  # held-out rows and asset lineage see through it
    assert lineage["model"]["path"] == str(models.vlm) and lineage["sources"]["coder"]["path"] == str(models.coder)
    assert json.loads((out / "_done.json").read_text())["key"] == summary["key"]


def test_merged_checkpoint_loads_and_generates(merged):
    from PIL import Image
    from transformers import AutoModelForImageTextToText

    from training.models import load_processor

    out, _ = merged
    model = AutoModelForImageTextToText.from_pretrained(out).eval()
    state = model.state_dict()
    on_disk = weights(out)
    assert torch.equal(
        state["model.language_model.layers.1.mlp.up_proj.weight"], on_disk["model.layers.1.mlp.up_proj.weight"]
    )
    processor = load_processor(out)
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Write the code."}]}]
    prompt = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    batch = processor(text=[prompt], images=[Image.new("RGB", (64, 64), "white")], return_tensors="pt")
    with torch.no_grad():
        generated = model.generate(**batch, max_new_tokens=4, min_new_tokens=4, do_sample=False)
    assert generated.shape[1] == batch["input_ids"].shape[1] + 4


def test_blocks_of_rows_give_the_same_bytes(models, merged, tmp_path):
    out, _ = merged
    run_merge(recipe(models, tmp_path / "blocks", chunk_mb=1 / 1024), str(tmp_path))  # 1 KiB: many blocks a tensor
    whole, blocks = weights(out), weights(tmp_path / "blocks")
    assert blocks.keys() == whole.keys() and all(raw(blocks[k]) == raw(whole[k]) for k in whole)
    record = yaml.safe_load((out / "merge.yaml").read_text())
    again = yaml.safe_load((tmp_path / "blocks" / "merge.yaml").read_text())
    assert again["outputs"]["weights"] == record["outputs"]["weights"]  # the files are identical, byte for byte


def test_scale_zero_gives_the_vlm_back(models, tmp_path):
    run_merge(recipe(models, tmp_path / "zero", scale=0.0), str(tmp_path))
    vlm, got = weights(models.vlm), weights(tmp_path / "zero")
    assert got.keys() == vlm.keys() and all(raw(got[k]) == raw(vlm[k]) for k in vlm)


def test_include_and_exclude_choose_the_merged_modules(models, tmp_path):
    summary = run_merge(recipe(models, tmp_path / "out", exclude="embed_tokens,layers.1"), str(tmp_path))
    vlm, base, coder, got = weights(models.vlm), weights(models.base), weights(models.coder), weights(tmp_path / "out")
    left_out = [k for k in base if k == "model.embed_tokens.weight" or k.startswith("model.layers.1.")]
    assert summary["copied_by_reason"]["excluded"] == len(left_out) > 1
    for key in base:
        want = vlm[key] if key in left_out else expected(vlm[key], base[key], coder[key])
        assert torch.equal(got[key], want), key
    only_mlp = run_merge(recipe(models, tmp_path / "mlp", include=["*mlp*"]), str(tmp_path))
    assert only_mlp["tensors_merged"] == 2 * 3  # two layers x gate/up/down
    # a pattern that matches nothing is reported, not silently ignored
    typo = run_merge(recipe(models, tmp_path / "typo", exclude=["embed_token"]), str(tmp_path), dry_run=True)
    assert typo["unmatched_patterns"] == {"exclude": ["embed_token"]}


def test_dtypes_may_differ_the_arithmetic_is_float32(models, tmp_path):
    base16 = tmp_path / "base-bf16"
    shutil.copytree(models.base, base16)
    save_file({k: v.to(torch.bfloat16) for k, v in load_file(base16 / "model.safetensors").items()},
              base16 / "model.safetensors", metadata={"format": "pt"})  # fmt: skip
    vlm16 = tmp_path / "vlm-bf16"
    shutil.copytree(models.vlm, vlm16)
    for file in vlm16.glob("*.safetensors"):
        save_file({k: v.to(torch.bfloat16) for k, v in load_file(file).items()}, file, metadata={"format": "pt"})
    run_merge(recipe(models, tmp_path / "out", vlm=str(vlm16), base=str(base16)), str(tmp_path))
    vlm, base, coder, got = weights(vlm16), weights(base16), weights(models.coder), weights(tmp_path / "out")
    assert {t.dtype for t in got.values()} == {torch.bfloat16}
    for key in base:
        assert torch.equal(got[key], expected(vlm[key], base[key], coder[key])), key


def _coder_with_more_tokens(models, out: Path) -> Path:
    from transformers import AutoModelForCausalLM

    coder = AutoModelForCausalLM.from_pretrained(models.coder)
    coder.resize_token_embeddings(coder.config.vocab_size + 8)
    coder.save_pretrained(out)
    return out


def test_a_coder_with_a_grown_vocabulary_is_refused_with_the_way_out(models, tmp_path):
    grown = _coder_with_more_tokens(models, tmp_path / "grown")
    with pytest.raises(MergeError) as err:
        run_merge(recipe(models, tmp_path / "out", coder=str(grown)), str(tmp_path))
    message = str(err.value)
    assert "shape mismatch on model.embed_tokens.weight" in message and "--exclude embed_tokens,lm_head" in message
    assert "[882, 64]" in message and "[890, 64]" in message and "\n" not in message
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.partial-*"))
    # the way out works: everything but the embeddings is merged
    summary = run_merge(
        recipe(models, tmp_path / "out", coder=str(grown), exclude="embed_tokens,lm_head"), str(tmp_path)
    )
    assert summary["copied_by_reason"]["excluded"] == 1
    assert summary["unmatched_patterns"] == {"exclude": ["lm_head"]}  # the tiny models tie their head


def test_mismatched_architectures_are_refused(models, tmp_path):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    def lm(name: str, **changes) -> str:
        fields = json.loads((models.base / "config.json").read_text())
        fields.pop("layer_types")  # derived from num_hidden_layers
        Qwen2ForCausalLM(Qwen2Config(**{**fields, **changes})).save_pretrained(tmp_path / name)
        return str(tmp_path / name)

    deeper = lm("deeper", num_hidden_layers=3)
    with pytest.raises(MergeError, match=r"base and coder are not the same architecture: num_hidden_layers 2 .* vs 3"):
        plan_merge(recipe(models, tmp_path / "out", coder=deeper), str(tmp_path))
    wide_base, wide_coder = lm("wide-base", hidden_size=32), lm("wide-coder", hidden_size=32)
    with pytest.raises(MergeError, match=r"the VLM's language model is not the base's architecture: hidden_size 64"):
        plan_merge(recipe(models, tmp_path / "out", base=wide_base, coder=wide_coder), str(tmp_path))


def test_a_language_model_tensor_without_counterpart_is_refused(models, tmp_path):
    partial = tmp_path / "base-without-norm"
    shutil.copytree(models.base, partial)
    state = load_file(partial / "model.safetensors")
    del state["model.norm.weight"]
    save_file(state, partial / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(
        MergeError, match=r"VLM tensor model.norm.weight has no counterpart model.norm.weight in the base"
    ):
        plan_merge(recipe(models, tmp_path / "out", base=str(partial)), str(tmp_path))
    # left out, it is copied from the VLM
    assert plan_merge(recipe(models, tmp_path / "out", base=str(partial), exclude=["norm"]), str(tmp_path))


def test_other_checkpoint_problems_are_refused_clearly(models, tmp_path):
    with pytest.raises(MergeError, match="no such checkpoint folder"):
        plan_merge(recipe(models, tmp_path / "out", base=str(tmp_path / "missing")), str(tmp_path))
    binary = tmp_path / "bin-only"
    binary.mkdir()
    shutil.copy(models.base / "config.json", binary)
    with pytest.raises(MergeError, match="only safetensors checkpoints can be merged"):
        plan_merge(recipe(models, tmp_path / "out", base=str(binary)), str(tmp_path))
    with pytest.raises(MergeError, match="no language-model tensor to merge"):
        plan_merge(recipe(models, tmp_path / "out", include=["visual"]), str(tmp_path))


def test_finished_merge_is_found_again_and_occupied_folders_are_refused(models, merged, tmp_path):
    out, summary = merged
    again = run_merge(recipe(models, out), str(tmp_path))
    assert again["cached"] and again["key"] == summary["key"]
    with pytest.raises(MergeError, match="holds another merge"):
        run_merge(recipe(models, out, scale=0.25), str(tmp_path))
    (tmp_path / "taken").mkdir()
    with pytest.raises(MergeError, match="exists and is not a finished merge"):
        run_merge(recipe(models, tmp_path / "taken"), str(tmp_path))


def test_an_interrupted_merge_leaves_no_checkpoint(models, tmp_path, monkeypatch):
    from training.merge import task_vector

    calls = {"n": 0}
    real = task_vector._block

    def dies_halfway(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 20:
            raise KeyboardInterrupt  # as a kill would, mid-shard
        return real(*args, **kwargs)

    monkeypatch.setattr(task_vector, "_block", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        run_merge(recipe(models, tmp_path / "out"), str(tmp_path))
    assert not (tmp_path / "out").exists() and list(tmp_path.iterdir()) == []
    monkeypatch.setattr(task_vector, "_block", real)
    # what a SIGKILLed merge leaves (its process gone) is swept by the next merge into the same folder
    stale = tmp_path / ".out.partial-999999999"
    (stale / "junk").mkdir(parents=True)
    run_merge(recipe(models, tmp_path / "out"), str(tmp_path))
    assert not stale.exists() and (tmp_path / "out" / "_done.json").is_file()


def test_the_tiny_recipe_and_latest_reference(tmp_path):
    from training.runs import reference_model

    root = str(tmp_path / "data")
    summary = run_merge("tiny-cpu", root)
    out = Path(summary["checkpoint"])
    assert out.parent == tmp_path / "data" / "merge" and out.name.startswith("tiny-cpu-")
    assert reference_model("merge:latest", root) == str(out)
    assert summary["vlm"].endswith("models/tiny-vlm") and summary["base"].endswith("models/tiny-lm")
    assert summary["tensors_merged"] == 26 and summary["copied_by_reason"] == {"vision": 31}
    assert run_merge("tiny-cpu", root)["cached"]


def test_layouts_map_each_family_and_never_touch_vision():
    qwen2 = LAYOUTS["qwen2-vl"]
    assert qwen2.llm_key("model.layers.0.mlp.up_proj.weight") == "model.layers.0.mlp.up_proj.weight"
    assert qwen2.llm_key("visual.blocks.0.attn.qkv.weight") is None and qwen2.is_vision("visual.merger.mlp.0.bias")
    nested = LAYOUTS["nested"]
    assert (
        nested.llm_key("model.language_model.layers.3.self_attn.q_norm.weight")
        == "model.layers.3.self_attn.q_norm.weight"
    )
    assert (
        nested.llm_key("lm_head.weight") == "lm_head.weight" and nested.llm_key("model.visual.pos_embed.weight") is None
    )
    llava = LAYOUTS["llava"]
    assert llava.llm_key("language_model.lm_head.weight") == "lm_head.weight"
    assert llava.llm_key("vision_tower.encoder.layers.0.self_attn.q_proj.weight") is None  # q_proj, but vision
    base = ["model.embed_tokens.weight", "model.layers.0.mlp.up_proj.weight", "lm_head.weight"]
    qwen3_keys = ["model.language_model.embed_tokens.weight", "model.language_model.layers.0.mlp.up_proj.weight",
                  "lm_head.weight", "model.visual.blocks.0.mlp.weight"]  # fmt: skip
    assert detect_layout("qwen3_vl", qwen3_keys, base).name == "nested"
    assert detect_layout(None, qwen3_keys, base).name == "nested"  # the keys decide
    assert detect_layout("qwen2_5_vl", ["model.layers.0.mlp.up_proj.weight", "visual.x"], base).name == "qwen2-vl"
    assert detect_layout("qwen2_vl", ["decoder.blocks.0.w"], base) is None
    custom = Layout(language_model={"decoder.": "model."})
    assert custom.llm_key("decoder.layers.0.w") == "model.layers.0.w" and custom.llm_key("visual.decoder.x") is None


def test_a_recipe_layout_overrides_detection(models, tmp_path):
    nested = tmp_path / "vlm-nested"  # the same VLM saved under transformers 5's module names
    shutil.copytree(models.vlm, nested)
    renamed = {}
    for file in nested.glob("*.safetensors"):
        state = load_file(file)
        state = {
            ("model.language_model." + k[6:] if k.startswith("model.") else "model." + k): v for k, v in state.items()
        }
        renamed.update(dict.fromkeys(state, file.name))
        save_file(state, file, metadata={"format": "pt"})
    index = json.loads((nested / "model.safetensors.index.json").read_text())
    (nested / "model.safetensors.index.json").write_text(json.dumps({**index, "weight_map": renamed}))
    detected = plan_merge(recipe(models, tmp_path / "a", vlm=str(nested)), str(tmp_path))
    assert detected.layout.name == "nested"
    layout = {"language_model": {"model.language_model.layers.0.": "model.layers.0."}}
    only_first = plan_merge(recipe(models, tmp_path / "b", vlm=str(nested), layout=layout), str(tmp_path))
    merged = [t.key for t in only_first.tensors if t.role == "merge"]
    assert merged and all(k.startswith("model.language_model.layers.0.") for k in merged)
    assert {t.role for t in only_first.tensors if t.key.startswith("model.visual.")} == {"vision"}


def test_patterns():
    assert pattern_matches("embed_tokens", "model.embed_tokens.weight")
    assert not pattern_matches("embed_token", "model.embed_tokens.weight")
    assert pattern_matches("layers.1", "model.layers.1.mlp.up_proj.weight")
    assert not pattern_matches("layers.1", "model.layers.11.mlp.up_proj.weight")
    assert pattern_matches("*.mlp.*", "model.layers.1.mlp.up_proj.weight")
    assert MergeRecipe(vlm="a", base="b", coder="c", scale=1, exclude="embed_tokens, lm_head").exclude == [
        "embed_tokens",
        "lm_head",
    ]
    assert MergeRecipe(vlm="a", base="b", coder="c", scale=1, include=["a,b", "c"]).include == ["a", "b", "c"]
    with pytest.raises(ValueError):
        MergeRecipe(vlm="a", base="b", coder="c", scale=float("nan"))


def test_vinci_merge_command(models, tmp_path):
    from vinci.cli import app

    runner = CliRunner()
    args = ["merge", "--vlm", str(models.vlm), "--base", str(models.base), "--coder", str(models.coder)]
    args += ["--scale", "0.5", "--data-root", str(tmp_path)]
    dry = runner.invoke(app, [*args, "--out", str(tmp_path / "D"), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "dry run: nothing written" in dry.output and not (tmp_path / "D").exists()
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "D"), "--local", "--exclude", "layers.0"])
    assert result.exit_code == 0, result.output
    assert "tensors merged" in result.output and "peak_rss_gb" in result.output and "excluded 12" in result.output
    assert (tmp_path / "D" / "merge.yaml").is_file()
    as_json = runner.invoke(app, [*args, "--out", str(tmp_path / "D"), "--local", "--exclude", "layers.0", "--json"])
    assert json.loads(as_json.output)["cached"] is True
    refused = runner.invoke(app, [*args, "--out", str(tmp_path / "E"), "--local", "--include", "visual"])
    assert refused.exit_code == 2 and "error: no language-model tensor to merge" in refused.output
    missing = runner.invoke(app, ["merge", "--vlm", str(models.vlm), "--local", "--data-root", str(tmp_path)])
    assert missing.exit_code == 2 and "base" in missing.output and "coder" in missing.output
