"""Everyday matplotlib charts: line, bar (four variants), scatter, pie/donut and histogram."""

from __future__ import annotations

import random

from . import chart_script as cs


def line(rng: random.Random) -> tuple[str, str]:
    if rng.random() < 0.3:
        return _function_lines(rng)
    name, ylabel, low, high = cs.metric(rng)
    count = rng.randint(5, 12)
    xvar, xlabel, ticks = cs.x_axis(rng, count)
    count = len(ticks)
    family, labels = cs.categories(rng, rng.randint(1, 4), name)
    colors = cs.palette(rng, len(labels))
    nd = cs.decimals_for(high)
    series = [cs.walk(rng, count, low, high) for _ in labels]
    use_pandas = rng.random() < 0.12
    code = cs.imports(rng, pandas=use_pandas) + "\n"
    if use_pandas:
        code += f'df = pd.DataFrame(\n    {{\n        "{xlabel}": {cs.string_list(ticks)},\n'
        for label, values in zip(labels, series, strict=True):
            code += f'        "{label}": np.array({cs.number_list(values, nd)}),\n'
        code += "    }\n)\n\n" + cs.figure(rng)
        marker = rng.choice(cs.MARKERS)
        code += f'df.plot(x="{xlabel}", ax=ax, marker="{marker}", color={colors!r}, linewidth=2)\n'
    else:
        code += f"{xvar} = {cs.string_list(ticks)}\n"
        code += "data = {\n" + "".join(
            f'    "{label}": {cs.number_list(values, nd)},\n' for label, values in zip(labels, series, strict=True)
        )
        code += "}\n" + f"colors = {colors!r}\n\n"
        code += f"x = np.arange(len({xvar}))\n" + cs.figure(rng)
        marker = rng.choice(cs.MARKERS)
        style = rng.choice(cs.LINESTYLES[:2])
        code += "for (name, values), color in zip(data.items(), colors):\n"
        code += f'    ax.plot(x, values, marker="{marker}", linestyle="{style}", color=color,'
        code += " linewidth=2, label=name)\n"
        if rng.random() < 0.5:
            code += (
                '    ax.annotate(f"{values[-1]:.0f}", (x[-1], values[-1]), textcoords="offset points",'
                " xytext=(5, 0), fontsize=8, color=color)\n"
            )
        code += f"ax.set_xticks(x)\nax.set_xticklabels({xvar}"
        code += ', rotation=45, ha="right")\n' if count > 8 and rng.random() < 0.5 else ")\n"
    title = f"{cs.capital(name)} by {xlabel.lower()}"
    code += cs.title_line(rng, title) + f'ax.set_xlabel("{xlabel}")\nax.set_ylabel("{ylabel}")\n'
    code += cs.legend(rng) if len(labels) > 1 or use_pandas else ""
    code += cs.grid(rng) + cs.despine(rng) + cs.ending(rng)
    who = f"{len(labels)} {cs.plural(family)}" if len(labels) > 1 else labels[0]
    return code, f"Line chart of {name} per {xlabel.lower()} for {who}"


_WAVES = (
    ("{a} * np.sin({f} * x)", "sine wave"),
    ("{a} * np.cos({f} * x)", "cosine wave"),
    ("{a} * np.exp(-x / {t}) * np.sin({f} * x)", "damped oscillation"),
    ("{a} * (1 - np.exp(-x / {t}))", "saturation curve"),
    ("{a} * np.log1p({f} * x)", "logarithmic growth"),
    ("{a} / (1 + np.exp(-{f} * (x - {c})))", "logistic curve"),
)


