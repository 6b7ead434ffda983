"""UniSVG ISVGEN metric: closing cut-off SVGs, the plain-torch LPIPS (random weights in the real key layouts), CLIP
similarity with a tiny random CLIP, and the 0.2/0.2/0.6 score on renders of real simple-icons."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import torch

from evaluation.metrics.lpips_alex import (
    CHANNELS,
    CONVS,
    AlexLPIPS,
    LPIPSWeightsUnavailable,
    resolve_weight_files,
)
from evaluation.metrics.unisvg import (
    RENDER_OPTIONS,
    SIZE,
    ReferenceRenderError,
    SVGScore,
    UniSVGScorer,
    aggregate,
    answer_svg,
    clip_preprocess,
    close_svg,
    combine,
    render_array,
)
from training.rewards.encoders import EncoderUnavailable

SVG_NS = 'xmlns="http://www.w3.org/2000/svg"'


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def icons(shared_data) -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in sorted((shared_data / "svg").glob("*.svg"))}


def path_data(svg: str) -> str:
    return re.search(r'<path d="([^"]+)"', svg).group(1)


def two_paths(icon_a: str, icon_b: str, fill: str = "#1a7f37") -> str:
    """A multi-element SVG from two real icons (the second one shifted and nested in a group)."""
    return (
        f'<svg {SVG_NS} viewBox="0 0 48 24"><title>two</title><path d="{path_data(icon_a)}" fill="{fill}"/>'
        f'<g transform="translate(24 0)"><path d="{path_data(icon_b)}"/></g></svg>'
    )


def random_alexnet_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict in torchvision's AlexNet key layout (features + classifier), random values."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for index, c_in, c_out, kernel, _, _ in CONVS:
        state[f"features.{index}.weight"] = torch.randn(c_out, c_in, kernel, kernel, generator=generator) * 0.05
        state[f"features.{index}.bias"] = torch.randn(c_out, generator=generator) * 0.01
    state["classifier.1.weight"] = torch.randn(8, 4, generator=generator)
    state["classifier.1.bias"] = torch.zeros(8)
    return state


def random_linear_state(seed: int = 1) -> dict[str, torch.Tensor]:
    """A state dict in the LPIPS v0.1 key layout (lin{k}.model.1.weight), non-negative random values."""
    generator = torch.Generator().manual_seed(seed)
    return {f"lin{k}.model.1.weight": torch.rand(1, c, 1, 1, generator=generator) / c for k, c in enumerate(CHANNELS)}


@pytest.fixture(scope="module")
def lpips_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("lpips")
    torch.save(random_alexnet_state(), folder / "alexnet.pth")
    torch.save(random_linear_state(), folder / "alex.pth")
    return folder


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory) -> Path:
    from transformers import CLIPConfig, CLIPModel

    config = CLIPConfig(
        text_config=dict(
            hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, vocab_size=64
        ),
        vision_config=dict(
            hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, image_size=SIZE,
            patch_size=28,
        ),
        projection_dim=16,
    )  # fmt: skip
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = CLIPModel(config)
    folder = tmp_path_factory.mktemp("clip") / "tiny-clip"
    model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def scorer(lpips_dir, clip_dir) -> UniSVGScorer:
    return UniSVGScorer(lpips_weights=lpips_dir, clip_path=clip_dir, device="cpu")


# -- close_svg ---------------------------------------------------------------------------------------------------
def test_complete_icons_are_left_unchanged(icons):
    assert len(icons) == 200
    for name, svg in icons.items():
        assert close_svg(svg) == svg, name


def test_every_truncation_of_real_icons_closes_to_well_formed_xml(icons):
    names = sorted(icons)[::40]  # 5 icons spread over the list
    for name in names:
        for svg in (icons[name], two_paths(icons[name], icons[names[0]])):
            step = max(1, len(svg) // 300)
            for cut in range(0, len(svg), step):
                closed = close_svg(svg[:cut])
                if "<svg" not in svg[:cut]:  # no SVG element yet: returned as it is (answer_svg calls it missing)
                    assert closed == svg[:cut]
                    continue
                if closed == "":
                    assert len(svg[:cut]) < svg.index(">") + 1, (name, cut)  # only when the <svg ...> tag is cut
                    continue
                root = ET.fromstring(closed)  # our own test data: plain parsing is fine here
                assert root.tag.endswith("svg"), (name, cut)
                assert svg.startswith(re.sub(r"(</[\w:.-]+>)+$", "", closed)), (name, cut)  # a prefix + closers


@pytest.mark.parametrize(
    ("cut_off", "closed"),
    [
        ('<svg><g fill="red"><path d="M0 0h5"/><path d="M1 1', '<svg><g fill="red"><path d="M0 0h5"/></g></svg>'),
        ("<svg><g><text>AT&am", "<svg><g><text>AT</text></g></svg>"),
        ("<svg><g></g", "<svg><g></g></svg>"),
        ("<svg><g></svg", "<svg><g></g></svg>"),
        ("<svg><!-- a comment", "<svg></svg>"),
        ("<svg><style><![CDATA[ .a{fill:", "<svg><style></style></svg>"),
        ('<svg><rect title="a>b', "<svg></svg>"),
        ("Here it is:\n<svg><g><rect/>", "<svg><g><rect/></g></svg>"),
        ('<?xml version="1.0"?>\n<svg><g/></svg>\nDone.', '<?xml version="1.0"?>\n<svg><g/></svg>'),
        ("<svg/> and more", "<svg/>"),
        ('<svg viewBox="0 0', ""),
        ("no markup here", "no markup here"),
    ],
)
def test_close_svg_examples(cut_off, closed):
    assert close_svg(cut_off) == closed


def test_answer_svg_from_answers(icons):
    icon = next(iter(icons.values()))
    assert answer_svg(f"Sure:\n```svg\n{icon}\n```\n") == (icon, None)
    assert answer_svg(f"```svg\n{icon[:-20]}") == (close_svg(icon[:-20]), None)  # cut-off fence
    assert answer_svg(None)[0] is None
    assert answer_svg("I cannot draw this.") == (None, "no <svg> element in the answer")
    assert answer_svg("```svg\n<svg viewBox=")[0] is None


# -- LPIPS ---------------------------------------------------------------------------------------------------------
def random_images(n: int, seed: int = 0, size: int = 64) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(n)]


def test_lpips_architecture_taps_five_relus():
    torch.manual_seed(0)
    taps = AlexLPIPS().taps(torch.zeros(1, 3, SIZE, SIZE))
    assert [t.shape[1] for t in taps] == list(CHANNELS)
    assert [t.shape[-1] for t in taps] == [83, 41, 20, 20, 20]
    assert all(bool((t >= 0).all()) for t in taps)


def test_lpips_random_weights_zero_for_identical_and_non_negative():
    torch.manual_seed(0)
    model = AlexLPIPS()
    a, b, c = random_images(3)
    values = model.distances([(a, a), (a, b), (b, c), (c, c)])
    assert values[0] == 0.0 and values[3] == 0.0
    assert values[1] > 0 and values[2] > 0
    assert model.distances([(a, b)]) == pytest.approx([model.distances([(b, a)])[0]], rel=1e-5)  # symmetric


def test_lpips_matches_the_formula_by_hand():
    torch.manual_seed(0)
    model = AlexLPIPS()
    x0 = torch.rand(2, 3, 64, 64) * 2 - 1
    x1 = torch.rand(2, 3, 64, 64) * 2 - 1
    expected = torch.zeros(2)
    with torch.no_grad():
        for weight, f0, f1 in zip(model.linear, model.taps(x0), model.taps(x1), strict=True):
            n0 = f0 / (f0.norm(dim=1, keepdim=True) + 1e-10)
            n1 = f1 / (f1.norm(dim=1, keepdim=True) + 1e-10)
            per_pixel = torch.einsum("nchw,c->nhw", (n0 - n1) ** 2, weight.flatten())
            expected += per_pixel.mean(dim=(1, 2))
        assert torch.allclose(model(x0, x1), expected, rtol=1e-5)
    # the scaling layer: shift/scale applied to [-1, 1] inputs before the first convolution
    first = model.features[0]
    with torch.no_grad():
        manual = first(
            (x0 - torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1))
            / torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)
        )
        assert torch.allclose(model.taps(x0)[0], manual.clamp(min=0), atol=1e-6)


def test_lpips_state_dicts_load_from_files(tmp_path, lpips_dir):
    alexnet, linear = random_alexnet_state(), random_linear_state()
    model = AlexLPIPS.from_spec(lpips_dir)
    for index, *_ in CONVS:
        assert torch.equal(model.features[index].weight, alexnet[f"features.{index}.weight"])
        assert torch.equal(model.features[index].bias, alexnet[f"features.{index}.bias"])
    for k, parameter in enumerate(model.linear):
        assert torch.equal(parameter, linear[f"lin{k}.model.1.weight"])
    # two explicit paths, and torchvision's own file name inside a folder
    same = AlexLPIPS.from_spec((lpips_dir / "alexnet.pth", lpips_dir / "alex.pth"))
    assert torch.equal(same.features[10].weight, model.features[10].weight)
    other = tmp_path / "tv"
    other.mkdir()
    torch.save(alexnet, other / "alexnet-owt-7be5be79.pth")
    torch.save(linear, other / "alex.pth")
    assert resolve_weight_files(other) == (other / "alexnet-owt-7be5be79.pth", other / "alex.pth")


def test_lpips_refuses_missing_or_wrong_weights(tmp_path, lpips_dir):
    with pytest.raises(LPIPSWeightsUnavailable, match="does not exist"):
        AlexLPIPS.from_spec(tmp_path / "nowhere")
    with pytest.raises(LPIPSWeightsUnavailable, match="lacks alex.pth"):
        (tmp_path / "half").mkdir()
        torch.save(random_alexnet_state(), tmp_path / "half" / "alexnet.pth")
        AlexLPIPS.from_spec(tmp_path / "half")
    broken = random_linear_state()
    del broken["lin3.model.1.weight"]
    torch.save(broken, tmp_path / "broken.pth")
    with pytest.raises(LPIPSWeightsUnavailable, match="lin3.model.1.weight"):
        AlexLPIPS.from_files(lpips_dir / "alexnet.pth", tmp_path / "broken.pth")
    negative = {key: -value for key, value in random_linear_state().items()}
    torch.save(negative, tmp_path / "negative.pth")
    with pytest.raises(LPIPSWeightsUnavailable, match="negative"):
        AlexLPIPS.from_files(lpips_dir / "alexnet.pth", tmp_path / "negative.pth")
    with pytest.raises(LPIPSWeightsUnavailable, match="features.0.weight"):
        AlexLPIPS.from_files(lpips_dir / "alex.pth", lpips_dir / "alex.pth")
    with pytest.raises(EncoderUnavailable):  # the shared refusal type of the project's encoders
        UniSVGScorer(lpips_weights=tmp_path / "nowhere")


# -- CLIP ----------------------------------------------------------------------------------------------------------
def test_clip_preprocessing_matches_the_transformers_processor():
    transformers = pytest.importorskip("transformers")
    processor_class = getattr(transformers, "CLIPImageProcessorPil", None) or transformers.CLIPImageProcessor
    processor = processor_class(size={"shortest_edge": SIZE}, crop_size={"height": SIZE, "width": SIZE})
    from PIL import Image

    for shape in ((SIZE, SIZE, 3), (300, 451, 3), (500, 200, 3)):
        image = np.random.default_rng(len(shape) + shape[0]).integers(0, 256, shape, dtype=np.uint8)
        expected = processor(images=[Image.fromarray(image)], return_tensors="np")["pixel_values"][0]
        assert np.allclose(clip_preprocess(image), expected, atol=1e-5), shape


def test_clip_refuses_a_missing_folder(tmp_path):
    with pytest.raises(EncoderUnavailable, match="does not exist"):
        UniSVGScorer(clip_path=tmp_path / "no-clip")
    (tmp_path / "empty").mkdir()
    with pytest.raises(EncoderUnavailable, match="cannot load a CLIP model"):
        UniSVGScorer(clip_path=tmp_path / "empty")


# -- rendering and scoring -----------------------------------------------------------------------------------------
def test_renders_are_336_square_on_white(scorer, icons):
    wide = two_paths(*list(icons.values())[:2])  # 48x24 viewBox: kept aspect, centred between white bands
    result = scorer.engine.render(wide, "svg", RENDER_OPTIONS)
    assert result.ok and (result.width, result.height) == (SIZE, SIZE)
    array = render_array(result.image)
    assert array.shape == (SIZE, SIZE, 3) and array.dtype == np.uint8
    assert (array[:80] == 255).all() and (array[-80:] == 255).all() and (array[84:252] < 255).any()
    # a render of another size is fitted and centred on a white square
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (100, 50), (0, 0, 0)).save(buffer, format="PNG")
    fitted = render_array(buffer.getvalue())
    assert fitted.shape == (SIZE, SIZE, 3) and (fitted[SIZE // 2] == 0).all() and (fitted[0] == 255).all()


def test_reference_against_itself_scores_one(scorer, icons):
    names = sorted(icons)[:3]
    scores = scorer.score_many([(f"```svg\n{icons[n]}\n```", icons[n]) for n in names])
    for score in scores:
        assert score.rendered and score.error is None
        assert score.ssim == pytest.approx(1.0, abs=1e-9)
        assert score.lpips == 0.0
        assert score.clip == pytest.approx(1.0, abs=1e-5)
        assert score.score == pytest.approx(1.0, abs=1e-5)
        assert score.low_level == pytest.approx(1.0) and score.high_level == score.clip


def test_perturbed_svgs_score_lower(scorer, icons):
    reference = two_paths(*[icons[n] for n in sorted(icons)[10:12]])
    recoloured = reference.replace('fill="#1a7f37"', 'fill="#d1242f"')
    shifted = reference.replace("translate(24 0)", "translate(20 3)")
    same, *perturbed = scorer.score_many([(reference, reference), (recoloured, reference), (shifted, reference)])
    for score in perturbed:
        assert score.rendered
        assert score.ssim < same.ssim
        assert score.lpips > same.lpips
        assert score.clip < same.clip
        assert score.score < same.score - 1e-3


def test_missing_answers_score_exactly_zero(scorer, icons):
    reference = next(iter(icons.values()))
    answers = [None, "", "Sorry, I cannot help.", "```svg\n<svg viewBox=", '<svg><rect width="x" height="1"></svg>']
    scores = scorer.score_many([(answer, reference) for answer in answers])
    for answer, score in zip(answers, scores, strict=True):
        assert (score.rendered, score.ssim, score.lpips, score.clip, score.score) == (False, 0.0, 1.0, 0.0, 0.0), answer
        assert score.error
    assert scores[-1].error.startswith("render failed")


def test_truncated_answer_is_closed_and_rendered(scorer, icons):
    first, second = (icons[n] for n in sorted(icons)[20:22])
    full = two_paths(first, second)
    cut = full[: full.index("<g transform") + 40]  # cut inside the second <path d="..."
    reference = full.replace(f'<g transform="translate(24 0)"><path d="{path_data(second)}"/></g>', "")
    score = scorer.score(f"```svg\n{cut}", reference)
    assert score.rendered and score.error is None
    assert score.ssim == pytest.approx(1.0) and score.lpips == 0.0 and score.score == pytest.approx(1.0, abs=1e-5)
    # the complete answer differs from that reference
    assert scorer.score(full, reference).score < 0.999


def test_components_not_given_are_none_and_named(icons):
    bare = UniSVGScorer()
    assert bare.not_run == ["lpips", "clip"]
    reference = next(iter(icons.values()))
    scores = bare.score_many([(reference, reference), ("no svg", reference)])
    assert scores[0].ssim == pytest.approx(1.0) and scores[0].lpips is None and scores[0].clip is None
    assert scores[0].score is None and scores[0].low_level is None
    assert (scores[1].ssim, scores[1].lpips, scores[1].clip, scores[1].score) == (0.0, None, None, None)
    report = aggregate(scores)
    assert report["not_run"] == ["lpips", "clip"] and "lpips, clip not run" in report["note"]
    assert report["score"] is None and report["lpips"] is None and report["clip"] is None
    assert report["ssim"] == pytest.approx(0.5) and report["render_rate"] == 0.5


def test_reference_that_does_not_render_is_an_error(scorer):
    with pytest.raises(ReferenceRenderError):
        scorer.score("<svg/>", "<svg><g></svg>")


def test_combination_by_hand():
    assert combine(0.5, 0.25, 0.8) == pytest.approx(0.2 * 0.5 + 0.2 * 0.75 + 0.6 * 0.8)
    assert combine(0.5, 0.25, 0.8) == pytest.approx(0.73)
    assert combine(0.0, 1.0, 0.0) == 0.0
    assert combine(0.5, None, 0.8) is None and combine(0.5, 0.25, None) is None
    score = SVGScore(True, 0.5, 0.25, 0.8, combine(0.5, 0.25, 0.8), None)
    assert score.low_level == pytest.approx(0.625)  # mean(SSIM, 1 - LPIPS), weighing 0.4
    assert 0.4 * score.low_level + 0.6 * score.high_level == pytest.approx(score.score)
    missing = SVGScore(False, 0.0, 1.0, 0.0, 0.0, "empty answer")
    report = aggregate([score, missing])  # means over ALL samples, failed ones included, on the 0-1 scale
    assert report["n"] == 2 and report["not_run"] == [] and "note" not in report
    assert report["ssim"] == pytest.approx(0.25) and report["lpips"] == pytest.approx(0.625)
    assert report["clip"] == pytest.approx(0.4) and report["score"] == pytest.approx(0.365)
    assert report["low_level"] == pytest.approx(0.3125) and report["high_level"] == pytest.approx(0.4)
    assert aggregate([])["score"] is None
