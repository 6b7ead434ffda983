"""ChartMimic through the sandbox: real charts scored against themselves, a recoloured chart, failed and missing
answers counting zero, a broken reference left out, and `vinci eval chartmimic` on a folder."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from evaluation.metrics.chartmimic import aggregate, answer_code, score_many
from vinci.cli import app

CHARTS = ("bar_3", "pie_13")


@pytest.fixture(scope="module")
def charts(shared_data) -> dict[str, str]:
    return {name: (shared_data / "charts" / f"{name}.py").read_text() for name in CHARTS}


def test_real_charts_against_themselves_score_full_marks(charts):
    refs = list(charts.values())
    scores = score_many([f"```python\n{code}\n```" for code in refs], refs)
    for score in scores:
        assert score.executed and score.error is None
        assert (score.text, score.layout, score.type, score.color, score.low_level) == (100, 100, 100, 100, 100)


def test_a_recoloured_chart_loses_only_colour(charts):
    ref = charts["bar_3"]
    recoloured = ref.replace('"#5377ca", "#e08a57"', '"#00aa00", "#aa00aa"')
    assert recoloured != ref
    [score] = score_many([recoloured], [ref])
    assert score.executed and score.text == 100 and score.layout == 100 and score.type == 100
    assert 0 < score.color < 100 and score.low_level == pytest.approx((300 + score.color) / 4)


def test_failures_count_zero_and_broken_references_are_left_out(charts):
    ref = charts["pie_13"]
    answers = ["```python\nraise ValueError('no chart')\n```", "```html\n<p>\n```", None, ref]
    references = [ref, ref, ref, "import matplotlib.pyplot as plt\nplt.plot([1], wrong=1)\n"]
    scores = score_many(answers, references)
    assert [s.executed for s in scores[:3]] == [False, False, False]
    assert all(s.low_level == 0 for s in scores[:3]) and "runtime" in scores[0].error
    assert scores[1].error == "no python code in the answer" and not scores[3].reference_ok
    perfect = score_many([ref], [ref])
    summary = aggregate(scores[:3] + perfect + scores[3:])
    assert summary["n"] == 4 and summary["broken_references"] == 1
    assert summary["exec_rate"] == 25.0 and summary["low_level"] == pytest.approx(25.0)
    assert summary["high_level"] is None and "endpoint" in summary["high_level_note"]


def test_answer_code_rules():
    assert answer_code("```python\na = 1\n```\n```python\nb = 2\n```") == "a = 1"  # the first python block
    assert answer_code("plain = 1") == "plain = 1"
    assert answer_code("```js\nx\n```") is None and answer_code("  ") is None


def test_vinci_eval_chartmimic_on_a_folder(shared_data, tmp_path):
    ref = tmp_path / "ref"
    ref.mkdir()
    for name in CHARTS:
        shutil.copy(shared_data / "charts" / f"{name}.py", ref / f"{name}.py")
    out = tmp_path / "scores.parquet"
    result = CliRunner().invoke(app, ["eval", "chartmimic", "--pred", str(ref), "--ref", str(ref), "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["n"] == 2 and summary["exec_rate"] == 100.0 and summary["low_level"] == 100.0
    assert {"text", "layout", "type", "color"} <= set(summary) and out.is_file()
