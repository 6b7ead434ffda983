"""LaTeX / TikZ: snippets are wrapped into a `standalone` document, compiled with pdflatex without shell
escape (kpathsea is also told not to open files by absolute or parent paths), and the first page is
rasterised with poppler. More than one page is reported as `multi_page`, with the first page as the image.
"""

from __future__ import annotations

import os
import re
import subprocess
from typing import Any

from render.pdf import first_page_png, page_count
from render.result import RenderFailure, RenderOptions

POOL = "sandbox"
PREAMBLE_LINE = re.compile(r"^\s*\\(usepackage|usetikzlibrary|usepgfplotslibrary|pgfplotsset)\b")
ERROR_LINE = re.compile(r"^(?:\./doc\.tex:(\d+): |! )(.*)$", re.MULTILINE)
WRAPPER = """\\documentclass[border=2pt]{{standalone}}
\\usepackage{{amsmath,amssymb}}
\\usepackage{{tikz}}
{preamble}
\\begin{{document}}
{body}
\\end{{document}}
"""


def wrap(code: str) -> str:
    """A complete document for a snippet (a tikzpicture, a tabular, ...); complete documents pass unchanged."""
    if "\\documentclass" in code:
        return code
    if "\\begin{document}" in code:
        return "\\documentclass[border=2pt]{standalone}\n" + code
    preamble, body = [], []
    for line in code.splitlines():
        (preamble if PREAMBLE_LINE.match(line) else body).append(line)
    return WRAPPER.format(preamble="\n".join(preamble), body="\n".join(body).strip())


def prepare(code: str, options: RenderOptions) -> dict[str, Any]:
    if not code.strip():
        raise RenderFailure("syntax", "empty LaTeX")
    return {"code": wrap(code)}


def warm() -> None:
    return None


def _tex_error(log: str) -> str:
    match = ERROR_LINE.search(log)
    if not match:
        return "pdflatex failed without an error line in its log"
    line, message = match.groups()
    context = log[match.end() : match.end() + 200].strip().splitlines()
    detail = f" near: {context[0].strip()}" if context and context[0].strip() else ""
    return (f"line {line}: " if line else "") + message.strip() + detail


def run(payload: dict[str, Any], options: RenderOptions, workdir: str) -> bytes:
    with open(os.path.join(workdir, "doc.tex"), "w", encoding="utf-8") as fh:
        fh.write(payload["code"])
    cmd = ["pdflatex", "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error"]
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