def _function_lines(rng: random.Random) -> tuple[str, str]:
    end = rng.choice((5, 6, 8, 10, 12))
    chosen = rng.sample(_WAVES, rng.randint(1, 3))
    colors = cs.palette(rng, len(chosen))
    code = cs.imports(rng) + "\n" + f"x = np.linspace(0, {end}, {rng.choice((100, 200, 300, 500))})\n"
    for i, (expr, _) in enumerate(chosen, start=1):
        params = {
            "a": f"{rng.uniform(0.5, 3.0):.1f}",
            "f": f"{rng.uniform(0.5, 2.5):.2f}",
            "t": f"{rng.uniform(1.0, 5.0):.1f}",
            "c": f"{end / 2:.1f}",
        }
        code += f"y{i} = {expr.format(**params)}\n"
    code += "\n" + cs.figure(rng)
    for i, ((_, label), color) in enumerate(zip(chosen, colors, strict=True), start=1):
        style = rng.choice(cs.LINESTYLES)
        code += f'ax.plot(x, y{i}, color="{color}", linestyle="{style}", linewidth=2, label="{label}")\n'
    if rng.random() < 0.4:
        code += 'ax.axhline(0, color="gray", linewidth=0.8)\n'
    names = " and ".join(label for _, label in chosen)
    code += cs.title_line(rng, cs.capital(names)) + 'ax.set_xlabel("x")\nax.set_ylabel("y")\n'
    code += cs.legend(rng) + cs.grid(rng) + cs.despine(rng) + cs.ending(rng)
    return code, f"Line plot of a {names} over x from 0 to {end}"


def _bar_values(rng: random.Random, count: int, low: float, high: float) -> list[float]:
    return cs.levels(rng, count, max(low, 0.0) + 0.1 * (high - low), high)


def bar(rng: random.Random) -> tuple[str, str]:
    name, ylabel, low, high = cs.metric(rng)
    family, labels = cs.categories(rng, rng.randint(3, 8), name)
    nd, values = cs.decimals_for(high), _bar_values(rng, len(labels), low, high)
    code = cs.imports(rng) + "\n" + f"labels = {cs.string_list(labels)}\n"
    code += f"values = np.array({cs.number_list(values, nd)})\n"
    if rng.random() < 0.5:
        code += f"colors = {cs.palette(rng, len(labels))!r}\n"
        color_arg = "colors"
    else:
        color_arg = f'"{cs.palette(rng, 1)[0]}"'
    edge = rng.choice(("", ', edgecolor="black"', ', edgecolor="white", linewidth=1.2'))
    code += "\nx = np.arange(len(labels))\n" + cs.figure(rng)
    code += f"bars = ax.bar(x, values, width={rng.choice((0.5, 0.6, 0.7, 0.8))}, color={color_arg}{edge})\n"
    fmt = "{value:.0f}" if nd == 0 else "{value:.1f}"
    roll = rng.random()
    if roll < 0.4:
        code += "for bar, value in zip(bars, values):\n    height = bar.get_height()\n"
        code += (
            '    ax.text(bar.get_x() + bar.get_width() / 2, height, f"' + fmt + '", ha="center", va="bottom",'
            " fontsize=9)\n"
        )
    elif roll < 0.7:
        code += f'ax.bar_label(bars, fmt="%.{nd}f", padding=3)\n'
    code += "ax.set_xticks(x)\nax.set_xticklabels(labels)\n"
    code += cs.title_line(rng, f"{cs.capital(name)} by {family}")
    code += f'ax.set_xlabel("{cs.capital(family)}")\nax.set_ylabel("{ylabel}")\n'
    code += cs.grid(rng, axis="y") + cs.despine(rng) + cs.ending(rng)
    return code, f"Bar chart of {name} across {len(labels)} {cs.plural(family)}"


