"""LaTeX / TikZ: snippets are wrapped into a `standalone` document, compiled with pdflatex without shell
escape (kpathsea is also told not to open files by absolute or parent paths), and the first page is
rasterised with poppler. More than one page is reported as `multi_page`, with the first page as the image.

Speed: each worker dumps, once at start, a pdflatex format with the wrapper's class and packages (standalone,
amsmath, amssymb, tikz) preloaded (mylatexformat); wrapped snippets compile against it, about twice as fast as
loading TikZ every time. Complete documents, and any machine where the dump fails, use plain pdflatex.
"""

from __future__ import annotations

import os
import re
import subprocess
from typing import Any

from renderers.pdf import first_page_png, page_count
from renderers.result import RenderFailure, RenderOptions

POOL = "sandbox"
PREAMBLE_LINE = re.compile(r"^\s*\\(usepackage|usetikzlibrary|usepgfplotslibrary|pgfplotsset)\b")
ERROR_LINE = re.compile(r"^(?:\./doc\.tex:(\d+): |! )(.*)$", re.MULTILINE)
FIXED_PREAMBLE = "\\documentclass[border=2pt]{standalone}\n\\usepackage{amsmath,amssymb}\n\\usepackage{tikz}\n"
FORMAT_NAME = "vinci-tikz"


def split_snippet(code: str) -> tuple[str, str] | None:
    """(extra preamble, body) of a snippet (a tikzpicture, a tabular, ...); None for a complete document."""
    if "\\documentclass" in code or "\\begin{document}" in code:
        return None
    preamble, body = [], []
    for line in code.splitlines():
        (preamble if PREAMBLE_LINE.match(line) else body).append(line)
    return "\n".join(preamble), "\n".join(body).strip()


def document(preamble: str, body: str, dumped: bool = False) -> str:
    """The standalone document for a snippet; `dumped` marks where the preloaded format's preamble ends."""
    marker = "\\endofdump\n" if dumped else ""
    return f"{FIXED_PREAMBLE}{marker}{preamble}\n\\begin{{document}}\n{body}\n\\end{{document}}\n"


def wrap(code: str) -> str:
    """A complete document for any LaTeX code; complete documents pass unchanged."""
    parts = split_snippet(code)
    if parts is None:
        return code if "\\documentclass" in code else "\\documentclass[border=2pt]{standalone}\n" + code
    return document(*parts)


def prepare(code: str, options: RenderOptions) -> dict[str, Any]:
    if not code.strip():
        raise RenderFailure("syntax", "empty LaTeX")
    parts = split_snippet(code)
    payload: dict[str, Any] = {"code": wrap(code)}
    if parts is not None:
        payload["snippet"] = {"preamble": parts[0], "body": parts[1]}
    return payload


_format: str | None = None  # set by warm() in the worker; job children inherit it through fork


def warm() -> None:
    """Dump the wrapper's preamble into a format once per worker (see the module docstring)."""
    global _format
    folder = os.path.join(os.environ.get("TMPDIR") or "/tmp", "latex-format")
    os.makedirs(folder, exist_ok=True)
    os.chmod(folder, 0o755)
    with open(os.path.join(folder, "preamble.tex"), "w") as fh:
        fh.write(FIXED_PREAMBLE + "\\begin{document}\n\\end{document}\n")
    cmd = ["pdflatex", "-ini", "-interaction=nonstopmode", f"-jobname={FORMAT_NAME}", "&pdflatex"]
    try:
        subprocess.run([*cmd, "mylatexformat.ltx", "preamble.tex"], cwd=folder, capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return
    fmt = os.path.join(folder, FORMAT_NAME + ".fmt")
    if os.path.exists(fmt):
        os.chmod(fmt, 0o644)
        _format = fmt


def _tex_error(log: str) -> str:
    match = ERROR_LINE.search(log)
    if not match:
        return "pdflatex failed without an error line in its log"
    line, message = match.groups()
    context = log[match.end() : match.end() + 200].strip().splitlines()
    detail = f" near: {context[0].strip()}" if context and context[0].strip() else ""
    return (f"line {line}: " if line else "") + message.strip() + detail


def run(payload: dict[str, Any], options: RenderOptions, workdir: str) -> bytes:
    cmd = ["pdflatex", "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error"]
    fmt, snippet, source = _format, payload.get("snippet"), payload["code"]
    if fmt and snippet:
        os.symlink(fmt, os.path.join(workdir, FORMAT_NAME + ".fmt"))  # found in the work dir, no absolute path
        cmd.append(f"-fmt={FORMAT_NAME}")
        source = document(snippet["preamble"], snippet["body"], dumped=True)
    with open(os.path.join(workdir, "doc.tex"), "w", encoding="utf-8") as fh:
        fh.write(source)
    try:
        subprocess.run(
            [*cmd, "doc.tex"], cwd=workdir, capture_output=True, timeout=max(1.0, options.timeout_s - 2), check=False
        )
    except subprocess.TimeoutExpired:
        raise RenderFailure("timeout", "pdflatex did not finish within the time limit") from None
    pdf = os.path.join(workdir, "doc.pdf")
    if not os.path.exists(pdf):
        try:
            with open(os.path.join(workdir, "doc.log"), encoding="utf-8", errors="replace") as fh:
                log = fh.read()
        except OSError:
            log = ""
        raise RenderFailure("syntax", _tex_error(log))
    dpi = options.dpi or 100
    pages = page_count(pdf)
    image = first_page_png(pdf, dpi)
    if pages > 1:
        raise RenderFailure("multi_page", f"the document has {pages} pages; the image is the first", image=image)
    return image
