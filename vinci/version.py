"""Code version of a stage: package version, git commit, and a hash of the source that defines its output."""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.metadata
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@functools.cache
def package_version() -> str:
    try:
        return importlib.metadata.version("vinci-pipeline")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


@functools.cache
def git_revision() -> dict[str, object]:
    if not (PROJECT_ROOT / ".git").exists():
        return {}
    try:
        commit = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"commit": commit or None, "dirty": bool(status.strip())}


def _module_files(name: str) -> list[Path]:
    module = importlib.import_module(name)
    origin = getattr(module, "__file__", None)
    if origin is None:
        return []
    path = Path(origin)
    if path.name == "__init__.py":
        return sorted(p for p in path.parent.rglob("*.py") if "__pycache__" not in p.parts)
    return [path]


@functools.cache
def source_hash(modules: tuple[str, ...]) -> str:
    """Hash of the source files of the given modules (packages include every file below them)."""
    digest = hashlib.blake2b(digest_size=16)
    files = sorted({f for m in modules for f in _module_files(m)})
    for f in files:
        try:
            rel = f.relative_to(PROJECT_ROOT)
        except ValueError:
            rel = Path(f.name)
        digest.update(str(rel).encode() + b"\0" + f.read_bytes() + b"\0")
    return digest.hexdigest()


def code_version(modules: tuple[str, ...]) -> dict[str, object]:
    return {
        "package": package_version(),
        **git_revision(),
        "source_hash": source_hash(tuple(sorted(modules))),
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
    }
