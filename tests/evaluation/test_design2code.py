"""Design2Code through the browser pool: a real Design2Code page against itself, a changed text and a changed colour,
missing answers, a broken reference, CLIP on in-painted screenshots with a tiny random CLIP, and `vinci eval
design2code` on a folder."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from evaluation.metrics.design2code import CLIP_NOT_RUN, aggregate, answer_html, inpaint_text, score_many
from evaluation.metrics.design2code_scores import BLOCK_SCORE_KEYS, Block
from renderers import EngineConfig, RenderEngine
from renderers.chromium import SYSTEM_CHROMIUM
from vinci.cli import app

PAGE = "1002"  # a small real page: an image (rick.jpg), a heading, paragraphs, buttons and a display: none part
TEXT = "has joined the Displays2go family!"


@pytest.fixture(scope="module")
def engine():
    if not os.access(SYSTEM_CHROMIUM, os.X_OK):
        pytest.skip(f"{SYSTEM_CHROMIUM} is missing; run scripts/setup.sh")
    engine = RenderEngine(EngineConfig(browser_workers=1))
    try:
        yield engine
    finally:
        engine.close()


@pytest.fixture(scope="module")
def web(shared_data) -> Path:
    return shared_data / "web"


@pytest.fixture(scope="module")
def page(web) -> str:
    return (web / f"{PAGE}.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def assets(web) -> dict[str, Path]:
    return {"rick.jpg": web / "rick.jpg"}


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory) -> Path:
    """A random CLIP with ViT-B/32's input (224 px, 32 px patches), small enough for the CPU."""
    from transformers import CLIPConfig, CLIPModel

    config = CLIPConfig(
        text_config=dict(
            hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, vocab_size=64
        ),
        vision_config=dict(
            hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, image_size=224,
            patch_size=32,
        ),
        projection_dim=16,
    )  # fmt: skip
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = CLIPModel(config)
    folder = tmp_path_factory.mktemp("clip") / "tiny-clip-b32"
    model.save_pretrained(folder)
    return folder


def test_answer_html():
    assert answer_html("Here it is:\n```html\n<p>hi</p>\n```\nDone.") == "<p>hi</p>"
    assert answer_html("<html><body><p>plain</p></body></html>") == "<html><body><p>plain</p></body></html>"
    assert answer_html(None) is None and answer_html("  \n") is None and answer_html("```html\n\n```") is None


def test_a_real_page_against_itself(engine, page, assets):
    [row] = score_many([f"```html\n{page}\n```"], [page], engine=engine, assets=assets)
    assert row["rendered"] and row["reference_ok"] and row["error"] is None
    assert row["gen_blocks"] == row["ref_blocks"] == row["matched"] == 8
    # the same page renders to the same pixels: the same blocks, so every block score is exactly 1
    assert {key: row[key] for key in BLOCK_SCORE_KEYS} == dict.fromkeys(BLOCK_SCORE_KEYS, 1.0)
    assert row["clip"] is None and row["score"] is None  # CLIP not run
    summary = aggregate([row])
    assert summary["n"] == 1 and summary["text"] == 1.0 and summary["clip"] is None
    assert summary["clip_note"] == CLIP_NOT_RUN and summary["broken_references"] == 0 and summary["render_rate"] == 1


def test_changed_text_and_changed_colour(engine, page, assets):
    assert TEXT in page
    retexted = page.replace(TEXT, "has now joined the Displays2go group!")  # still that block's best match
    recoloured = page.replace("<h1>", '<h1 style="color: rgb(200, 20, 20)">')
    text_row, colour_row = score_many([retexted, recoloured], [page, page], engine=engine, assets=assets)
    assert text_row["matched"] == 8 and 0.9 < text_row["text"] < 1 and text_row["color"] == 1.0
    assert colour_row["text"] == 1.0 and colour_row["block_match"] == 1.0 and colour_row["position"] == 1.0
    # one block of eight turns from black to red: its colour similarity falls, the others stay 1
    assert 0.85 < colour_row["color"] < 1


