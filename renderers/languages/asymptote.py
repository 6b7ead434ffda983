"""Asymptote: `asy -safe` (no shell, no file deletion or writes outside the work dir), PDF output rasterised
with poppler at options.dpi (100 by default)."""

from __future__ import annotations

import os
import re
import subprocess
from typing import Any

from renderers.pdf import first_page_png
from renderers.result import RenderFailure, RenderOptions

POOL = "sandbox"
ERROR_LINE = re.compile(r"fig\.asy: (\d+)\.(\d+): (.*)")


def prepare(code: str, options: RenderOptions) -> dict[str, Any]:
    if not code.strip():
        raise RenderFailure("syntax", "empty Asymptote program")
    return {"code": code}


def warm() -> None:
    return None


def run(payload: dict[str, Any], options: RenderOptions, workdir: str) -> bytes:
    with open(os.path.join(workdir, "fig.asy"), "w", encoding="utf-8") as fh:
        fh.write(payload["code"])
    cmd = ["asy", "-safe", "-noV", "-nointeractiveView", "-f", "pdf", "-o", "fig", "fig.asy"]
    try:
        proc = subprocess.run(
            cmd, cwd=workdir, capture_output=True, text=True, timeout=max(1.0, options.timeout_s - 2), check=False
        )
    except subprocess.TimeoutExpired:
        raise RenderFailure("timeout", "asy did not finish within the time limit") from None
    pdf = os.path.join(workdir, "fig.pdf")
    if proc.returncode != 0 or not os.path.exists(pdf):
        output = (proc.stderr or "") + (proc.stdout or "")
        match = ERROR_LINE.search(output)
        if match:
            raise RenderFailure("syntax", f"line {match.group(1)}: {match.group(3).strip()}")
        raise RenderFailure("runtime", output.strip()[-500:] or f"asy exited with status {proc.returncode}")
    return first_page_png(pdf, options.dpi or 100)
