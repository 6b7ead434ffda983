"""Each sandbox renderer: how it captures output, and the typed error it gives for each kind of failure."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image

from renderers import EngineConfig, RenderEngine, RenderOptions, protocol
from renderers.image import normalize
from renderers.languages.latex import wrap
from renderers.result import RenderFailure, png_size


@pytest.fixture(scope="module")
def engine():
    eng = RenderEngine(EngineConfig(sandbox_workers=1))
    eng.warm_up("sandbox")
    yield eng
    eng.close()


def pixels(result) -> Image.Image:
    assert result.ok, result.error_message
    img = Image.open(io.BytesIO(result.image))
    assert img.mode == "RGB" and img.size == (result.width, result.height)
    return img


PLOT = "import matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(4, 3))\nax.plot([1, 2, 3], [3, 1, 2])\n"


@pytest.mark.parametrize(
    ("ending", "size"),
    [
        ("", (400, 300)),
        ("plt.show()\n", (400, 300)),
        ("plt.savefig('any/odd name.pdf')\n", (400, 300)),
        ("fig.savefig('chart.png', dpi=50)\n", (200, 150)),
        ("plt.savefig('out.svg', dpi=300)\nplt.close('all')\n", (400, 300)),  # vector: the asked dpi is moot
        ("import sys\nsys.exit(0)\n", (400, 300)),
    ],
)
def test_python_captures_the_figure_however_the_code_ends(engine, ending, size):
    assert pixels(engine.render(PLOT + ending, "python")).size == size


def test_python_savefig_captures_the_figure_as_it_was_saved(engine):
    code = PLOT + "fig.savefig('a.png')\nax.set_facecolor('black')\n"
    img = pixels(engine.render(code, "python"))
    assert img.getpixel((200, 150))[0] > 200  # the later black background is not in the saved figure


def test_python_options_dpi_and_file_writes(engine):
    assert pixels(engine.render(PLOT, "python", RenderOptions(dpi=50))).size == (200, 150)
    code = PLOT + "plt.savefig('x.png')\nimport os\nassert os.path.exists('x.png'), 'not written'\n"
    assert engine.render(code, "python").error_kind == "runtime"  # captured, not written, by default
    assert engine.render(code, "python", RenderOptions(python_write_files=True)).ok


def test_python_rdkit_and_pil_outputs(engine):
    rdkit = (
        "from rdkit import Chem\nfrom rdkit.Chem import Draw\n"
        "Draw.MolToImage(Chem.MolFromSmiles('c1ccccc1O'), size=(300, 200)).save('m.png')\n"
    )
    assert pixels(engine.render(rdkit, "python")).size == (300, 200)
    pil = "from PIL import Image\nimg = Image.new('RGBA', (64, 32), (255, 0, 0, 0))\n"
    img = pixels(engine.render(pil, "python"))
    assert img.size == (64, 32) and img.getpixel((0, 0)) == (255, 255, 255)  # transparency lands on white


@pytest.mark.parametrize(
    ("code", "kind", "text"),
    [
        ("plt.plot(\n", "syntax", "SyntaxError"),
        ("def f():\n\tx = 1\n        return x\n", "syntax", "Error"),
        ("import numpy as np\nnp.foo()\n", "runtime", "AttributeError"),
        ("raise SystemExit(3)\n", "runtime", "exit(3)"),
        ("x = 1\n", "no_output", "no figure"),
        ("import matplotlib.pyplot as plt\nplt.figure(figsize=(2000, 2000))\n", "bad_image", "max_pixels"),
        ("import os\nos._exit(4)\n", "runtime", "status 4"),
        ("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n", "runtime", "SIGSEGV"),
    ],
)
def test_python_failures_are_typed(engine, code, kind, text):
    result = engine.render(code, "python", RenderOptions(timeout_s=10))
    assert result.error_kind == kind, result.error_message
    assert text in result.error_message


def test_svg_sizes_and_errors(engine):
    icon = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="24" height="12"><rect width="24" height="12" fill="red"/></svg>'
    )
    assert pixels(engine.render(icon, "svg")).size == (256, 128)  # scaled up to min_side
    assert pixels(engine.render(icon, "svg", RenderOptions(width=100))).size == (100, 50)
    assert engine.render("<svg><unclosed></svg>", "svg").error_kind == "syntax"
    assert engine.render("not svg at all", "svg").error_kind == "syntax"
    external = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10" height="10">'
        '<image xlink:href="file:///etc/passwd" width="10" height="10"/></svg>'
    )
    assert engine.render(external, "svg").ok  # external files are not loaded (cairosvg unsafe=False)


def test_smiles_backends_and_errors(engine):
    assert pixels(engine.render("CN1C=NC2=C1C(=O)N(C(=O)N2C)C", "smiles")).size == (500, 500)
    assert pixels(engine.render("c1ccccc1 benzene", "smiles", RenderOptions(smiles_size=200))).size == (200, 200)
    assert engine.render("c1ccccc1", "smiles", RenderOptions(smiles_backend="indigo")).ok
    assert engine.render("C1CC(", "smiles").error_kind == "syntax"


def test_latex_snippets_documents_pages_and_errors(engine):
    assert engine.render("\\begin{tikzpicture}\\draw (0,0) -- (1,1);\\end{tikzpicture}", "latex").ok
    table = "\\begin{tabular}{ll}a & b\\\\ c & d\\end{tabular}"
    assert engine.render(table, "latex").ok
    two_pages = "\\documentclass{article}\\begin{document}x\\newpage y\\end{document}"
    result = engine.render(two_pages, "latex")
    assert result.error_kind == "multi_page" and result.image is not None and "2 pages" in result.error_message
    broken = engine.render("\\begin{tikzpicture}\\draw (0,0) -- ;\\undefinedmacro\\end{tikzpicture}", "latex")
    assert broken.error_kind == "syntax" and broken.error_message


def test_latex_wrap_hoists_preamble_lines():
    doc = wrap("\\usetikzlibrary{arrows}\n\\begin{tikzpicture}\\end{tikzpicture}")
    assert doc.index("\\usetikzlibrary{arrows}") < doc.index("\\begin{document}")
    assert "\\documentclass[border=2pt]{standalone}" in doc
    full = "\\documentclass{article}\n\\begin{document}x\\end{document}"
    assert wrap(full) == full


def test_asymptote(engine):
    assert pixels(engine.render("size(100);\ndraw(unitcircle);\nlabel('$x$', (0, 0));\n", "asymptote")).width > 50
    result = engine.render("size(100);\ndraw(unitcircle\n", "asymptote")
    assert result.error_kind == "syntax" and "line" in result.error_message


def test_unknown_language_and_empty_code(engine):
    assert engine.render("x", "cobol").error_kind == "syntax"
    assert engine.render("   ", "latex").error_kind == "syntax"


def test_frames_reject_garbage():
    r, w = os.pipe()
    protocol.write_frame(w, {"a": 1}, b"blob")
    assert protocol.read_frame(r) == ({"a": 1}, b"blob")
    os.write(w, b"XX" + b"\0" * 20)
    with pytest.raises(protocol.ProtocolError, match="bad magic"):
        protocol.read_frame(r)
    os.close(w)
    with pytest.raises(protocol.ProtocolError):
        protocol.read_frame(r)
    os.close(r)
    big = protocol.encode({"x": 1}, b"1" * 100)
    with pytest.raises(protocol.ProtocolError, match="malformed"):
        protocol.read_frame_bytes(big, max_blob=10)
    with pytest.raises(protocol.ProtocolError, match="truncated"):
        protocol.read_frame_bytes(big[:-5])


def test_normalize_checks_and_flattens():
    buf = io.BytesIO()
    Image.new("LA", (10, 5), (0, 0)).save(buf, "PNG")
    png, w, h, notes = normalize(buf.getvalue(), RenderOptions())
    assert (w, h) == (10, 5) and png_size(png) == (10, 5) and notes.get("blank")
    with pytest.raises(RenderFailure, match="not a readable image"):
        normalize(b"\x89PNG\r\n\x1a\ngarbage", RenderOptions())
    with pytest.raises(RenderFailure, match="max_pixels"):
        normalize(buf.getvalue(), RenderOptions(max_pixels=20))
    assert png_size(b"not a png") is None


def test_a_worker_kind_that_cannot_start_fails_its_items_quickly(monkeypatch):
    from renderers import engine as engine_module

    monkeypatch.setitem(engine_module.POOL_MODULES, "browser", "renderers.no_such_worker")
    with RenderEngine(EngineConfig(browser_workers=1)) as broken:
        results = [broken.render("<p>hi</p>", "html") for _ in range(4)]
        assert [r.error_kind for r in results] == ["sandbox"] * 4
        assert "failed to start" in results[0].error_message and "No module named" in results[0].error_message
        assert "not retried" in results[-1].error_message
        assert broken.pool("browser").started_workers == 0
