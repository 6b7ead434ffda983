"""The ViRL reward end to end: real renders in the sandbox pools, the 0.9 / 0.1 combination, zero visual on every
failure kind, a stuck render bounded by its timeout, TRL's reward-function shape, and the reward worker process."""

from __future__ import annotations

import io
import json
import time

import pytest
from PIL import Image

from renderers.engine import default_engine
from training.prompts import direct_instruction, format_answer
from training.rewards.encoders import SSIMEncoder, ViTEncoder, build_tiny_dinov2
from training.rewards.functions import AlignmentReward, RolloutLog, ViRLReward, VisualReward, grpo_reward_functions
from training.rewards.scorer import RewardConfig, RewardScorer, Rollout
from training.rewards.worker import RemoteScorer, RewardWorkerError, spawn_worker

HEAD = '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="80">'
SVG = HEAD + '<rect width="120" height="80" fill="#c33"/></svg>'
OTHER_SVG = HEAD + '<circle cx="60" cy="40" r="30"/></svg>'


@pytest.fixture(scope="module")
def engine():
    return default_engine()


@pytest.fixture(scope="module")
def scorer(engine):
    with RewardScorer(RewardConfig(encoder="ssim", render_timeout_s=20), engine=engine) as s:
        yield s


@pytest.fixture(scope="module")
def svg_target(engine) -> bytes:
    result = engine.render(SVG, "svg")
    assert result.ok
    return result.image


def rollout(target, code: str | None, language: str = "svg", text: str | None = None) -> Rollout:
    completion = text if text is not None else format_answer(code, language)
    return Rollout(target, completion, direct_instruction(language, key="x"))


def test_ground_truth_scores_one_for_charts_and_svg(scorer, curated_rows):
    rows = curated_rows[:3] + curated_rows[-3:]  # three ChartMimic charts, three SVG icons
    results = scorer.score([rollout(r["image"]["bytes"], r["code"], r["language"]) for r in rows])
    for row, result in zip(rows, results, strict=True):
        assert result.render_ok and result.error_kind is None, (row["source_id"], result)
        assert result.visual == pytest.approx(1.0, abs=1e-6)
        assert result.alignment == 1.0 and result.reward == pytest.approx(1.0, abs=1e-6)
        assert result.language == row["language"] and result.language_rule == "fence_request"
        assert result.encoder == "ssim" and result.tiles >= 1


def test_a_different_picture_scores_between_alignment_and_one(scorer, svg_target):
    result = scorer.score([rollout(svg_target, OTHER_SVG)])[0]
    assert result.render_ok and 0.0 < result.visual < 1.0
    assert result.reward == pytest.approx(0.9 * result.visual + 0.1)


@pytest.mark.parametrize(
    "text,kind,alignment",
    [
        (f"```\n{SVG}\n```", "no_code", 0.0),  # untagged block
        ("```python\nprint(1)\n```", "no_code", 0.0),  # another language than the instruction's
        ("just words, no code", "no_code", 0.0),
        ("```svg\n```", "empty_code", 1.0),
        ("```svg\n<svg xmlns='http://www.w3.org/2000/svg'><rect\n```", "syntax", 1.0),  # does not parse
    ],
)
def test_every_failure_gives_zero_visual(scorer, svg_target, text, kind, alignment):
    result = scorer.score([rollout(svg_target, None, text=text)])[0]
    assert result.visual == 0.0 and result.error_kind == kind and result.alignment == alignment
    assert result.reward == pytest.approx(0.1 * alignment)


def test_a_python_error_and_an_absurd_image_give_zero_visual(engine, svg_target):
    config = RewardConfig(encoder="ssim", max_pixels=5_000, render_timeout_s=20)
    with RewardScorer(config, engine=engine) as small:
        big = small.score([rollout(svg_target, SVG)])[0]  # 120x80 = 9600 pixels > 5000
    assert big.visual == 0.0 and big.error_kind in ("bad_image", "too_large") and big.reward == pytest.approx(0.1)
    with RewardScorer(RewardConfig(encoder="ssim"), engine=engine) as scorer:
        crash = scorer.score([rollout(svg_target, "raise SystemExit(3)\n", "python")])[0]
    assert crash.visual == 0.0 and crash.rendered and not crash.render_ok and crash.error_kind


def test_a_target_that_is_not_an_image_gives_zero_visual(scorer):
    result = scorer.score([rollout(b"not an image", SVG)])[0]
    assert result.visual == 0.0 and result.error_kind == "target_bad_image"


def test_a_stuck_render_costs_at_most_its_timeout(engine, svg_target):
    config = RewardConfig(encoder="ssim", render_timeout_s=2, grace_s=5)
    with RewardScorer(config, engine=engine) as scorer:
        started = time.monotonic()
        stuck, fine = scorer.score([rollout(svg_target, "while True:\n    pass\n", "python"), rollout(svg_target, SVG)])
        elapsed = time.monotonic() - started
    assert stuck.error_kind == "timeout" and stuck.visual == 0.0 and stuck.reward == pytest.approx(0.1)
    assert fine.visual == pytest.approx(1.0, abs=1e-6)
    assert elapsed < 60  # liveness, not speed: the loop would never end on its own


