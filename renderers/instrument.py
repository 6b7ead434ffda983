"""ChartMimic's low-level instrumentation: what a matplotlib script draws, logged while it runs.

`install_chartmimic()` patches matplotlib (and the drawing entry points of networkx, squarify and matplotlib_venn)
in the current process; `collect_chartmimic(figure)` returns what was logged for one figure:

    {"texts": [str, ...],                       # strings drawn in the figure's last draw, tick labels excluded
     "layouts": [[nrows, ncols, row_start, row_end, col_start, col_end], ...],   # one per visible subplot
     "types": {kind: calls},                    # plotting calls per kind
     "colors": {kind: ["#rrggbb", ...]}}        # colours drawn by those calls

plus "truncated": [part, ...] when a part was cut to fit the result header (see the MAX_* limits).

The patches are process-wide and are never undone: the render engine installs them inside a job's forked child
(`renderers.languages.python.run`), so they die with the job and never reach the warm worker or later jobs.

How each part is logged:

- types: the Axes plotting methods in AXES_KINDS (and Axes3D's own methods in AXES3D_KINDS) and the networkx,
  squarify and matplotlib_venn drawing functions are wrapped. Only the outermost call counts: a depth counter makes
  the calls a plotting call makes internally (hist -> bar, errorbar -> plot/vlines, nx.draw -> scatter, ...)
  invisible, and so are the calls a colorbar makes for its own drawing (pcolormesh). The kind is the method's
  name with a few aliases folded (semilogy -> plot, bxp -> boxplot, violin -> violinplot, plot3D -> plot, ...);
  every call on a 3-D axes gets the prefix "3d_" ("3d_plot_surface", "3d_bar3d", "3d_scatter", ...); all
  networkx drawing functions are the kind "networkx", squarify.plot "squarify", the venn functions "venn".
  Artists the code builds and adds itself count under the adding method (add_patch, add_artist, add_collection,
  add_line, add_image), except texts and legends. Only calls on the collected figure count (a library call
  belongs to the figure it drew on).
- colors: the artists a counted call added are those on its axes (on every axes of every figure for the library
  functions) after the call that were not there before. Their colours are read when the figure is collected,
  i.e. after its final draw, so later restyling (bar.set_color(...)) counts and removed or hidden artists do not:
  a line's colour (and its markers' face colour), a patch's face colour (its edge colour when it has no visible
  face), a collection's face colours (edge colours when it has none), an image's mapped colours. Fully
  transparent colours and text artists are skipped. Each call contributes its distinct colours once, in the order
  first seen, at most MAX_CALL_COLORS.
- texts: Text.draw is wrapped and every Figure.draw starts a fresh log for that figure, so the log is that of the
  figure's last draw (the one that produced the captured PNG). Visible, non-blank strings are logged, once per
  draw. Tick labels are excluded by context, not by lookup: Axis.draw (and the 3-D axis' own draw) is wrapped to
  note the axis being drawn, and a text drawn inside an axis' draw that is not the axis label is a tick label or
  the axis' offset text ("1e6"), which would not exist once the ticks are cleared. This catches tick labels
  created lazily during the draw itself and costs nothing per text. axisartist's tick labels (drawn by its own
  axis artists) are recognised by their class.
- layouts: when collected, each visible axes of the figure (subfigures included) with a subplot spec gives
  [nrows, ncols, rowspan.start, rowspan.stop, colspan.start, colspan.stop] of that spec within its own gridspec.
  Axes without one (fig.add_axes, inset axes, colorbar axes placed by make_axes) are skipped: they have no grid
  position to compare. A colorbar placed with a gridspec (fig.colorbar(..., ax=ax) in a plain subplot grid) splits
  its parent's cell into a nested gridspec, and both axes are then logged with that nested geometry, as the spec
  they really have.
"""

from __future__ import annotations

import functools
import importlib
import json
import sys
from typing import Any

