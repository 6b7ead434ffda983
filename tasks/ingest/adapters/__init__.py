"""Source adapters, by the `adapter` name used in ingest configs. Adding a source kind: one module + one line."""

from __future__ import annotations

from tasks.ingest.adapters.base import Adapter, Tally
from tasks.ingest.config import Limits, SourceBase


def _registry() -> dict[str, type[Adapter]]:
    from tasks.ingest.adapters.demo import DemoAdapter
    from tasks.ingest.adapters.folder import FolderAdapter
    from tasks.ingest.adapters.table import TableAdapter

    return {"demo": DemoAdapter, "folder": FolderAdapter, "table": TableAdapter, "mcd": TableAdapter}


def adapter_for(source: SourceBase, limits: Limits) -> Adapter:
    adapter = getattr(source, "adapter", None)
    registry = _registry()
    if adapter not in registry:
        raise ValueError(f"unknown adapter {adapter!r}; known: {', '.join(sorted(registry))}")
    return registry[adapter](source, limits)


__all__ = ["Adapter", "Tally", "adapter_for"]