def test_many_rollouts_keep_their_order_and_match_one_by_one(scorer, curated_rows, svg_target):
    rows = curated_rows[::2]
    batch = [rollout(r["image"]["bytes"], r["code"], r["language"]) for r in rows]
    batch += [rollout(svg_target, OTHER_SVG), rollout(svg_target, None, text="no code")]
    together = scorer.score(batch)
    alone = [scorer.score([item])[0] for item in batch]
    assert [r.reward for r in together] == pytest.approx([r.reward for r in alone], abs=1e-9)
    assert [r.error_kind for r in together] == [r.error_kind for r in alone]


def test_dinov2_encoder_in_the_scorer(engine, svg_target):
    encoder = ViTEncoder(build_tiny_dinov2(), name="dinov2:tiny-random", batch_size=4)
    with RewardScorer(RewardConfig(encoder="ssim"), engine=engine, encoder=encoder) as scorer:
        same, other = scorer.score([rollout(svg_target, SVG), rollout(svg_target, OTHER_SVG)])
    assert same.visual == pytest.approx(1.0, abs=1e-5) and same.encoder == "dinov2:tiny-random"
    assert other.visual < 1.0


def _png(color: str) -> Image.Image:
    return Image.new("RGB", (120, 80), color)


def test_trl_shaped_functions_combine_to_the_reward(scorer, svg_target, tmp_path):
    target = Image.open(io.BytesIO(svg_target))
    prompts = [[{"role": "user", "content": direct_instruction("svg", key="a")}]] * 3
    completions = [
        [{"role": "assistant", "content": format_answer(SVG, "svg")}],
        [{"role": "assistant", "content": format_answer(OTHER_SVG, "svg")}],
        [{"role": "assistant", "content": "nothing"}],
    ]
    metrics, extra = {}, {}
    log = RolloutLog(tmp_path / "rollouts.jsonl")
    columns = {"image": [target] * 3, "id": ["a", "b", "c"], "language": ["svg"] * 3}

    def log_metric(name, value):
        metrics[name] = value

    def log_extra(name, values):
        extra[name] = values

    funcs, weights = grpo_reward_functions(scorer, log)
    assert weights == [0.9, 0.1] and [f.__name__ for f in funcs] == ["visual", "alignment"]
    visual = funcs[0](prompts=prompts, completions=completions, log_metric=log_metric, log_extra=log_extra, **columns)
    alignment = funcs[1](prompts=prompts, completions=completions, **columns)
    combined = ViRLReward(scorer)(prompts=prompts, completions=completions, **columns)
    assert combined == pytest.approx([0.9 * v + 0.1 * a for v, a in zip(visual, alignment, strict=True)])
    assert visual[0] == pytest.approx(1.0, abs=1e-6) and alignment == [1.0, 1.0, 0.0]
    assert metrics["virl/exec_rate"] == pytest.approx(2 / 3) and extra["error_kind"] == ["", "", "no_code"]
    lines = [json.loads(line) for line in (tmp_path / "rollouts.jsonl").read_text().splitlines()]
    assert [line["id"] for line in lines] == ["a", "b", "c"] and lines[2]["error_kind"] == "no_code"
    assert AlignmentReward()(completions=["```svg\n<svg/>\n```"], instruction=["Write SVG."]) == [1.0]
    assert VisualReward(scorer)(prompts=prompts[:1], completions=completions[2:], image=[target]) == [0.0]


def test_the_image_column_is_required(scorer):
    with pytest.raises(ValueError, match="image"):
        ViRLReward(scorer)(prompts=["p"], completions=["c"])


def test_reward_worker_process_gives_the_same_rewards(curated_rows, svg_target, scorer):
    rows = curated_rows[-2:]
    batch = [rollout(r["image"]["bytes"], r["code"], r["language"]) for r in rows]
    batch.append(rollout(_png("white"), OTHER_SVG))
    batch.append(rollout(svg_target, None, text="no code"))
    local = scorer.score(batch)
    with spawn_worker(RewardConfig(encoder="ssim", worker="spawn", engine={"browser_workers": 1})) as remote:
        assert remote.encoder_name == "ssim"
        results = remote.score(batch)
        with pytest.raises(RewardWorkerError, match="cannot reach|authentication|digest"):
            RemoteScorer(remote.address, b"wrong key", remote.config)
    assert [r.reward for r in results] == pytest.approx([r.reward for r in local], abs=1e-9)
    assert [r.error_kind for r in results] == [r.error_kind for r in local]
    assert remote.process.poll() is not None  # closing stopped the worker


def test_encoder_instances_have_names():
    assert SSIMEncoder().name == "ssim"


def test_render_options_pass_through_and_are_checked(engine):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="dpii"):
        RewardConfig(render={"dpii": 80})
    with RewardScorer(RewardConfig(encoder="ssim", render={"width": 240}, render_timeout_s=7), engine=engine) as s:
        assert (s._options.width, s._options.timeout_s, s._options.max_pixels) == (240, 7, 83_000_000)
