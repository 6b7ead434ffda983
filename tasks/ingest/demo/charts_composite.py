"""Composite matplotlib figures: subplot grids, radar (polar) charts and 3-D plots."""

from __future__ import annotations

import random

from . import chart_script as cs
from . import words


def _panel_line(rng: random.Random, ax: str) -> tuple[str, str]:
    name, ylabel, low, high = cs.metric(rng)
    values = cs.walk(rng, rng.randint(6, 12), low, high)
    color = cs.palette(rng, 1)[0]
    code = f"{ax}.plot(np.arange(1, {len(values) + 1}), {cs.number_list(values, cs.decimals_for(high))},"
    code += f' marker="{rng.choice(cs.MARKERS)}", color="{color}")\n'
    code += f'{ax}.set_title("{cs.capital(name)} trend")\n{ax}.set_xlabel("Week")\n{ax}.set_ylabel("{ylabel}")\n'
    return code, f"a line of {name}"


def _panel_bar(rng: random.Random, ax: str) -> tuple[str, str]:
    name, ylabel, low, high = cs.metric(rng)
    family, labels = cs.categories(rng, rng.randint(3, 5), name)
    values = cs.levels(rng, len(labels), max(low, 0.0) + 0.1 * (high - low), high)
    colors = cs.palette(rng, len(labels))
    numbers = cs.number_list(values, cs.decimals_for(high))
    code = f"{ax}.bar({cs.string_list(labels)}, np.array({numbers}), color={colors!r})\n"
    code += f'{ax}.set_title("{cs.capital(name)} by {family}")\n{ax}.set_ylabel("{ylabel}")\n'
    return code, f"bars of {name} by {family}"


def _panel_scatter(rng: random.Random, ax: str) -> tuple[str, str]:
    count = rng.randint(10, 20)
    xs = [rng.uniform(0, 10) for _ in range(count)]
    slope = rng.uniform(-1.5, 1.5)
    ys = [slope * x + rng.gauss(5, 1.5) for x in xs]
    color = cs.palette(rng, 1)[0]
    code = f"xs = np.array({cs.number_list(xs, 2)})\nys = np.array({cs.number_list(ys, 2)})\n"
    code += f'{ax}.scatter(xs, ys, color="{color}", alpha=0.8)\n'
    code += f'{ax}.set_title("Correlation sample")\n{ax}.set_xlabel("x")\n{ax}.set_ylabel("y")\n'
    return code, "a scatter of correlated points"


def _panel_hist(rng: random.Random, ax: str) -> tuple[str, str]:
    seed, mu, sd = rng.randint(0, 999), rng.uniform(10, 50), rng.uniform(2, 8)
    color = cs.palette(rng, 1)[0]
    code = f"sample = np.random.default_rng({seed}).normal({mu:.1f}, {sd:.1f}, 300)\n"
    code += f'{ax}.hist(sample, bins={rng.choice((12, 15, 20, 25))}, color="{color}", edgecolor="white")\n'
    code += f'{ax}.set_title("Sample distribution")\n{ax}.set_xlabel("Value")\n{ax}.set_ylabel("Count")\n'
    return code, "a histogram"


def _panel_pie(rng: random.Random, ax: str) -> tuple[str, str]:
    family, labels = cs.categories(rng, rng.randint(3, 5))
    values = [rng.randint(5, 40) for _ in labels]
    colors = cs.palette(rng, len(labels))
    code = f"{ax}.pie(np.array({cs.number_list(values, 0)}), labels={cs.string_list(labels)}, colors={colors!r},"
    code += ' autopct="%1.0f%%", startangle=90)\n'
    code += f'{ax}.set_title("Share by {family}")\n'
    return code, f"a pie of shares by {family}"


def _panel_area(rng: random.Random, ax: str) -> tuple[str, str]:
    name, ylabel, low, high = cs.metric(rng)
    values = cs.walk(rng, rng.randint(8, 16), max(low, 0.0), high)
    color = cs.palette(rng, 1)[0]
    code = f"area = np.array({cs.number_list(values, cs.decimals_for(high))})\n"
    code += f'{ax}.fill_between(np.arange(len(area)), area, color="{color}", alpha=0.4)\n'
    code += f'{ax}.plot(np.arange(len(area)), area, color="{color}")\n'
    code += f'{ax}.set_title("Cumulative {name}")\n{ax}.set_ylabel("{ylabel}")\n'
    return code, f"an area of {name}"


