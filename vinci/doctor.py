"""What `vinci doctor` checks: the system tools the renderers use and the Python stack's pins."""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
from collections.abc import Iterator

from vinci.settings import mermaid_js


def _which(cmd: str) -> tuple[bool, str]:
    path = shutil.which(cmd)
    return path is not None, path or f"{cmd} not on PATH"


def _kpsewhich(name: str) -> tuple[bool, str]:
    if shutil.which("kpsewhich") is None:
        return False, "kpsewhich not on PATH (TeX Live missing)"
    out = subprocess.run(["kpsewhich", name], capture_output=True, text=True).stdout.strip()
    return bool(out), out or f"{name} not found by kpsewhich"


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def checks() -> Iterator[tuple[str, bool, str]]:
    for cmd in ("chromium", "pdflatex", "pdftoppm", "asy", "bwrap", "node"):
        yield (cmd, *_which(cmd))
    yield ("standalone.cls (LaTeX)", *_kpsewhich("standalone.cls"))
    yield ("tikz.sty (LaTeX)", *_kpsewhich("tikz.sty"))
    js = mermaid_js()
    yield ("mermaid.min.js (npm)", js.exists(), str(js))
    torch = _version("torch")
    yield ("torch 2.13.0 (CPU wheel)", bool(torch and torch.startswith("2.13.0")), torch or "not installed")
    tv = _version("torchvision")
    yield (
        "no torchvision",
        tv is None,
        "absent" if tv is None else f"torchvision {tv} breaks transformers/trl",
    )
    fastapi = _version("fastapi")
    yield ("fastapi 0.150.0 (prefect)", fastapi == "0.150.0", fastapi or "not installed")
    prefect = _version("prefect")
    yield ("prefect 3.8.8", prefect == "3.8.8", prefect or "not installed")


def missing() -> list[str]:
    return [name for name, ok, _ in checks() if not ok]


if __name__ == "__main__":  # pragma: no cover
    for name, ok, detail in checks():
        print(("ok      " if ok else "MISSING ") + f"{name:<28} {detail}")
    raise SystemExit(1 if missing() else 0)


__all__ = ["checks", "missing"]
