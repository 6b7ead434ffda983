"""ChartMimic's instrumentation through the real engine: what a chart draws (texts without tick labels, subplot grid
positions, plotting calls and their colours per kind) comes back in diagnostics["chartmimic"], and a plain render
is exactly what it was (no log, same PNG, no patch left in the warm worker)."""

from __future__ import annotations

import json

import pytest

from renderers import EngineConfig, RenderEngine, RenderOptions, protocol
from renderers.instrument import MAX_COLORS, MAX_TEXT_CHARS, MAX_TEXTS, _fit

INSTRUMENTED = RenderOptions(python_instrument="chartmimic")


@pytest.fixture(scope="module")
def engine():
    eng = RenderEngine(EngineConfig(sandbox_workers=1))  # one warm worker: every job below runs in the same one
    eng.warm_up("sandbox")
    yield eng
    eng.close()


def logged(engine, code: str) -> dict:
    result = engine.render(code, "python", INSTRUMENTED)
    assert result.ok, result.error_message
    return result.diagnostics["chartmimic"]


GRID = """
import matplotlib.pyplot as plt

fig, axs = plt.subplots(2, 2, figsize=(6, 5))
fig.suptitle("Overview")
axs[0, 0].plot([1, 2, 3], [3, 1, 2], color="#d62728", label="trend")
axs[0, 0].set_title("Line")
axs[0, 0].set_xlabel("Year")
axs[0, 0].set_ylabel("Value")
axs[0, 0].legend()
axs[0, 1].bar(["alpha", "beta", "gamma"], [3, 5, 2], color="#2ca02c")
axs[0, 1].set_title("Bars")
axs[1, 0].scatter([1, 2, 3], [2, 3, 1], color="#1f77b4")
axs[1, 0].text(2, 2, "note")
axs[1, 1].hist([1, 2, 2, 3, 3, 3], bins=3, color="#9467bd", edgecolor="black")
axs[1, 1].set_ylabel("Count")
plt.tight_layout()
plt.savefig("grid.pdf")
"""


def test_a_grid_of_four_charts_is_logged_exactly(engine):
    log = logged(engine, GRID)
    assert sorted(log["texts"]) == ["Bars", "Count", "Line", "Overview", "Value", "Year", "note", "trend"]
    assert not {"alpha", "beta", "gamma", "1", "2", "3"} & set(log["texts"])  # tick labels are not logged
    assert sorted(log["layouts"]) == [[2, 2, 0, 1, 0, 1], [2, 2, 0, 1, 1, 2], [2, 2, 1, 2, 0, 1], [2, 2, 1, 2, 1, 2]]
    assert log["types"] == {"plot": 1, "bar": 1, "scatter": 1, "hist": 1}  # hist's own bar call is not counted
    assert log["colors"] == {"plot": ["#d62728"], "bar": ["#2ca02c"], "scatter": ["#1f77b4"], "hist": ["#9467bd"]}
    assert "truncated" not in log
    assert len(json.dumps(log)) < protocol.MAX_HEADER


def test_calls_inside_calls_count_once_and_colours_are_read_as_drawn(engine):
    code = """
import matplotlib.pyplot as plt
fig, ax = plt.subplots()
ax.errorbar([1, 2, 3], [1, 2, 3], yerr=[0.1, 0.2, 0.1], color="#ff7f0e")
ax.boxplot([[1, 2, 3, 4], [2, 3, 4, 5]])
image = ax.imshow([[0, 1], [1, 0]], cmap="gray", extent=(0, 1, 0, 1))
fig.colorbar(image)
bars = ax.bar([1, 2], [1, 1], color="#000000")
bars[0].set_color("#abcdef")
gone = ax.plot([1, 2], [2, 1], color="#123456")[0]
gone.remove()
ax.add_patch(plt.Circle((1, 1), 0.2, color="#00ff00"))
contours = ax.contour([[0, 1], [1, 2]], colors="#0000ff")
contours.clabel()
"""
    log = logged(engine, code)
    # errorbar's plot/vlines, boxplot's plot lines, the colorbar's pcolormesh and the contour labels' add_artist
    # are not the user's calls
    assert log["types"] == {"errorbar": 1, "boxplot": 1, "imshow": 1, "bar": 1, "plot": 1, "add_patch": 1, "contour": 1}
    assert log["colors"]["add_patch"] == ["#00ff00"] and log["colors"]["contour"] == ["#0000ff"]
    assert log["colors"]["bar"] == ["#abcdef", "#000000"]  # restyled after the call: the drawn colour counts
    assert "plot" not in log["colors"]  # the line was removed before saving
    assert log["colors"]["errorbar"] == ["#ff7f0e"]
    assert log["colors"]["imshow"] == ["#000000", "#ffffff"]