MAX_TEXTS = 5000  # strings kept in the text log
MAX_TEXT_CHARS = 1000  # characters kept of one string
MAX_TEXT_TOTAL = 512 << 10  # characters kept over all strings
MAX_LAYOUTS = 1000
MAX_CALL_COLORS = 256  # distinct colours kept per call
MAX_COLORS = 20000  # colours kept over all kinds
MAX_IMAGE_SAMPLES = 1 << 18  # image pixels looked at for an image's colours

AXES_KINDS = {
    "plot": "plot",
    "loglog": "plot",
    "semilogx": "plot",
    "semilogy": "plot",
    "step": "step",
    "bar": "bar",
    "barh": "barh",
    "broken_barh": "broken_barh",
    "scatter": "scatter",
    "pie": "pie",
    "hist": "hist",
    "hist2d": "hist2d",
    "stairs": "stairs",
    "ecdf": "ecdf",
    "boxplot": "boxplot",
    "bxp": "boxplot",
    "violinplot": "violinplot",
    "violin": "violinplot",
    "fill": "fill",
    "fill_between": "fill_between",
    "fill_betweenx": "fill_betweenx",
    "stackplot": "stackplot",
    "imshow": "imshow",
    "matshow": "imshow",
    "pcolor": "pcolor",
    "pcolormesh": "pcolormesh",
    "pcolorfast": "pcolorfast",
    "hexbin": "hexbin",
    "contour": "contour",
    "contourf": "contourf",
    "tricontour": "tricontour",
    "tricontourf": "tricontourf",
    "tripcolor": "tripcolor",
    "triplot": "triplot",
    "errorbar": "errorbar",
    "quiver": "quiver",
    "barbs": "barbs",
    "streamplot": "streamplot",
    "stem": "stem",
    "eventplot": "eventplot",
    "hlines": "hlines",
    "vlines": "vlines",
    "axhline": "axhline",
    "axvline": "axvline",
    "axline": "axline",
    "axhspan": "axhspan",
    "axvspan": "axvspan",
    "specgram": "specgram",
    "spy": "spy",
    "arrow": "arrow",
    # artists the code made itself (circles, rectangles, images, line collections...); texts and legends added this
    # way are not drawing calls (their strings are in the text log) and are not counted
    "add_patch": "add_patch",
    "add_artist": "add_artist",
    "add_collection": "add_collection",
    "add_line": "add_line",
    "add_image": "add_image",
}
ADDERS = {"add_patch", "add_artist", "add_collection", "add_line", "add_image"}
AXES3D_KINDS = {
    "plot": "plot",
    "plot3D": "plot",
    "scatter": "scatter",
    "scatter3D": "scatter",
    "bar": "bar",
    "bar3d": "bar3d",
    "plot_surface": "plot_surface",
    "plot_wireframe": "plot_wireframe",
    "plot_trisurf": "plot_trisurf",
    "contour": "contour",
    "contour3D": "contour",
    "contourf": "contourf",
    "contourf3D": "contourf",
    "tricontour": "tricontour",
    "tricontourf": "tricontourf",
    "quiver": "quiver",
    "quiver3D": "quiver",
    "voxels": "voxels",
    "stem": "stem",
    "stem3D": "stem",
    "errorbar": "errorbar",
    "fill_between": "fill_between",
    "add_collection3d": "add_collection3d",
}
# (library, the modules that bind its drawing functions: the library and those under this prefix, the functions:
# names or a prefix ending in "*", kind)
LIBRARY_KINDS = (
    ("networkx", "networkx.drawing", ("draw*", "display"), "networkx"),
    ("squarify", "squarify.", ("plot",), "squarify"),
    (
        "matplotlib_venn",
        "matplotlib_venn.",
        ("venn2", "venn3", "venn2_circles", "venn3_circles", "venn2_unweighted", "venn3_unweighted"),
        "venn",
    ),
)
MARK = "_chartmimic_hook"  # set on every wrapper (tests check that no wrapper outlives its job)


