"""The ingest stage: every configured source, read into the one sample schema, sharded and resumable."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from schemas.sample import sample_id
from storage import filesystem as fsys
from storage.dataset import DatasetVersion
from storage.manifest import InputRecord
from tasks.ingest.adapters import Adapter, adapter_for
from tasks.ingest.config import IngestConfig
from tasks.ingest.normalize import RawSample, normalize
from tasks.stage import Rejection, Stage, Tally


class IngestStage(Stage):
    name = "ingest"
    schema_stages = ()
    code_modules = ("tasks.ingest", "tasks.stage", "schemas", "training.prompts")
    config: IngestConfig

    def __init__(self, config: IngestConfig, root: str):
        super().__init__(config, root)
        self._adapters: dict[str, Adapter] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_adapters": None}

    @property
    def adapters(self) -> dict[str, Adapter]:
        if self._adapters is None:
            self._adapters = {s.name: adapter_for(s, self.config.limits) for s in self.config.sources}
        return self._adapters

    def inputs(self) -> list[InputRecord]:
        return [a.fingerprint() for a in self.adapters.values()]

    def shard_specs(self, version: DatasetVersion) -> list[dict[str, Any]]:
        specs: list[dict[str, Any]] = []
        for name, adapter in self.adapters.items():
            specs += adapter.plan(self.config.shard_rows, version.path("_staging", name))
        return specs

    def process(self, spec: dict[str, Any]) -> Iterator[dict[str, Any] | Rejection | Tally]:
        adapter = self.adapters[spec["source"]]
        source = adapter.source
        for item in adapter.read(spec):
            if isinstance(item, Tally):
                yield item
                continue
            files = item.meta.get("files") if isinstance(item, RawSample) else _meta_files(item)
            if isinstance(item, RawSample):
                item = normalize(item, source, self.config.limits)
            if isinstance(item, Rejection):
                _complete(item, source.name)
            if files:
                yield Tally("files_in_rejections" if isinstance(item, Rejection) else "files_in_rows", len(files))
            yield item

    def cleanup(self, version: DatasetVersion) -> None:
        fsys.remove_tree(version.path("_staging"))


def _meta_files(rejection: Rejection) -> list[str] | None:
    meta = rejection.row.get("meta")
    return meta.get("files") if isinstance(meta, dict) else None


def _complete(rejection: Rejection, source: str) -> None:
    """Give an adapter's rejection the row identity every rejected row carries."""
    row = rejection.row
    row["source"] = source
    if row.get("source_id") is not None:
        row["source_id"] = str(row["source_id"])
        row["id"] = sample_id(source, row["source_id"])
    if isinstance(row.get("meta"), dict):
        row["meta"] = json.dumps(row["meta"], sort_keys=True, default=str)