@pytest.mark.parametrize(
    ("code", "layouts"),
    [
        (
            "import matplotlib.pyplot as plt\nplt.figure()\n"
            "plt.subplot2grid((3, 3), (0, 0), colspan=2)\n"
            "plt.subplot2grid((3, 3), (1, 0), rowspan=2)\n"
            "plt.subplot2grid((3, 3), (1, 1), rowspan=2, colspan=2)\n",
            [[3, 3, 0, 1, 0, 2], [3, 3, 1, 3, 0, 1], [3, 3, 1, 3, 1, 3]],
        ),
        (
            "import matplotlib.pyplot as plt\nfrom matplotlib.gridspec import GridSpec\n"
            "fig = plt.figure()\ngs = GridSpec(2, 4, figure=fig)\n"
            "fig.add_subplot(gs[0, :])\nfig.add_subplot(gs[1, 1:3])\n"
            "fig.add_subplot(gs[1, 3]).set_visible(False)\n"  # not drawn: no layout
            "fig.add_axes([0.8, 0.8, 0.1, 0.1])\n",  # no subplot spec: no layout
            [[2, 4, 0, 1, 0, 4], [2, 4, 1, 2, 1, 3]],
        ),
    ],
    ids=["subplot2grid", "gridspec"],
)
def test_layouts_are_grid_positions_with_their_spans(engine, code, layouts):
    assert sorted(logged(engine, code)["layouts"]) == layouts


@pytest.mark.parametrize(
    ("code", "types"),
    [
        (
            "import numpy as np\nimport matplotlib.pyplot as plt\n"
            "ax = plt.figure().add_subplot(projection='3d')\n"
            "x, y = np.meshgrid(np.arange(4), np.arange(4))\nax.plot_surface(x, y, x * y)\n"
            "ax.bar3d([0], [0], [0], 1, 1, 1, color='#ff0000')\nax.plot([0, 1], [0, 1], [0, 1])\n",
            {"3d_plot_surface": 1, "3d_bar3d": 1, "3d_plot": 1},
        ),
        (
            "import networkx as nx\nimport matplotlib.pyplot as plt\n"
            "nx.draw(nx.path_graph(4), node_color='#ff8800', with_labels=True)\n",
            {"networkx": 1},
        ),
        ("import squarify\nsquarify.plot(sizes=[3, 2, 1], label=['a', 'b', 'c'])\n", {"squarify": 1}),
        ("from matplotlib_venn import venn2\nvenn2(subsets=(3, 2, 1), set_labels=('A', 'B'))\n", {"venn": 1}),
    ],
    ids=["3d", "networkx", "squarify", "venn"],
)
def test_library_and_3d_calls_have_their_own_kinds(engine, code, types):
    log = logged(engine, code)
    assert log["types"] == types
    assert set(log["colors"]) == set(types)


def test_subfigures_twins_insets_polar_and_axisartist(engine):
    code = """
import matplotlib.pyplot as plt
from mpl_toolkits.axisartist.axislines import Axes as ArtistAxes
fig = plt.figure(figsize=(8, 4))
left, right = fig.subfigures(1, 2)
ax = left.subplots()
ax.plot([1, 2], [1e6, 2e6])
ax.twinx().set_ylabel("right axis")
ax.inset_axes([0.5, 0.5, 0.3, 0.3]).scatter([1], [1], color="#ff00ff")
polar = right.add_subplot(2, 1, 1, projection="polar")
polar.fill([0, 1, 2], [1, 1, 1], color="#00ffff")
artist = right.add_subplot(2, 1, 2, axes_class=ArtistAxes)
artist.set_xlabel("artist x")
right.suptitle("right side")
"""
    log = logged(engine, code)
    assert sorted(log["texts"]) == ["artist x", "right axis", "right side"]  # no tick labels, no "1e6"
    assert sorted(log["layouts"]) == [[1, 1, 0, 1, 0, 1], [1, 1, 0, 1, 0, 1], [2, 1, 0, 1, 0, 1], [2, 1, 1, 2, 0, 1]]
    assert log["types"] == {"plot": 1, "scatter": 1, "fill": 1}
    assert log["colors"]["scatter"] == ["#ff00ff"] and log["colors"]["fill"] == ["#00ffff"]