def bar_grouped(rng: random.Random) -> tuple[str, str]:
    name, ylabel, low, high = cs.metric(rng)
    family, labels = cs.categories(rng, rng.randint(3, 6), name)
    start = rng.randint(2015, 2022)
    groups = [str(y) for y in range(start, start + rng.randint(2, 4))]
    nd = cs.decimals_for(high)
    colors = cs.palette(rng, len(groups))
    code = cs.imports(rng) + "\n" + f"categories = {cs.string_list(labels)}\n" + "series = {\n"
    for group in groups:
        values = _bar_values(rng, len(labels), low, high)
        code += f'    "{group}": {cs.number_list(values, nd)},\n'
    code += "}\n" + f"colors = {colors!r}\n\n"
    code += "x = np.arange(len(categories))\nwidth = 0.8 / len(series)\n" + cs.figure(rng)
    code += "for i, ((label, values), color) in enumerate(zip(series.items(), colors)):\n"
    code += "    offset = (i - (len(series) - 1) / 2) * width\n"
    code += "    ax.bar(x + offset, values, width, label=label, color=color)\n"
    code += "ax.set_xticks(x)\nax.set_xticklabels(categories)\n"
    code += cs.title_line(rng, f"{cs.capital(name)} by {family}, {groups[0]}-{groups[-1]}")
    code += f'ax.set_ylabel("{ylabel}")\n' + cs.legend(rng) + cs.grid(rng, axis="y") + cs.despine(rng)
    code += cs.ending(rng)
    return code, f"Grouped bar chart of {name} by {family} for {groups[0]} to {groups[-1]}"


def bar_stacked(rng: random.Random) -> tuple[str, str]:
    xvar, xlabel, ticks = cs.x_axis(rng, rng.randint(4, 8))
    name, ylabel, low, high = cs.metric(rng)
    family, parts = cs.categories(rng, rng.randint(2, 4), name)
    nd = cs.decimals_for(high)
    colors = cs.palette(rng, len(parts))
    code = cs.imports(rng) + "\n" + f"{xvar} = {cs.string_list(ticks)}\n" + "parts = {\n"
    for part in parts:
        values = _bar_values(rng, len(ticks), low, high)
        code += f'    "{part}": {cs.number_list([v / len(parts) for v in values], nd)},\n'
    code += "}\n" + f"colors = {colors!r}\n\n" + cs.figure(rng)
    code += f"bottom = np.zeros(len({xvar}))\n"
    code += "for (label, values), color in zip(parts.items(), colors):\n"
    code += f"    ax.bar({xvar}, values, bottom=bottom, label=label, color=color, width=0.6)\n"
    code += "    bottom += np.array(values)\n"
    if rng.random() < 0.4:
        code += "for i, total in enumerate(bottom):\n"
        code += '    ax.text(i, total, f"{total:.0f}", ha="center", va="bottom")\n'
    code += cs.title_line(rng, f"Total {name} by {xlabel.lower()} and {family}")
    code += f'ax.set_xlabel("{xlabel}")\nax.set_ylabel("{ylabel}")\n'
    code += cs.legend(rng) + cs.grid(rng, axis="y") + cs.despine(rng) + cs.ending(rng)
    return (
        code,
        f"Stacked bar chart of {name} per {xlabel.lower()} split into {len(parts)} {cs.plural(family)}",
    )


def bar_horizontal(rng: random.Random) -> tuple[str, str]:
    name, xlabel, low, high = cs.metric(rng)
    family, labels = cs.categories(rng, rng.randint(4, 9), name)
    nd, values = cs.decimals_for(high), _bar_values(rng, len(labels), low, high)
    sort = rng.random() < 0.5
    if sort:
        pairs = sorted(zip(values, labels, strict=True))
        values, labels = [v for v, _ in pairs], [lab for _, lab in pairs]
    color = cs.palette(rng, 1)[0]
    code = cs.imports(rng) + "\n" + f"labels = {cs.string_list(labels)}\n"
    code += f"values = np.array({cs.number_list(values, nd)})\n\ny = np.arange(len(labels))\n" + cs.figure(rng)
    if rng.random() < 0.4:
        code += f'colors = ["{color}" if v == values.max() else "lightgray" for v in values]\n'
        code += "bars = ax.barh(y, values, color=colors, height=0.6)\n"
    else:
        code += f'bars = ax.barh(y, values, color="{color}", height=0.6)\n'
    code += "ax.set_yticks(y)\nax.set_yticklabels(labels)\n"
    if rng.random() < 0.5:
        code += "for rect, value in zip(bars, values):\n    width = rect.get_width()\n"
        code += '    ax.text(width, rect.get_y() + rect.get_height() / 2, f" {value:g}",'
        code += ' va="center", fontsize=9)\n'
    if not sort and rng.random() < 0.5:
        code += "ax.invert_yaxis()\n"
    code += cs.title_line(rng, f"{cs.capital(name)} per {family}") + f'ax.set_xlabel("{xlabel}")\n'
    code += cs.grid(rng, axis="x") + cs.despine(rng) + cs.ending(rng)
    order = "sorted " if sort else ""
    return code, f"Horizontal {order}bar chart of {name} for {len(labels)} {cs.plural(family)}"