class _State:
    def __init__(self) -> None:
        self.depth = 0  # > 0 while inside a counted (or silent) call
        self.calls: list[tuple[str, Any, list[Any]]] = []  # (kind, root figure or None, new artists)
        self.axis_stack: list[Any] = []  # axes' Axis objects being drawn
        self.drawing: list[list[str]] = []  # text logs of the figure draws in progress
        self.texts: dict[int, tuple[Any, list[str]]] = {}  # id(figure) -> (figure, text log of its last draw)


_state: _State | None = None


def install_chartmimic() -> None:
    """Patch matplotlib and the drawing libraries in this process (idempotent)."""
    global _state
    if _state is not None:
        return
    import matplotlib.axis as maxis
    from matplotlib.axes import Axes
    from matplotlib.colorbar import Colorbar
    from matplotlib.figure import Figure
    from matplotlib.text import Text

    _state = _State()
    for name, kind in AXES_KINDS.items():
        if callable(getattr(Axes, name, None)):
            setattr(Axes, name, _counted_method(getattr(Axes, name), kind, name in ADDERS))
    try:
        from mpl_toolkits.mplot3d import Axes3D
    except ImportError:  # pragma: no cover - mpl_toolkits ships with matplotlib
        Axes3D = None
    if Axes3D is not None:
        for name, kind in AXES3D_KINDS.items():
            if callable(Axes3D.__dict__.get(name)):
                setattr(Axes3D, name, _counted_method(Axes3D.__dict__[name], kind))
    for name in ("__init__", "_draw_all"):  # a colorbar draws itself with pcolormesh: not the user's call
        if callable(Colorbar.__dict__.get(name)):
            setattr(Colorbar, name, _silent(Colorbar.__dict__[name]))
    for package, under, names, kind in LIBRARY_KINDS:
        _patch_library(package, under, names, kind)
    Figure.draw = _figure_draw(Figure.draw)
    Text.draw = _text_draw(Text.draw)
    for cls in (maxis.Axis, *_subclasses(maxis.Axis)):
        if callable(cls.__dict__.get("draw")):
            cls.draw = _axis_draw(cls.__dict__["draw"])


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def _mark(wrapper, original):
    functools.update_wrapper(wrapper, original)
    setattr(wrapper, MARK, True)
    return wrapper


def _counted_method(original, kind: str, adder: bool = False):
    """An Axes method that logs its outermost calls and the artists they add to the axes. An `adder` (add_artist
    and the like) is not logged when what it adds is a text or a legend."""

    def method(self, *args, **kwargs):
        state = _state
        if state is None or state.depth or (adder and args and _is_text_or_legend(args[0])):
            return original(self, *args, **kwargs)
        before = _children(self)
        state.depth += 1
        try:
            result = original(self, *args, **kwargs)
        finally:
            state.depth -= 1
        try:
            prefix = "3d_" if getattr(self, "name", "") == "3d" else ""
            added = _added(self, before)
            state.calls.append((prefix + kind, _root_figure(self), added))
        except Exception:  # noqa: BLE001 - the log must never break the user's chart
            pass
        return result

    return _mark(method, original)


def _is_text_or_legend(artist) -> bool:
    from matplotlib.legend import Legend
    from matplotlib.text import Text

    return isinstance(artist, Text | Legend)


def _counted_function(original, kind: str):
    """A library drawing function (networkx, squarify, venn): logs its outermost calls and what they added to any
    axes of any pyplot figure (or of the `ax` it was given)."""

    def function(*args, **kwargs):
        state = _state
        if state is None or state.depth:
            return original(*args, **kwargs)
        given = kwargs.get("ax")
        before = {ax: _children(ax) for ax in _all_axes(given)}
        state.depth += 1
        try:
            result = original(*args, **kwargs)
        finally:
            state.depth -= 1
        try:
            added: list[Any] = []
            figure = None
            for ax in _all_axes(given):
                new = _added(ax, before.get(ax, []))
                if new and figure is None:
                    figure = _root_figure(ax)
                added += new
            if figure is None and given is not None:
                figure = _root_figure(given)
            state.calls.append((kind, figure, added))
        except Exception:  # noqa: BLE001
            pass
        return result

    return _mark(function, original)