_PANELS = (_panel_line, _panel_bar, _panel_scatter, _panel_hist, _panel_pie, _panel_area)


def subplots(rng: random.Random) -> tuple[str, str]:
    if rng.random() < 0.5:
        shape, names = "2, 2", ["ax1", "ax2", "ax3", "ax4"]
        unpack, size = "(ax1, ax2), (ax3, ax4)", rng.choice(((10, 8), (11, 8), (12, 9)))
    else:
        shape, names = "1, 3", ["ax1", "ax2", "ax3"]
        unpack, size = "ax1, ax2, ax3", rng.choice(((14, 4), (15, 5), (13, 4)))
    panels = [rng.choice(_PANELS) for _ in names]
    code = cs.imports(rng) + "\n" + f"fig, axes = plt.subplots({shape}, figsize={size})\n{unpack} = axes\n\n"
    parts = []
    for panel, ax in zip(panels, names, strict=True):
        body, what = panel(rng, ax)
        code += f"# {what}\n{body}\n"
        parts.append(what)
    if rng.random() < 0.7:
        code += "for ax in axes.flat:\n    ax.tick_params(labelsize=8)\n    ax.title.set_fontsize(11)\n"
    heading = rng.choice(("Quarterly overview", "Team metrics at a glance", "Summary dashboard", "Key indicators"))
    code += f'fig.suptitle("{heading}", fontsize={rng.choice((14, 15, 16))})\n' + cs.ending(rng)
    grid = "2x2" if len(names) == 4 else "1x3"
    return code, f"{grid} grid of subplots showing " + ", ".join(parts)


def radar(rng: random.Random) -> tuple[str, str]:
    axes_labels = words.pick(
        rng,
        ("Speed", "Power", "Range", "Comfort", "Safety", "Price", "Design", "Battery", "Support", "Quality"),
        8,
    )[: rng.randint(5, 8)]
    family, names = cs.categories(rng, rng.randint(1, 3))
    colors = cs.palette(rng, len(names))
    top = rng.choice((5, 10, 100))
    code = cs.imports(rng) + "\n" + f"categories = {cs.string_list(axes_labels)}\n" + "scores = {\n"
    for name in names:
        values = [rng.uniform(0.3, 0.95) * top for _ in axes_labels]
        code += f'    "{name}": {cs.number_list(values, 1)},\n'
    code += "}\n" + f"colors = {colors!r}\n\n"
    code += "angles = np.linspace(0, 2 * np.pi, len(categories), endpoint=False).tolist()\n"
    code += "angles += angles[:1]\n\n"
    size = rng.choice((6, 7, 8))
    code += f"fig, ax = plt.subplots(figsize=({size}, {size}), subplot_kw=dict(polar=True))\n"
    code += "for (name, values), color in zip(scores.items(), colors):\n    closed = values + values[:1]\n"
    code += "    ax.plot(angles, closed, color=color, linewidth=2, label=name)\n"
    code += f"    ax.fill(angles, closed, color=color, alpha={rng.choice((0.1, 0.2, 0.25))})\n"
    code += f"ax.set_xticks(angles[:-1])\nax.set_xticklabels(categories)\nax.set_ylim(0, {top})\n"
    if rng.random() < 0.5:
        code += "ax.set_theta_offset(np.pi / 2)\nax.set_theta_direction(-1)\n"
    code += cs.title_line(rng, "Feature comparison") + cs.legend(rng) + cs.ending(rng)
    return code, f"Radar chart comparing {len(names)} {cs.plural(family)} on {len(axes_labels)} criteria"


_SURFACES = (
    ("np.sin(np.sqrt(X**2 + Y**2))", "z = sin(sqrt(x^2 + y^2))"),
    ("np.exp(-(X**2 + Y**2) / {s})", "a Gaussian bump"),
    ("X**2 - Y**2", "a saddle z = x^2 - y^2"),
    ("np.sin(X) * np.cos(Y)", "z = sin(x) cos(y)"),
    ("np.cos(X / 2) + np.sin(Y / 2)", "a wavy landscape"),
)


