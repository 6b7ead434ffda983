"""Statistical matplotlib charts: box, violin, heatmap, error bars and area charts."""

from __future__ import annotations

import random

from . import chart_script as cs
from . import words


def _samples_code(rng: random.Random, labels: list[str], low: float, high: float) -> str:
    """Code defining ``data`` as a list of 1-D samples, one per label."""
    span = high - low
    if rng.random() < 0.55:
        seed = rng.randint(0, 9999)
        code = f"rng = np.random.default_rng({seed})\ndata = [\n"
        for _ in labels:
            mu, sd, n = (
                low + rng.uniform(0.3, 0.7) * span,
                rng.uniform(0.05, 0.15) * span,
                rng.choice((60, 100, 150)),
            )
            code += f"    rng.normal({mu:.1f}, {sd:.1f}, {n}),\n"
        return code + "]\n"
    code = "data = [\n"
    for _ in labels:
        mu, sd = low + rng.uniform(0.3, 0.7) * span, rng.uniform(0.05, 0.15) * span
        values = [rng.gauss(mu, sd) for _ in range(rng.randint(12, 24))]
        code += f"    np.array({cs.number_list(values, 1)}),\n"
    return code + "]\n"


def box(rng: random.Random) -> tuple[str, str]:
    name, ylabel, low, high = cs.metric(rng)
    family, labels = cs.categories(rng, rng.randint(3, 6), name)
    colors = cs.palette(rng, len(labels))
    code = cs.imports(rng) + "\n" + _samples_code(rng, labels, low, high)
    code += f"labels = {cs.string_list(labels)}\ncolors = {colors!r}\n\n" + cs.figure(rng)
    notch = rng.choice(("False", "True"))
    code += f"bp = ax.boxplot(data, patch_artist=True, notch={notch}, widths={rng.choice((0.4, 0.5, 0.6))})\n"
    code += 'for patch, color in zip(bp["boxes"], colors):\n    patch.set_facecolor(color)\n'
    code += f"    patch.set_alpha({rng.choice((0.6, 0.75, 0.9))})\n"
    if rng.random() < 0.5:
        code += 'for median in bp["medians"]:\n    median.set_color("black")\n    median.set_linewidth(2)\n'
    code += "ax.set_xticks(np.arange(1, len(labels) + 1))\nax.set_xticklabels(labels)\n"
    code += cs.title_line(rng, f"{cs.capital(name)} by {family}")
    code += f'ax.set_ylabel("{ylabel}")\n' + cs.grid(rng, axis="y") + cs.despine(rng) + cs.ending(rng)
    shape = "Notched box plot" if notch == "True" else "Box plot"
    return code, f"{shape} of {name} for {len(labels)} {cs.plural(family)}"


def violin(rng: random.Random) -> tuple[str, str]:
    name, ylabel, low, high = cs.metric(rng)
    family, labels = cs.categories(rng, rng.randint(3, 6), name)
    colors = cs.palette(rng, len(labels))
    code = cs.imports(rng) + "\n" + _samples_code(rng, labels, low, high)
    code += f"labels = {cs.string_list(labels)}\ncolors = {colors!r}\n\n" + cs.figure(rng)
    means, medians = rng.choice((("True", "False"), ("False", "True"), ("True", "True")))
    code += f"parts = ax.violinplot(data, showmeans={means}, showmedians={medians}, showextrema=True)\n"
    code += 'for body, color in zip(parts["bodies"], colors):\n    body.set_facecolor(color)\n'
    code += f'    body.set_edgecolor("black")\n    body.set_alpha({rng.choice((0.5, 0.65, 0.8))})\n'
    code += "ax.set_xticks(np.arange(1, len(labels) + 1))\nax.set_xticklabels(labels)\n"
    code += cs.title_line(rng, f"Distribution of {name} by {family}")
    code += f'ax.set_xlabel("{cs.capital(family)}")\nax.set_ylabel("{ylabel}")\n'
    code += cs.grid(rng, axis="y") + cs.despine(rng) + cs.ending(rng)
    return code, f"Violin plot of {name} distributions for {len(labels)} {cs.plural(family)}"


def heatmap(rng: random.Random) -> tuple[str, str]:
    name, label, low, high = cs.metric(rng)
    rows_family, rows = cs.categories(rng, rng.randint(3, 7), name)
    if rng.random() < 0.5:
        col_name, cols = "Month", list(words.MONTHS[: rng.randint(4, 12)])
    else:
        col_name, cols = "Weekday", list(words.WEEKDAYS[: rng.randint(5, 7)])
    nd = cs.decimals_for(high)
    matrix = [cs.walk(rng, len(cols), low, high) for _ in rows]
    cmap = rng.choice(words.COLORMAPS)
    code = cs.imports(rng) + "\n" + f"rows = {cs.string_list(rows)}\ncols = {cs.string_list(cols)}\n"
    code += (
        "data = np.array(\n    [\n" + "".join(f"        {cs.number_list(r, nd)},\n" for r in matrix) + "    ]\n)\n\n"
    )
    code += cs.figure(rng, (max(6, len(cols) - 1), max(4, len(rows) - 1)))
    code += f'im = ax.imshow(data, cmap="{cmap}", aspect="auto")\n'
    code += f'cbar = fig.colorbar(im, ax=ax)\ncbar.set_label("{label}")\n'
    code += "ax.set_xticks(np.arange(len(cols)))\nax.set_yticks(np.arange(len(rows)))\n"
    code += "ax.set_xticklabels(cols)\nax.set_yticklabels(rows)\n"
    if rng.random() < 0.4:
        code += 'plt.setp(ax.get_xticklabels(), rotation=45, ha="right", rotation_mode="anchor")\n'
    if rng.random() < 0.8:
        fmt = ".0f" if nd == 0 else ".1f"
        code += "threshold = data.max() / 2\n"
        code += "for i in range(data.shape[0]):\n    for j in range(data.shape[1]):\n"
        code += '        color = "white" if data[i, j] > threshold else "black"\n'
        code += f'        ax.text(j, i, f"{{data[i, j]:{fmt}}}", ha="center", va="center",'
        code += " color=color, fontsize=8)\n"
    code += cs.title_line(rng, f"{cs.capital(name)} by {rows_family} and {col_name.lower()}")
    code += cs.ending(rng)
    return code, f"Annotated heatmap of {name} for {len(rows)} {cs.plural(rows_family)} by {col_name.lower()}"


