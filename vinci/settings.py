"""Process-wide defaults, each overridable by an environment variable."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DATA_ROOT = "data"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def data_root(explicit: str | None = None) -> str:
    """Data root URI: an explicit value, else `VINCI_DATA_ROOT`, else ./data."""
    from storage.filesystem import normalize

    return normalize(explicit or os.environ.get("VINCI_DATA_ROOT") or DEFAULT_DATA_ROOT)


def default_workers() -> int:
    """Worker processes for shard-parallel stages: `VINCI_WORKERS`, else the CPU count."""
    value = os.environ.get("VINCI_WORKERS")
    if value:
        return max(1, int(value))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def mermaid_js() -> Path:
    """The mermaid browser bundle installed by scripts/setup.sh (`VINCI_MERMAID_JS` overrides)."""
    from renderers.engine import mermaid_js as bundle

    return bundle()