def scatter(rng: random.Random) -> tuple[str, str]:
    code = cs.imports(rng) + "\n"
    if rng.random() < 0.5:
        seed = rng.randint(0, 9999)
        n = rng.choice((50, 80, 120, 200))
        slope, noise = rng.uniform(-2, 3), rng.uniform(0.5, 3)
        cmap = rng.choice(cs.words.COLORMAPS)
        code += f"rng = np.random.default_rng({seed})\nx = rng.uniform(0, 10, {n})\n"
        code += f"y = {slope:.2f} * x + rng.normal(0, {noise:.1f}, {n})\n"
        code += f"sizes = rng.uniform(20, 200, {n})\n\n" + cs.figure(rng)
        code += f'sc = ax.scatter(x, y, c=y, s=sizes, cmap="{cmap}", alpha=0.7, edgecolors="k", linewidths=0.5)\n'
        code += 'fig.colorbar(sc, ax=ax, label="y value")\n'
        if rng.random() < 0.6:
            code += "coeffs = np.polyfit(x, y, 1)\nxs = np.linspace(0, 10, 100)\n"
            code += 'ax.plot(xs, np.polyval(coeffs, xs), color="black", linestyle="--", label="Linear fit")\n'
            code += cs.legend(rng)
        title = f"Scatter plot of {n} points with a linear trend"
        code += cs.title_line(rng, "Noisy linear relationship") + 'ax.set_xlabel("x")\nax.set_ylabel("y")\n'
    else:
        family, groups = cs.categories(rng, rng.randint(2, 4))
        colors = cs.palette(rng, len(groups))
        code += "groups = [\n"
        for _ in groups:
            cx, cy, spread = rng.uniform(1, 9), rng.uniform(1, 9), rng.uniform(0.4, 1.4)
            count = rng.randint(8, 18)
            xs = [cx + rng.gauss(0, spread) for _ in range(count)]
            ys = [cy + rng.gauss(0, spread) for _ in range(count)]
            code += f"    ({cs.number_list(xs, 2)}, {cs.number_list(ys, 2)}),\n"
        code += "]\n"
        code += f"labels = {cs.string_list(groups)}\ncolors = {colors!r}\n\n" + cs.figure(rng)
        marker = rng.choice(cs.MARKERS[:5])
        code += "for (xs, ys), label, color in zip(groups, labels, colors):\n"
        dot = rng.choice((30, 50, 70))
        code += f'    ax.scatter(xs, ys, color=color, label=label, marker="{marker}", s={dot})\n'
        code += '    ax.scatter(np.mean(xs), np.mean(ys), color=color, marker="X", s=150, edgecolors="black")\n'
        _, xl, _, _ = cs.metric(rng)
        _, yl, _, _ = cs.metric(rng)
        code += cs.title_line(rng, f"Clusters by {family}") + f'ax.set_xlabel("{xl}")\nax.set_ylabel("{yl}")\n'
        code += cs.legend(rng)
        title = f"Scatter plot of {len(groups)} clusters of points, one per {family}, with centroids"
    code += cs.grid(rng) + cs.despine(rng) + cs.ending(rng)
    return code, title