def _silent(original):
    """A method whose own plotting calls are matplotlib's business, not the user's."""

    def method(*args, **kwargs):
        state = _state
        if state is None:
            return original(*args, **kwargs)
        state.depth += 1
        try:
            return original(*args, **kwargs)
        finally:
            state.depth -= 1

    return _mark(method, original)


def _patch_library(package: str, under: str, names: tuple[str, ...], kind: str) -> None:
    """Wrap the named functions of an importable library wherever its own modules bind them."""
    try:
        importlib.import_module(package)
    except Exception:  # noqa: BLE001 - not installed (or broken): nothing of it to log
        return
    modules = [m for n, m in list(sys.modules.items()) if m is not None and (n == package or n.startswith(under))]
    wrapped: dict[int, Any] = {}
    for module in modules:
        namespace = getattr(module, "__dict__", {})
        for attr, value in list(namespace.items()):
            if not callable(value) or getattr(value, MARK, False) or not _wanted(attr, names):
                continue
            if not str(getattr(value, "__module__", None) or "").startswith(package):  # re-exported from elsewhere
                continue
            if id(value) not in wrapped:
                wrapped[id(value)] = _counted_function(value, kind)
            setattr(module, attr, wrapped[id(value)])


def _wanted(attr: str, names: tuple[str, ...]) -> bool:
    return any(attr.startswith(n[:-1]) if n.endswith("*") else attr == n for n in names)


def _figure_draw(original):
    def draw(self, renderer, *args, **kwargs):
        state = _state
        if state is None:
            return original(self, renderer, *args, **kwargs)
        log: list[str] = []
        state.texts[id(self)] = (self, log)
        state.drawing.append(log)
        try:
            return original(self, renderer, *args, **kwargs)
        finally:
            state.drawing.pop()

    return _mark(draw, original)


def _text_draw(original):
    def draw(self, renderer, *args, **kwargs):
        state = _state
        if state is not None and state.drawing:
            try:
                if self.get_visible() and not _is_tick_text(self, state):
                    text = self.get_text()
                    if text and not text.isspace():
                        state.drawing[-1].append(text)
            except Exception:  # noqa: BLE001
                pass
        return original(self, renderer, *args, **kwargs)

    return _mark(draw, original)


def _is_tick_text(text, state: _State) -> bool:
    """Drawn by an axis but not its label (tick labels, offset text), or axisartist's tick labels (a Text subclass
    drawn by its own axis artist, which is left unpatched so that axisartist need not be imported)."""
    if state.axis_stack and text is not state.axis_stack[-1].label:
        return True
    return type(text).__name__ == "TickLabels" and type(text).__module__.startswith("mpl_toolkits.axisartist")


def _axis_draw(original):
    def draw(self, renderer, *args, **kwargs):
        state = _state
        if state is None:
            return original(self, renderer, *args, **kwargs)
        state.axis_stack.append(self)
        try:
            return original(self, renderer, *args, **kwargs)
        finally:
            state.axis_stack.pop()

    return _mark(draw, original)


def _children(ax) -> list[Any] | None:
    """A copy of the axes' artists (the plotting methods append what they make to Axes._children)."""
    try:
        children = getattr(ax, "_children", None)
        return list(children) if isinstance(children, list) else list(ax.get_children())
    except Exception:  # noqa: BLE001
        return None


def _added(ax, before: list[Any] | None) -> list[Any]:
    """The artists on `ax` that were not in `before`. Plotting calls only append, so comparing the old prefix
    (identity, at C speed) settles it without a per-artist loop; a call that also removed something gets the
    full comparison."""
    now = _children(ax)
    if before is None or now is None:
        return []
    if now[: len(before)] == before:
        return now[len(before) :]
    seen = {id(a) for a in before}
    return [a for a in now if id(a) not in seen]


