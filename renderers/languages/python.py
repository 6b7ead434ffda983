"""Python: matplotlib and what chart datasets use with it (numpy, pandas, seaborn, scipy, networkx, squarify,
matplotlib_venn, mpl_toolkits 3-D), and RDKit / Indigo drawing code.

The source is executed unchanged. The figure is captured however the code ends:
  1. it called savefig (any file name, any format): the figure as it was at its last savefig, rendered as PNG
     with the same savefig arguments (bbox_inches, facecolor, ...); at the dpi it asked for when it saved a
     raster format, else at options.dpi or the figure's dpi. Saving to a path is captured instead of written
     (no PDF/SVG/PNG file is produced, which saves a full draw per chart); set
     `RenderOptions(python_write_files=True)` to also write the files. Saves to file objects always happen.
  2. it left figures open (plt.show() or nothing): the current figure;
  3. it wrote an image file (RDKit's MolToImage(...).save, Indigo's renderToFile, PIL): the newest one;
  4. it left a PIL image in a variable: the last one assigned.

With `RenderOptions(python_instrument="chartmimic")` matplotlib is instrumented before the code runs
(renderers/instrument.py, inside the job's forked child, so nothing outlives the job) and `run` returns the PNG
together with the log of what the captured figure drew, `{"chartmimic": log}`, which the job adds to the result's
diagnostics. The log is taken when the PNG is: at the last savefig, or after the code for an open figure.
"""

from __future__ import annotations

import io
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any

from renderers.result import RenderFailure, RenderOptions

POOL = "sandbox"
WARM_MODULES = (
    "numpy",
    "pandas",
    "matplotlib",
    "matplotlib.pyplot",
    "mpl_toolkits.mplot3d",
    "seaborn",
    "scipy",
    "scipy.stats",
    "scipy.interpolate",
    "scipy.signal",
    "networkx",
    "squarify",
    "matplotlib_venn",
    "rdkit.Chem",
    "rdkit.Chem.Draw",
    "rdkit.Chem.AllChem",
    "indigo",
    "indigo.renderer",
    "PIL.Image",
    "matplotlib.backends.backend_pdf",
    "matplotlib.backends.backend_svg",
    "matplotlib.backends.backend_ps",
)
RASTER_FORMATS = {"png", "jpg", "jpeg", "tif", "tiff", "webp", "raw", "rgba", "bmp", "gif"}
IMAGE_FILES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff", ".svg", ".pdf")
FILENAME = "<chart>"


def prepare(code: str, options: RenderOptions) -> dict[str, Any]:
    return {"code": code}


def warm() -> None:
    import importlib

    for name in WARM_MODULES:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - a missing optional library only limits what jobs can import
            print(f"render worker: could not preload {name}: {exc}", file=sys.stderr)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, 1], label="warm")
    ax.set_title("warm")
    ax.legend()
    for fmt in ("png", "pdf", "svg", "eps"):  # loads each backend's fonts and caches once, not per job
        fig.savefig(io.BytesIO(), format=fmt)
    plt.close("all")
    import renderers.instrument  # noqa: F401 - loaded once here; instrumented jobs only patch (in their child)


class _SaveCapture:
    """Wraps Figure.savefig: each save renders the figure to PNG at that moment (the last one wins).
    `logger(figure)`, when given, is called right after each such render and its result kept in `log`."""

    def __init__(self, options: RenderOptions, logger: Callable[[Any], dict[str, Any]] | None = None):
        from matplotlib.figure import Figure

        self.png: bytes | None = None
        self.log: dict[str, Any] | None = None
        self.saves = 0
        original = Figure.savefig
        capture = self

        def savefig(fig, fname, *args, **kwargs):
            capture.saves += 1
            path_like = isinstance(fname, str | os.PathLike)
            asked = kwargs.get("dpi") if _format_of(fname, kwargs) in RASTER_FORMATS else None
            capture.png = _figure_png(original, fig, kwargs, options, asked)
            if logger is not None:
                capture.log = logger(fig)
            if not path_like or options.python_write_files:
                return original(fig, fname, *args, **kwargs)
            return None

        Figure.savefig = savefig
        self.original = original


def _format_of(fname: Any, kwargs: dict[str, Any]) -> str | None:
    fmt = kwargs.get("format")
    if fmt:
        return str(fmt).lower()
    if isinstance(fname, str | os.PathLike):
        ext = os.path.splitext(os.fspath(fname))[1].lstrip(".").lower()
        return ext or None
    return None