def test_only_the_captured_figure_as_it_was_saved_is_logged(engine):
    code = """
import matplotlib.pyplot as plt
first, ax1 = plt.subplots()
ax1.bar([1], [1])
ax1.set_title("first")
second, ax2 = plt.subplots(1, 2)
ax2[0].plot([1, 2])
ax2[1].set_title("second")
second.savefig("out.png")
ax2[1].set_title("too late")
ax2[1].scatter([1], [1])
"""
    log = logged(engine, code)
    assert log["texts"] == ["second"]
    assert log["types"] == {"plot": 1}
    assert sorted(log["layouts"]) == [[1, 2, 0, 1, 0, 1], [1, 2, 0, 1, 1, 2]]


def test_real_chartmimic_charts(engine, shared_data):
    bars = logged(engine, (shared_data / "charts" / "bar_3.py").read_text())
    assert bars["types"] == {"bar": 32}
    assert {"LIVE", "CSIQ", "TID2013", "LIVE-M", "Models", "Full model"} <= set(bars["texts"])
    assert bars["texts"].count("Metric Values") == 4
    assert not {"PICC", "SROCC"} & set(bars["texts"])  # the x tick labels
    assert sorted(bars["layouts"]) == [[1, 4, 0, 1, i, i + 1] for i in range(4)]
    assert set(bars["colors"]["bar"]) == {"#5377ca", "#e08a57", "#91c4df", "#d1bc73"}

    pies = logged(engine, (shared_data / "charts" / "pie_13.py").read_text())
    assert pies["types"] == {"pie": 2}
    assert {"Full Finetuning", "QLoRA", "Model", "Unused", "12.6", "46.2"} <= set(pies["texts"])
    assert sorted(pies["layouts"]) == [[2, 1, 0, 1, 0, 1], [2, 1, 1, 2, 0, 1]]
    assert pies["colors"]["pie"] == ["#ffd580", "#c0c0c0", "#8fbc8f", "#ebf5a4"] * 2


@pytest.mark.parametrize(
    ("code", "kind"),
    [(GRID + "raise ValueError('boom')\n", "runtime"), ("plt.plot(\n", "syntax")],
    ids=["runtime", "syntax"],
)
def test_a_failed_render_has_no_log(engine, code, kind):
    result = engine.render(code, "python", INSTRUMENTED)
    assert result.error_kind == kind
    assert "chartmimic" not in result.diagnostics


def test_output_that_is_not_a_figure_has_an_empty_log(engine):
    log = logged(engine, "from PIL import Image\nimage = Image.new('RGB', (20, 10), 'red')\n")
    assert log == {"texts": [], "layouts": [], "types": {}, "colors": {}}


LEAK_PROBE = """
import matplotlib.axis
import matplotlib.pyplot as plt
import matplotlib_venn
import networkx
import squarify
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text

hooks = (Axes.plot, Axes.bar, Axes.hist, Figure.draw, Text.draw, matplotlib.axis.Axis.draw, networkx.draw,
         squarify.plot, matplotlib_venn.venn2)
hooked = [f.__qualname__ for f in hooks if getattr(f, "_chartmimic_hook", False)]
assert not hooked, hooked
plt.plot([1, 2])
"""


def test_plain_renders_are_unchanged_and_nothing_leaks_into_the_next_job(engine):
    plain = engine.render(GRID, "python")
    instrumented = engine.render(GRID, "python", INSTRUMENTED)
    probe = engine.render(LEAK_PROBE, "python")  # the same warm worker, right after an instrumented job
    again = engine.render(GRID, "python")
    assert plain.ok and instrumented.ok and again.ok
    assert probe.ok, probe.error_message
    assert "chartmimic" not in plain.diagnostics and "chartmimic" not in again.diagnostics
    assert "chartmimic" in instrumented.diagnostics
    assert plain.image == instrumented.image == again.image  # logging changes nothing that is drawn


def test_the_log_is_cut_to_fit_the_result_header():
    huge = {
        "texts": ["x" * (MAX_TEXT_CHARS * 3)] + ["t"] * (MAX_TEXTS * 2),
        "layouts": [[1, 1, 0, 1, 0, 1]] * 5000,
        "types": {"scatter": 10**6},
        "colors": {"scatter": ["#000000"] * (MAX_COLORS * 2), "plot": ["#ffffff"] * 10},
    }
    log = _fit(huge)
    assert log["truncated"] == ["colors", "layouts", "texts"]
    assert len(log["texts"]) == MAX_TEXTS and len(log["texts"][0]) == MAX_TEXT_CHARS
    assert sum(len(c) for c in log["colors"].values()) == MAX_COLORS and "plot" not in log["colors"]
    assert len(json.dumps(log)) < protocol.MAX_HEADER // 2