def _root_figure(artist):
    try:
        return artist.get_figure(root=True)
    except TypeError:  # matplotlib < 3.10: no root argument
        figure = artist.get_figure()
        while figure is not None and getattr(figure, "figure", figure) is not figure:
            figure = figure.figure
        return figure


def _figure_axes(figure) -> list[Any]:
    """Every axes of a figure once, in creation order: its own, its subfigures' (which a root figure may list
    already) and the inset (child) axes of all of them."""
    found: dict[int, Any] = {}

    def add(ax) -> None:
        if id(ax) not in found:
            found[id(ax)] = ax
            for child in getattr(ax, "child_axes", ()):
                add(child)

    def walk(fig) -> None:
        for ax in fig.axes:
            add(ax)
        for sub in getattr(fig, "subfigs", ()):
            walk(sub)

    walk(figure)
    return list(found.values())


def _all_axes(given=None) -> list[Any]:
    from matplotlib._pylab_helpers import Gcf

    axes = []
    for manager in Gcf.get_all_fig_managers():
        axes += _figure_axes(manager.canvas.figure)
    if given is not None and hasattr(given, "get_children") and given not in axes:
        axes.append(given)
    return axes


# ---------------------------------------------------------------------------------------------------- collection


def collect_chartmimic(figure=None) -> dict[str, Any]:
    """The log for `figure` (the captured one): its texts and layouts, and the types and colours of the calls made
    on it. Without a figure (the output was not a matplotlib figure) texts and layouts are empty and every call
    counts."""
    log: dict[str, Any] = {"texts": [], "layouts": [], "types": {}, "colors": {}}
    state = _state
    if state is None:
        return log
    try:
        axes = [ax for ax in _figure_axes(figure) if ax.get_visible()] if figure is not None else []
        if figure is not None:
            log["texts"] = list(state.texts.get(id(figure), (None, []))[1])
            log["layouts"] = [layout for ax in axes if (layout := _layout(ax)) is not None]
        shown = {id(ax) for ax in axes}
        for kind, owner, artists in state.calls:
            if figure is not None and owner is not None and owner is not figure:
                continue
            log["types"][kind] = log["types"].get(kind, 0) + 1
            colors = _call_colors(artists, shown if figure is not None else None)
            if colors:
                log["colors"].setdefault(kind, []).extend(colors)
    except Exception as exc:  # noqa: BLE001 - a broken log is reported, the render itself stands
        log["error"] = f"{type(exc).__name__}: {exc}"[:500]
    return _fit(log)


def _layout(ax) -> list[int] | None:
    spec = ax.get_subplotspec()
    if spec is None:
        return None
    nrows, ncols = spec.get_gridspec().get_geometry()
    rows, cols = spec.rowspan, spec.colspan
    return [int(nrows), int(ncols), int(rows.start), int(rows.stop), int(cols.start), int(cols.stop)]


def _call_colors(artists: list[Any], shown: set[int] | None) -> list[str]:
    """Distinct colours (first seen first) of a call's artists still drawn: on a shown axes, visible."""
    import numpy as np

    rows = []
    for artist in artists:
        ax = getattr(artist, "axes", None)
        if ax is None or (shown is not None and id(ax) not in shown) or not artist.get_visible():
            continue
        try:
            rgba = _artist_rgba(artist)
        except Exception:  # noqa: BLE001 - an artist we cannot read adds no colour
            continue
        if rgba is not None and len(rgba):
            rows.append(rgba)
    if not rows:
        return []
    rgba = np.concatenate(rows)
    rgba = rgba[rgba[:, 3] > 0]
    if not len(rgba):
        return []
    ints = np.round(np.clip(rgba[:, :3], 0, 1) * 255).astype(np.int64)
    packed = (ints[:, 0] << 16) | (ints[:, 1] << 8) | ints[:, 2]
    _, first = np.unique(packed, return_index=True)
    ordered = packed[np.sort(first)][:MAX_CALL_COLORS]
    return [f"#{int(v):06x}" for v in ordered]