def _figure_png(original, fig, kwargs: dict[str, Any], options: RenderOptions, asked_dpi) -> bytes:
    import matplotlib as mpl

    kwargs = {k: v for k, v in kwargs.items() if k not in ("format", "dpi", "metadata", "pil_kwargs")}
    dpi = options.dpi or asked_dpi
    if dpi is None or dpi == "figure":
        saved = mpl.rcParams.get("savefig.dpi", "figure")
        dpi = fig.dpi if saved == "figure" else saved
    width, height = fig.get_size_inches()
    if width * height * dpi * dpi > options.max_pixels:
        raise RenderFailure("bad_image", f"figure of {width:.1f}x{height:.1f} in at {dpi} dpi exceeds max_pixels")
    buf = io.BytesIO()
    original(fig, buf, format="png", dpi=dpi, **kwargs)
    return buf.getvalue()


def _written_image(workdir: str, options: RenderOptions) -> bytes | None:
    found = []
    for name in os.listdir(workdir):
        path = os.path.join(workdir, name)
        if name.lower().endswith(IMAGE_FILES) and os.path.isfile(path):
            found.append((os.path.getmtime(path), name, path))
    for _, name, path in sorted(found, reverse=True):
        if name.lower().endswith(".svg"):
            import cairosvg

            return cairosvg.svg2png(url=path, background_color="white", unsafe=False)
        if name.lower().endswith(".pdf"):
            from renderers.pdf import first_page_png

            return first_page_png(path, options.dpi or 100)
        with open(path, "rb") as fh:
            return fh.read()
    return None


def _pil_image(namespace: dict[str, Any]) -> bytes | None:
    from PIL import Image

    images = [v for v in namespace.values() if isinstance(v, Image.Image)]
    if not images:
        return None
    buf = io.BytesIO()
    images[-1].save(buf, "PNG")
    return buf.getvalue()


def _user_error(exc: BaseException) -> str:
    """The exception as the user would see it, with the line of *their* code."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == FILENAME]
    where = f" (line {frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"[:2000]


def run(payload: dict[str, Any], options: RenderOptions, workdir: str) -> bytes | tuple[bytes, dict[str, Any]]:
    """The PNG the code drew; with `options.python_instrument`, (PNG, notes for the result's diagnostics)."""
    if options.python_instrument == "chartmimic":
        from renderers.instrument import collect_chartmimic, install_chartmimic

        install_chartmimic()  # here, in the job's own forked child: the warm worker never sees the patches
        png, log = _run(payload, options, workdir, collect_chartmimic)
        return png, {"chartmimic": log}
    return _run(payload, options, workdir, None)[0]


def _run(
    payload: dict[str, Any], options: RenderOptions, workdir: str, logger: Callable[[Any], dict[str, Any]] | None
) -> tuple[bytes, dict[str, Any] | None]:
    """(PNG, `logger`'s log of the captured figure, or of no figure when the output is not one; None without)."""
    code = payload["code"]
    try:
        compiled = compile(code, FILENAME, "exec")
    except (SyntaxError, ValueError) as exc:  # ValueError: source with NUL bytes
        line = f" (line {exc.lineno})" if isinstance(exc, SyntaxError) and exc.lineno else ""
        raise RenderFailure("syntax", f"{type(exc).__name__}: {getattr(exc, 'msg', exc)}{line}") from None
    capture = _SaveCapture(options, logger)
    namespace: dict[str, Any] = {"__name__": "__main__", "__file__": os.path.join(workdir, "chart.py")}
    sys.argv = ["chart.py"]
    try:
        exec(compiled, namespace)  # noqa: S102 - this is the job: untrusted code, inside the confined child
    except SystemExit as exc:
        if exc.code not in (None, 0):
            raise RenderFailure("runtime", f"the code called exit({exc.code!r})") from None
    except MemoryError:
        raise
    except RecursionError as exc:
        raise RenderFailure("runtime", _user_error(exc)) from None
    except Exception as exc:  # noqa: BLE001 - the code failed: a runtime error with its own line number
        raise RenderFailure("runtime", _user_error(exc)) from None

    import matplotlib.pyplot as plt

    if capture.png is not None:
        return capture.png, capture.log
    if plt.get_fignums():
        figure = plt.gcf()
        png = _figure_png(capture.original, figure, {}, options, None)
        return png, None if logger is None else logger(figure)
    written = _written_image(workdir, options)
    if written is not None:
        return written, None if logger is None else logger(None)
    image = _pil_image(namespace)
    if image is not None:
        return image, None if logger is None else logger(None)
    raise RenderFailure("no_output", "the code ran but left no figure, saved no image and made no PIL image")
