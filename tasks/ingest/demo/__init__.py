"""Offline demo corpus: deterministic, varied (image-to-code) source samples from inline vocabularies.

``generate_sample(seed, index)`` builds one sample from ``random.Random(f"{seed}:{index}")``;
kinds are dealt in blocks of ``len(KINDS)``, each block a seeded permutation of
``KINDS``, so every aligned block contains every kind exactly once.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from . import (
    asymptote,
    charts_basic,
    charts_composite,
    charts_stats,
    latex,
    mermaid,
    molecules,
    svg,
    svg_art,
    tikz,
    web,
    web_content,
    web_marketing,
)
from .chart_defects import maybe_spoil

__all__ = ["KINDS", "DemoSample", "KindSpec", "REGISTRY", "generate_sample", "kind_of"]


@dataclass(frozen=True)
class DemoSample:
    """One generated sample.

    kind: e.g. "chart/line", "web/landing", "science/molecule_smiles" (one of KINDS)
    domain: one of chart, web, svg, latex, science
    subdomain: e.g. "line", "bar", "landing", "icon", "tikz", "table", "molecule", "diagram", "geometry"
    language: one of python, html, svg, latex, mermaid, asymptote, smiles
    code: the full source code / markup / SMILES string
    title: short English description of what is drawn
    flaws: names of deliberate defects injected (empty = clean, renders as is)
    """

    kind: str
    domain: str
    subdomain: str
    language: str
    code: str
    title: str
    flaws: tuple[str, ...] = ()


Draft = tuple[str, str, tuple[str, ...]]  # (code, title, flaws)
Builder = Callable[[random.Random], Draft]


@dataclass(frozen=True)
class KindSpec:
    kind: str
    subdomain: str
    language: str
    build: Builder

    @property
    def domain(self) -> str:
        return self.kind.split("/", 1)[0]


def _clean(make: Callable[[random.Random], tuple[str, str]]) -> Builder:
    def build(rng: random.Random) -> Draft:
        code, title = make(rng)
        return code, title, ()

    return build


def _chart(make: Callable[[random.Random], tuple[str, str]]) -> Builder:
    """Chart scripts: about one in five gets a deliberate defect for the repair stage."""

    def build(rng: random.Random) -> Draft:
        code, title = make(rng)
        code, flaws = maybe_spoil(rng, code)
        return code, title, flaws

    return build


def _page(layout: web.Layout) -> Builder:
    def build(rng: random.Random) -> Draft:
        return web.render(rng, layout)

    return build


_SPECS: tuple[KindSpec, ...] = (
    KindSpec("chart/line", "line", "python", _chart(charts_basic.line)),
    KindSpec("chart/bar", "bar", "python", _chart(charts_basic.bar)),
    KindSpec("chart/bar_grouped", "bar", "python", _chart(charts_basic.bar_grouped)),
    KindSpec("chart/bar_stacked", "bar", "python", _chart(charts_basic.bar_stacked)),
    KindSpec("chart/bar_horizontal", "bar", "python", _chart(charts_basic.bar_horizontal)),
    KindSpec("chart/scatter", "scatter", "python", _chart(charts_basic.scatter)),
    KindSpec("chart/pie", "pie", "python", _chart(charts_basic.pie)),
    KindSpec("chart/hist", "hist", "python", _chart(charts_basic.hist)),
    KindSpec("chart/box", "box", "python", _chart(charts_stats.box)),
    KindSpec("chart/violin", "violin", "python", _chart(charts_stats.violin)),
    KindSpec("chart/heatmap", "heatmap", "python", _chart(charts_stats.heatmap)),
    KindSpec("chart/area", "area", "python", _chart(charts_stats.area)),
    KindSpec("chart/errorbar", "errorbar", "python", _chart(charts_stats.errorbar)),
    KindSpec("chart/subplots", "subplots", "python", _chart(charts_composite.subplots)),
    KindSpec("chart/radar", "radar", "python", _chart(charts_composite.radar)),
    KindSpec("chart/3d", "3d", "python", _chart(charts_composite.plot3d)),
    KindSpec("web/landing", "landing", "html", _page(web_marketing.landing)),
    KindSpec("web/blog", "blog", "html", _page(web_content.blog)),
    KindSpec("web/pricing", "pricing", "html", _page(web_marketing.pricing)),
    KindSpec("web/dashboard", "dashboard", "html", _page(web_content.dashboard)),
    KindSpec("web/signup", "signup", "html", _page(web_marketing.signup)),
    KindSpec("web/docs", "docs", "html", _page(web_content.docs)),
    KindSpec("web/product_grid", "product_grid", "html", _page(web_marketing.product_grid)),
    KindSpec("svg/icon", "icon", "svg", _clean(svg.icon)),
    KindSpec("svg/badge", "illustration", "svg", _clean(svg_art.badge)),
    KindSpec("svg/scene", "illustration", "svg", _clean(svg_art.scene)),
    KindSpec("svg/logo", "illustration", "svg", _clean(svg_art.logo)),
    KindSpec("latex/tikz_diagram", "tikz", "latex", _clean(tikz.diagram)),
    KindSpec("latex/tikz_plot", "tikz", "latex", _clean(tikz.plot)),
    KindSpec("latex/tikz_shapes", "tikz", "latex", _clean(tikz.shapes)),
    KindSpec("latex/tikz_tree", "tikz", "latex", _clean(tikz.tree)),
    KindSpec("latex/table", "table", "latex", _clean(latex.table)),
    KindSpec("science/molecule_smiles", "molecule", "smiles", _clean(molecules.smiles)),
    KindSpec("science/molecule_drawing", "molecule_drawing", "python", _clean(molecules.drawing)),
    KindSpec("science/mermaid_flowchart", "diagram", "mermaid", _clean(mermaid.flowchart)),
    KindSpec("science/mermaid_sequence", "diagram", "mermaid", _clean(mermaid.sequence)),
    KindSpec("science/mermaid_class", "diagram", "mermaid", _clean(mermaid.class_diagram)),
    KindSpec("science/mermaid_state", "diagram", "mermaid", _clean(mermaid.state)),
    KindSpec("science/mermaid_pie", "diagram", "mermaid", _clean(mermaid.pie)),
    KindSpec("science/mermaid_gantt", "diagram", "mermaid", _clean(mermaid.gantt)),
    KindSpec("science/asymptote_geometry", "geometry", "asymptote", _clean(asymptote.geometry)),
    KindSpec("science/asymptote_graph", "geometry", "asymptote", _clean(asymptote.graph)),
    KindSpec("science/asymptote_shapes", "geometry", "asymptote", _clean(asymptote.shapes)),
)

REGISTRY: dict[str, KindSpec] = {spec.kind: spec for spec in _SPECS}
KINDS: tuple[str, ...] = tuple(spec.kind for spec in _SPECS)


@lru_cache(maxsize=256)
def _block(seed: int, block: int) -> tuple[str, ...]:
    order = list(KINDS)
    random.Random(f"{seed}:block:{block}").shuffle(order)
    return tuple(order)


def kind_of(seed: int, index: int) -> str:
    """The kind that `generate_sample(seed, index)` produces, without building it."""
    if index < 0:
        raise ValueError(f"index must be non-negative, got {index}")
    return _block(seed, index // len(KINDS))[index % len(KINDS)]


def generate_sample(seed: int, index: int) -> DemoSample:
    """Deterministically build sample `index` of the corpus with `seed`."""
    spec = REGISTRY[kind_of(seed, index)]
    rng = random.Random(f"{seed}:{index}")
    code, title, flaws = spec.build(rng)
    return DemoSample(
        kind=spec.kind,
        domain=spec.domain,
        subdomain=spec.subdomain,
        language=spec.language,
        code=code,
        title=title,
        flaws=flaws,
    )
