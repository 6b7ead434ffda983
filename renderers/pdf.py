"""PDF pages to PNG with poppler (pdftoppm / pdfinfo), for LaTeX, Asymptote and code that saves PDFs."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile

from renderers.result import RenderFailure

TOOL_TIMEOUT_S = 60


def page_count(path: str) -> int:
    proc = subprocess.run(["pdfinfo", path], capture_output=True, text=True, timeout=TOOL_TIMEOUT_S)
    match = re.search(r"^Pages:\s+(\d+)", proc.stdout, re.MULTILINE)
    if proc.returncode != 0 or not match:
        raise RenderFailure("bad_image", f"pdfinfo could not read the PDF: {proc.stderr.strip()[:300]}")
    return int(match.group(1))


def first_page_png(path: str, dpi: int) -> bytes:
    out = tempfile.mkdtemp(prefix="page-", dir=os.path.dirname(os.path.abspath(path)))
    stem = os.path.join(out, "page")
    cmd = ["pdftoppm", "-r", str(dpi), "-png", "-f", "1", "-l", "1", "-singlefile", path, stem]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S)
    if proc.returncode != 0 or not os.path.exists(stem + ".png"):
        raise RenderFailure("bad_image", f"pdftoppm could not rasterise the PDF: {proc.stderr.strip()[:300]}")
    with open(stem + ".png", "rb") as fh:
        return fh.read()
