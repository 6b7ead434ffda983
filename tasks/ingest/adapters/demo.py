"""The built-in demo corpus as a source: seeded, any size, every domain and language, nothing to download."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from storage.manifest import InputRecord
from tasks.ingest.adapters.base import Adapter, Tally
from tasks.ingest.config import DemoSource
from tasks.ingest.demo import generate_sample
from tasks.ingest.normalize import RawSample
from tasks.stage import Rejection
from vinci.version import source_hash


class DemoAdapter(Adapter):
    source: DemoSource

    def fingerprint(self) -> InputRecord:
        generator = source_hash(("tasks.ingest.demo",))
        key = f"demo:{self.source.size}:{self.source.seed}:{generator}"
        return InputRecord(
            name=self.source.name,
            kind="demo",
            uri=None,
            fingerprint=hashlib.blake2b(key.encode(), digest_size=16).hexdigest(),
        )

    def plan(self, shard_rows: int, staging: str) -> list[dict[str, Any]]:
        size = self.source.size
        return [
            {"source": self.source.name, "start": s, "stop": min(s + shard_rows, size)}
            for s in range(0, size, shard_rows)
        ]

    def read(self, spec: dict[str, Any]) -> Iterator[RawSample | Rejection | Tally]:
        for index in range(spec["start"], spec["stop"]):
            sample = generate_sample(self.source.seed, index)
            yield RawSample(
                source_id=f"{self.source.seed}-{index}",
                code=sample.code,
                language=sample.language,
                domain=sample.domain,
                subdomain=sample.subdomain,
                meta={"kind": sample.kind, "title": sample.title, "flaws": list(sample.flaws)},
            )
