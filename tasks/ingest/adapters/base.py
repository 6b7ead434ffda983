"""What every source adapter provides, and the input fingerprinting they share."""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from storage import filesystem as fsys
from storage.manifest import InputRecord
from tasks.ingest.config import Limits, SourceBase
from tasks.ingest.normalize import RawSample
from tasks.stage import Rejection, Tally

HASH_LIST_LIMIT = 1000  # inputs with more files record only their combined hash in the manifest


class Adapter(ABC):
    """Reads one source: fingerprints it, splits it into shard specs, yields raw samples for a spec."""

    def __init__(self, source: SourceBase, limits: Limits):
        self.source = source
        self.limits = limits

    @abstractmethod
    def fingerprint(self) -> InputRecord: ...

    @abstractmethod
    def plan(self, shard_rows: int, staging: str) -> list[dict[str, Any]]:
        """Shard specs (JSON-serialisable). `staging` is a folder for intermediate files, removed at the end."""

    @abstractmethod
    def read(self, spec: dict[str, Any]) -> Iterator[RawSample | Rejection | Tally]: ...


def vanished(source: SourceBase, exc: FileNotFoundError, path: str | None = None) -> FileNotFoundError:
    """The error for an input file that was there when the run was planned and is gone when a shard reads it."""
    return FileNotFoundError(
        exc.errno,
        f"source '{source.name}': a file listed when the run was planned is gone (the source changed during the "
        "run; run again to read it as it is now)",
        exc.filename or path,
    )


def _hash_file(uri: str, mode: str) -> tuple[str, int]:
    fs, path = fsys.filesystem(uri)
    if mode == "stat":
        info = fs.info(path)
        stamp = info.get("mtime") or info.get("LastModified") or info.get("ETag") or ""
        return hashlib.blake2b(f"{info.get('size')}:{stamp}".encode(), digest_size=16).hexdigest(), info["size"]
    digest = hashlib.blake2b(digest_size=16)
    size = 0
    with fs.open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def fingerprint_files(name: str, kind: str, uri: str, files: list[str], rel: list[str], mode: str) -> InputRecord:
    """Fingerprint of a set of files: per-file hashes (content or stat) combined in sorted order."""
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda f: _hash_file(f, mode), files))
    hashes = dict(zip(rel, (h for h, _ in results), strict=True))
    combined = hashlib.blake2b(json.dumps(sorted(hashes.items())).encode(), digest_size=16).hexdigest()
    return InputRecord(
        name=name,
        kind=kind,
        uri=uri,
        fingerprint=f"{mode}:{combined}",
        files=len(files),
        bytes=sum(s for _, s in results),
        hashes=hashes if len(hashes) <= HASH_LIST_LIMIT else {},
    )