def test_missing_answers_and_broken_references(engine, page, assets):
    answers = [None, "", "```html\n\n```", page]
    references = [page, page, page, "   "]  # the last reference is empty: it cannot render
    rows = score_many(answers, references, engine=engine, assets=assets)
    for row in rows[:3]:
        assert not row["rendered"] and row["reference_ok"] and row["error"] == "no HTML in the answer"
        assert all(row[key] == 0.0 for key in BLOCK_SCORE_KEYS) and row["clip"] is None and row["score"] is None
    assert not rows[3]["reference_ok"] and rows[3]["error"].startswith("reference failed: syntax")
    [perfect] = score_many([page], [page], engine=engine, assets=assets)
    summary = aggregate([*rows, perfect])
    assert summary["n"] == 4 and summary["broken_references"] == 1 and summary["render_rate"] == 0.25
    assert summary["text"] == pytest.approx(0.25) and summary["block_match"] == pytest.approx(0.25)


def test_clip_on_inpainted_screenshots(engine, page, assets, clip_dir):
    recoloured = page.replace("<h1>", '<h1 style="color: rgb(200, 20, 20)">')
    rows = score_many([page, recoloured, None], [page, page, page], engine=engine, assets=assets, clip_path=clip_dir)
    same, changed, missing = rows
    assert same["clip"] == pytest.approx(1.0, abs=1e-5)
    assert same["score"] == pytest.approx(1.0, abs=1e-5)
    for row in (same, changed):
        five = sum(row[key] for key in BLOCK_SCORE_KEYS) + row["clip"]
        assert row["score"] == pytest.approx(0.2 * five)
    assert missing["clip"] == 0.0 and missing["score"] == 0.0  # a failed page scores 0 on everything
    summary = aggregate(rows)
    assert summary["n_clip"] == 3 and "clip_note" not in summary
    assert summary["score"] == pytest.approx((same["score"] + changed["score"]) / 3)


def test_inpainting_removes_text_boxes():
    image = np.full((60, 120, 3), 240, dtype=np.uint8)
    image[:, 60:] = (20, 60, 200)  # two flat halves
    image[20:30, 10:50] = 0  # "text" on the left half
    image[25:35, 70:110] = 255  # "text" on the right half
    blocks = [Block("a", (10, 20, 50, 30), (0, 0, 0)), Block("b", (70, 25, 110, 35), (255, 255, 255))]
    filled = inpaint_text(image, blocks)
    assert np.abs(filled[18:32, 8:52].astype(int) - 240).max() <= 4  # Telea blends a little
    assert np.abs(filled[23:37, 68:112].astype(int) - (20, 60, 200)).max() <= 4
    assert filled.shape == image.shape and np.array_equal(inpaint_text(image, []), image)


def test_vinci_eval_design2code(web, tmp_path):
    ref, pred = tmp_path / "ref", tmp_path / "pred"
    ref.mkdir(), pred.mkdir()
    for name in (PAGE, "11707"):
        shutil.copy(web / f"{name}.html", ref / f"{name}.html")
    page = (web / f"{PAGE}.html").read_text(encoding="utf-8")
    (pred / f"{PAGE}.md").write_text(f"The page:\n\n```html\n{page}\n```\n", encoding="utf-8")  # 11707: none
    out = tmp_path / "scores.parquet"
    result = CliRunner().invoke(app, ["eval", "design2code", "--pred", str(pred), "--ref", str(ref), "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["benchmark"] == "design2code" and summary["n"] == 2 and summary["missing_predictions"] == 1
    assert summary["text"] == pytest.approx(0.5) and summary["color"] == pytest.approx(0.5)
    assert summary["clip"] is None and summary["clip_note"] == CLIP_NOT_RUN

    import pyarrow.parquet as pq

    rows = pq.read_table(out).to_pylist()
    assert [r["id"] for r in rows] == sorted([PAGE, "11707"]) and rows[1]["missing_prediction"]