def plot3d(rng: random.Random) -> tuple[str, str]:
    roll = rng.random()
    code = cs.imports(rng) + "from mpl_toolkits.mplot3d import Axes3D  # noqa: F401\n\n"
    size = rng.choice(((8, 6), (9, 7), (7, 6)))
    setup = f'fig = plt.figure(figsize={size})\nax = fig.add_subplot(111, projection="3d")\n'
    if roll < 0.5:
        expr, what = rng.choice(_SURFACES)
        lim, n = rng.choice((2, 3, 4, 5)), rng.choice((30, 40, 50, 60))
        code += f"x = np.linspace(-{lim}, {lim}, {n})\ny = np.linspace(-{lim}, {lim}, {n})\n"
        code += "X, Y = np.meshgrid(x, y)\n"
        code += f"Z = {expr.format(s=rng.choice((2, 4, 6)))}\n\n" + setup
        cmap = rng.choice(words.COLORMAPS)
        alpha = rng.choice((0.8, 0.9, 1.0))
        code += f'surf = ax.plot_surface(X, Y, Z, cmap="{cmap}", edgecolor="none", alpha={alpha})\n'
        code += f"fig.colorbar(surf, ax=ax, shrink={rng.choice((0.5, 0.6, 0.7))}, pad=0.1)\n"
        title = f"3-D surface plot of {what}"
        code += cs.title_line(rng, cs.capital(what))
    elif roll < 0.8:
        name, zlabel, low, high = cs.metric(rng)
        family, rows = cs.categories(rng, rng.randint(3, 5), name)
        cols = list(words.QUARTERS[: rng.randint(3, 4)])
        values = [cs.levels(rng, len(cols), max(low, 0.0) + 0.1 * (high - low), high) for _ in rows]
        colors = cs.palette(rng, len(rows))
        code += f"rows = {cs.string_list(rows)}\ncols = {cs.string_list(cols)}\n"
        code += "heights = np.array(\n    [\n" + "".join(f"        {cs.number_list(v, 1)},\n" for v in values)
        code += f"    ]\n)\ncolors = {colors!r}\n\n" + setup
        code += "for i, (row, color) in enumerate(zip(rows, colors)):\n"
        code += "    xs = np.arange(len(cols))\n"
        code += "    ax.bar3d(xs, np.full(len(cols), i), np.zeros(len(cols)), 0.6, 0.6, heights[i], color=color,"
        code += " alpha=0.85)\n"
        code += "ax.set_xticks(np.arange(len(cols)) + 0.3)\nax.set_xticklabels(cols)\n"
        code += "ax.set_yticks(np.arange(len(rows)) + 0.3)\nax.set_yticklabels(rows)\n"
        code += f'ax.set_zlabel("{zlabel}")\n' + cs.title_line(rng, f"{cs.capital(name)} by quarter and {family}")
        title = f"3-D bar chart of {name} per quarter for {len(rows)} {cs.plural(family)}"
    else:
        turns, color = rng.randint(2, 6), cs.palette(rng, 1)[0]
        code += f"t = np.linspace(0, {turns} * 2 * np.pi, {rng.choice((300, 500, 800))})\n"
        code += f"x = np.cos(t) * (1 + t / {rng.randint(8, 20)})\ny = np.sin(t) * (1 + t / 12)\nz = t\n\n" + setup
        code += f'ax.plot(x, y, z, color="{color}", linewidth=2, label="spiral")\n'
        if rng.random() < 0.5:
            code += f'ax.scatter(x[::25], y[::25], z[::25], color="{cs.palette(rng, 1)[0]}", s=15)\n'
        code += cs.title_line(rng, "Expanding helix") + cs.legend(rng)
        title = f"3-D line plot of an expanding helix with {turns} turns"
    code += 'ax.set_xlabel("X")\nax.set_ylabel("Y")\n'
    code += f"ax.view_init(elev={rng.choice((20, 25, 30, 35, 45))}, azim={rng.choice((-60, -45, 30, 45, 120))})\n"
    return code + cs.ending(rng), title