def _artist_rgba(artist):
    """An (n, 4) array of the artist's main colours; None for artists whose colours are not logged (text)."""
    import numpy as np
    from matplotlib import colors as mcolors
    from matplotlib.collections import Collection
    from matplotlib.image import _ImageBase
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    def one(color, alpha=None):
        return np.asarray([mcolors.to_rgba(color, alpha)], dtype=float)

    if isinstance(artist, Line2D):
        found = []
        alpha = artist.get_alpha()
        if artist.get_linestyle() not in ("None", "none", "", " ") and artist.get_linewidth() > 0:
            found.append(one(artist.get_color(), alpha))
        if artist.get_marker() not in (None, "None", "none", "", " "):
            face = artist.get_markerfacecolor()
            if _is_none(face):
                face = artist.get_markeredgecolor()
            if not _is_none(face):
                found.append(one(face, alpha))
        return np.concatenate(found) if found else None
    if isinstance(artist, Patch):
        face = one(artist.get_facecolor())
        if face[0, 3] > 0:
            return face
        if artist.get_linewidth() > 0:
            return one(artist.get_edgecolor())
        return None
    if isinstance(artist, Collection):
        face = np.asarray(artist.get_facecolor(), dtype=float).reshape(-1, 4)
        face = face[face[:, 3] > 0]
        if len(face):
            return face
        widths = np.asarray(artist.get_linewidth(), dtype=float)
        if widths.size and widths.max() > 0:
            return np.asarray(artist.get_edgecolor(), dtype=float).reshape(-1, 4)
        return None
    if isinstance(artist, _ImageBase):
        data = artist.get_array()
        if data is None:
            return None
        data = np.ma.asarray(data)
        # scalar data as a flat vector (mapped through the colormap), RGB(A) pixels as an (n, 1, channels) image
        data = data.reshape(-1, 1, data.shape[-1]) if data.ndim == 3 else data.reshape(-1)
        if len(data) > MAX_IMAGE_SAMPLES:
            data = data[:: len(data) // MAX_IMAGE_SAMPLES + 1]
        rgba = np.asarray(artist.to_rgba(data, alpha=artist.get_alpha()))
        return rgba.reshape(-1, 4).astype(float) / (255.0 if rgba.dtype == np.uint8 else 1.0)
    return None


def _is_none(color) -> bool:
    return color is None or (isinstance(color, str) and color.lower() == "none")


def _fit(log: dict[str, Any]) -> dict[str, Any]:
    """Cut the log to the MAX_* limits so that it always fits a result header; names what was cut."""
    truncated = []
    texts, total = [], 0
    for text in log["texts"]:
        text = text[:MAX_TEXT_CHARS]
        if len(texts) >= MAX_TEXTS or total + len(text) > MAX_TEXT_TOTAL:
            truncated.append("texts")
            break
        texts.append(text)
        total += len(text)
    if any(len(t) > MAX_TEXT_CHARS for t in log["texts"]) and "texts" not in truncated:
        truncated.append("texts")
    log["texts"] = texts
    if len(log["layouts"]) > MAX_LAYOUTS:
        log["layouts"] = log["layouts"][:MAX_LAYOUTS]
        truncated.append("layouts")
    budget = MAX_COLORS
    for kind in list(log["colors"]):
        colors = log["colors"][kind]
        if len(colors) > budget:
            log["colors"][kind] = colors[:budget]
            truncated.append("colors")
        budget -= len(log["colors"][kind])
        if not log["colors"][kind]:
            del log["colors"][kind]
    if truncated:
        log["truncated"] = sorted(set(truncated))
    json.dumps(log)  # fails here, not in the frame writer, if anything is not JSON
    return log