def pie(rng: random.Random) -> tuple[str, str]:
    family, labels = cs.categories(rng, rng.randint(3, 6))
    values = [rng.randint(5, 60) for _ in labels]
    colors = cs.palette(rng, len(labels))
    donut = rng.random() < 0.45
    code = cs.imports(rng) + "\n" + f"labels = {cs.string_list(labels)}\n"
    code += f"sizes = np.array({cs.number_list(values, 0)})\ncolors = {colors!r}\n"
    explode = rng.random() < 0.4 and not donut
    if explode:
        code += "explode = [0.08 if s == sizes.max() else 0 for s in sizes]\n"
    size = rng.choice(((6, 6), (7, 7), (8, 6)))
    code += "\n" + cs.figure(rng, size)
    args = 'sizes, labels=labels, colors=colors, autopct="%1.1f%%", startangle=' + str(rng.choice((90, 140, 0)))
    if explode:
        args += ", explode=explode"
    if donut:
        args += ', pctdistance=0.8, wedgeprops=dict(width=0.4, edgecolor="white")'
    elif rng.random() < 0.4:
        args += ", shadow=True"
    code += f"wedges, texts, autotexts = ax.pie({args})\n"
    if rng.random() < 0.5:
        shade = rng.choice(("white", "black"))
        code += f'for text in autotexts:\n    text.set_color("{shade}")\n    text.set_fontsize(9)\n'
    if donut and rng.random() < 0.6:
        code += 'ax.text(0, 0, f"Total\\n{sizes.sum()}", ha="center", va="center", fontsize=12)\n'
    code += 'ax.axis("equal")\n'
    name = rng.choice(("Market share", "Budget split", "Survey answers", "Time spent", "Traffic sources"))
    code += cs.title_line(rng, f"{name} by {family}") + cs.ending(rng)
    shape = "Donut" if donut else "Pie"
    return code, f"{shape} chart of {name.lower()} across {len(labels)} {cs.plural(family)}"


def hist(rng: random.Random) -> tuple[str, str]:
    name, xlabel, low, high = cs.metric(rng)
    mean, sd = (
        (low + high) / 2 + rng.uniform(-0.1, 0.1) * (high - low),
        rng.uniform(0.08, 0.18) * (high - low),
    )
    code = cs.imports(rng) + "\n"
    colors = cs.palette(rng, 2)
    bins = rng.choice((10, 15, 20, 25, 30, 40))
    two = rng.random() < 0.35
    if rng.random() < 0.6:
        seed, n = rng.randint(0, 9999), rng.choice((200, 500, 1000, 2000))
        code += f"rng = np.random.default_rng({seed})\ndata = rng.normal({mean:.1f}, {sd:.1f}, {n})\n"
        if two:
            code += f"other = rng.normal({mean + sd:.1f}, {sd * 0.8:.1f}, {n})\n"
    else:
        values = [rng.gauss(mean, sd) for _ in range(rng.randint(30, 60))]
        code += f"data = np.array({cs.number_list(values, 1)})\n"
        if two:
            code += f"other = np.array({cs.number_list([rng.gauss(mean + sd, sd) for _ in range(40)], 1)})\n"
    code += "\n" + cs.figure(rng)
    alpha = 0.6 if two else rng.choice((0.7, 0.85, 1.0))
    look = f'edgecolor="white", alpha={alpha}'
    code += f'ax.hist(data, bins={bins}, color="{colors[0]}", {look}, label="Group A")\n'
    if two:
        code += f'ax.hist(other, bins={bins}, color="{colors[1]}", {look}, label="Group B")\n'
    if rng.random() < 0.5:
        code += 'ax.axvline(data.mean(), color="black", linestyle="--", linewidth=1.5,'
        code += ' label=f"Mean {data.mean():.1f}")\n'
    if two or "label=f" in code:
        code += cs.legend(rng)
    code += cs.title_line(rng, f"Distribution of {name}") + f'ax.set_xlabel("{xlabel}")\nax.set_ylabel("Count")\n'
    code += cs.grid(rng, axis="y") + cs.despine(rng) + cs.ending(rng)
    groups = "two overlapping groups" if two else "one sample"
    return code, f"Histogram of {name} with {bins} bins for {groups}"