def errorbar(rng: random.Random) -> tuple[str, str]:
    name, ylabel, low, high = cs.metric(rng)
    nd = cs.decimals_for(high) + 1
    code = cs.imports(rng) + "\n"
    span = high - low
    if rng.random() < 0.5:
        family, labels = cs.categories(rng, rng.randint(3, 7), name)
        means = cs.levels(rng, len(labels), low + 0.3 * span, high)
        errors = [rng.uniform(0.03, 0.12) * span for _ in labels]
        color = cs.palette(rng, 1)[0]
        code += f"labels = {cs.string_list(labels)}\nmeans = np.array({cs.number_list(means, nd)})\n"
        code += f"errors = np.array({cs.number_list(errors, nd)})\n\nx = np.arange(len(labels))\n" + cs.figure(rng)
        code += f'ax.bar(x, means, yerr=errors, capsize={rng.randint(3, 8)}, color="{color}", alpha=0.8,'
        code += ' ecolor="black")\nax.set_xticks(x)\nax.set_xticklabels(labels)\n'
        code += cs.title_line(rng, f"Mean {name} by {family}")
        title = f"Bar chart with error bars of mean {name} for {len(labels)} {cs.plural(family)}"
    else:
        count = rng.randint(5, 10)
        family, labels = cs.categories(rng, rng.randint(1, 3), name)
        colors = cs.palette(rng, len(labels))
        weeks = sorted(rng.sample(range(1, 53), count))
        code += f"weeks = np.array({cs.number_list(weeks, 0)})\n"
        for i, _ in enumerate(labels, start=1):
            code += f"y{i} = np.array({cs.number_list(cs.walk(rng, count, low, high), nd)})\n"
            errs = [rng.uniform(0.02, 0.1) * span for _ in range(count)]
            code += f"err{i} = np.array({cs.number_list(errs, nd)})\n"
        code += "\n" + cs.figure(rng)
        for i, (lab, color) in enumerate(zip(labels, colors, strict=True), start=1):
            fmt = rng.choice(("o-", "s--", "^-", "D:"))
            code += f'ax.errorbar(weeks, y{i}, yerr=err{i}, fmt="{fmt}", capsize=4, color="{color}",'
            code += f' label="{lab}")\n'
        code += cs.legend(rng) + cs.title_line(rng, f"{cs.capital(name)} with uncertainty")
        code += 'ax.set_xlabel("Week")\n'
        title = f"Error bar plot of {name} in {count} weeks of the year for {len(labels)} {cs.plural(family)}"
    code += f'ax.set_ylabel("{ylabel}")\n' + cs.grid(rng) + cs.despine(rng) + cs.ending(rng)
    return code, title


def area(rng: random.Random) -> tuple[str, str]:
    name, ylabel, low, high = cs.metric(rng)
    nd = cs.decimals_for(high)
    xvar, xlabel, ticks = cs.x_axis(rng, rng.randint(6, 12))
    family, labels = cs.categories(rng, rng.randint(2, 4), name)
    colors = cs.palette(rng, len(labels))
    code = cs.imports(rng) + "\n" + f"{xvar} = {cs.string_list(ticks)}\nx = np.arange(len({xvar}))\n"
    stacked = rng.random() < 0.55
    for i, _ in enumerate(labels, start=1):
        values = cs.walk(rng, len(ticks), max(low, 0.0), high)
        if stacked:
            values = [v / len(labels) for v in values]
        code += f"y{i} = np.array({cs.number_list(values, nd)})\n"
    code += f"labels = {cs.string_list(labels)}\ncolors = {colors!r}\n\n" + cs.figure(rng)
    series = ", ".join(f"y{i}" for i in range(1, len(labels) + 1))
    if stacked:
        alpha = rng.choice((0.7, 0.8, 0.9))
        code += f"ax.stackplot(x, {series}, labels=labels, colors=colors, alpha={alpha})\n"
        kind = "Stacked area chart"
    else:
        code += f"for y, label, color in zip([{series}], labels, colors):\n"
        code += f"    ax.fill_between(x, y, alpha={rng.choice((0.2, 0.3, 0.4))}, color=color)\n"
        code += "    ax.plot(x, y, color=color, linewidth=2, label=label)\n"
        kind = "Overlapping area chart"
    code += f"ax.set_xticks(x)\nax.set_xticklabels({xvar})\nax.set_xlim(0, len({xvar}) - 1)\n"
    code += cs.title_line(rng, f"{cs.capital(name)} by {family}")
    code += f'ax.set_xlabel("{xlabel}")\nax.set_ylabel("{ylabel}")\n' + cs.legend(rng)
    code += cs.grid(rng) + cs.despine(rng) + cs.ending(rng)
    return code, f"{kind} of {name} per {xlabel.lower()} for {len(labels)} {cs.plural(family)}"
