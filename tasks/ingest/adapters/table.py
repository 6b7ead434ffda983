"""Hugging Face-style table files: Parquet, JSON Lines, JSON arrays and CSV, one file or a folder of them.

Sharding follows each format's natural units so a shard never reads the whole corpus:
    parquet  row ranges (reads only the row groups that overlap)
    jsonl    byte offset + line count (one counting pass at plan time)
    json     a JSON array is streamed once at plan time into JSONL chunks under the version's _staging/
             folder (VisCodex's mcd_598k.json is 1.7 GB), then read like JSONL
    csv      row ranges
A Parquet file whose footer cannot be read (cut off, garbage), a CSV file that does not parse and a JSON file that is
not a well-formed array each become one `file_unreadable` rejection naming the file; a Parquet row group that cannot
be read becomes a rejection per row; the source's other files and row groups are read as usual.
The MCD adapter is this adapter with MCD's column names and category rules as defaults (config.McdSource).
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterator
from typing import Any

from storage import filesystem as fsys
from storage.dataset import unreadable_parquet
from storage.manifest import InputRecord
from tasks.ingest.adapters.base import Adapter, Tally, fingerprint_files, vanished
from tasks.ingest.adapters.records import ImageStore, record_to_raw
from tasks.ingest.config import TableSource
from tasks.ingest.normalize import RawSample
from tasks.stage import Rejection

FORMATS = {".parquet": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv"}
COUNT_CHUNK = 1 << 22


class NotAJsonArray(ValueError):
    pass


class TableAdapter(Adapter):
    source: TableSource

    def __init__(self, source, limits):
        super().__init__(source, limits)
        self._store: ImageStore | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_store": None}

    @property
    def store(self) -> ImageStore:
        if self._store is None:
            self._store = ImageStore(self.source.image_root)
        return self._store

    # -- files ---------------------------------------------------------------------------------------
    def _files(self) -> tuple[str, list[str]]:
        """(base folder, sorted relative paths of the data files)."""
        fs, path = fsys.filesystem(self.source.path)
        uri = fsys.normalize(self.source.path)
        if fs.isfile(path):
            return posixpath.dirname(uri), [posixpath.basename(uri)]
        if not fs.isdir(path):
            raise FileNotFoundError(f"source '{self.source.name}': {self.source.path} does not exist")
        rel = []
        for found in fs.find(path):
            r = posixpath.relpath(found, path)
            if any(p.startswith(".") for p in r.split("/")):
                continue
            if self._format(r) is not None:
                rel.append(r)
        if not rel:
            raise FileNotFoundError(f"source '{self.source.name}': no .parquet/.jsonl/.json/.csv files in {uri}")
        return uri, sorted(rel)

    def _format(self, rel: str) -> str | None:
        ext = posixpath.splitext(rel)[1].lower()
        if ext not in FORMATS:
            return None
        return FORMATS[ext] if self.source.format == "auto" else self.source.format

    def fingerprint(self) -> InputRecord:
        base, rel = self._files()
        files = [fsys.join(base, r) for r in rel]
        return fingerprint_files(self.source.name, self.source.adapter, base, files, rel, self.source.fingerprint)

    # -- plan ----------------------------------------------------------------------------------------
    def plan(self, shard_rows: int, staging: str) -> list[dict[str, Any]]:
        base, rel = self._files()
        specs: list[dict[str, Any]] = []
        for n, r in enumerate(rel):
            uri, fmt = fsys.join(base, r), self._format(r)
            common = {"source": self.source.name, "base": posixpath.dirname(uri), "rel": r}
            try:
                if fmt == "parquet":
                    ranges = _row_ranges(_parquet_rows(uri), shard_rows)
                elif fmt == "csv":
                    ranges = _row_ranges(_csv_rows(uri), shard_rows)
                elif fmt == "jsonl":
                    ranges = _line_ranges(uri, shard_rows)
                else:
                    staged = _stage_json_array(uri, fsys.join(staging, f"{n:05d}"), shard_rows)
                    specs += [{**common, "format": "jsonl", **s} for s in staged]
                    continue
            except Exception as exc:
                if not _unparsable(fmt, exc):
                    raise
                # one bad file (a cut-off download, garbage) is rejected; the source's other files are read
                specs.append({**common, "format": fmt, "file": uri, "unreadable": f"{type(exc).__name__}: {exc}"})
                continue
            specs += [{**common, "format": fmt, "file": uri, **s} for s in ranges]
        return specs

    # -- read ----------------------------------------------------------------------------------------
    def read(self, spec: dict[str, Any]) -> Iterator[RawSample | Rejection | Tally]:
        rel = spec["rel"]
        if "unreadable" in spec:
            kind = {"parquet": "Parquet", "csv": "CSV", "json": "JSON array"}.get(spec["format"], spec["format"])
            detail = f"{spec['file']} is not a readable {kind} file, none of its rows were read: {spec['unreadable']}"
            yield Rejection("file_unreadable", detail, {"source_id": rel})
            return
        try:
            yield from self._read(spec, rel)
        except FileNotFoundError as exc:
            raise vanished(self.source, exc, spec["file"]) from exc

    def _read(self, spec: dict[str, Any], rel: str) -> Iterator[RawSample | Rejection | Tally]:
        for index, record in _records(spec):
            source_id = f"{rel}#{index}"
            if isinstance(record, Rejection):
                record.row.setdefault("source_id", source_id)
                yield record
                continue
            yield record_to_raw(record, source_id, self.source, self.store, spec["base"])


def _unparsable(fmt: str | None, exc: BaseException) -> bool:
    """The file's content is broken (rejected as a file) rather than the storage failing (raised, retried)."""
    if fmt == "parquet":
        return unreadable_parquet(exc)
    if isinstance(exc, OSError):
        return False
    if fmt == "csv":
        import polars as pl

        return isinstance(exc, pl.exceptions.PolarsError)
    if fmt == "json":
        import ijson

        return isinstance(exc, ijson.JSONError | NotAJsonArray)
    return False


def _row_ranges(total: int, shard_rows: int) -> list[dict[str, int]]:
    return [{"start": s, "stop": min(s + shard_rows, total)} for s in range(0, total, shard_rows)]


def _parquet_rows(uri: str) -> int:
    import pyarrow.parquet as pq

    fs, path = fsys.filesystem(uri)
    with fs.open(path, "rb") as fh:
        return pq.ParquetFile(fh).metadata.num_rows


def _csv_rows(uri: str) -> int:
    import polars as pl

    fs, path = fsys.filesystem(uri)
    with fs.open(path, "rb") as fh:
        return pl.read_csv(fh, infer_schema=False).height


def _line_ranges(uri: str, shard_rows: int) -> list[dict[str, int]]:
    """Byte offset and line count of every run of `shard_rows` lines (one streaming pass)."""
    fs, path = fsys.filesystem(uri)
    ranges: list[dict[str, int]] = []
    start_offset, start_line, line, pos, last = 0, 0, 0, 0, b"\n"
    with fs.open(path, "rb") as fh:
        while chunk := fh.read(COUNT_CHUNK):
            n = chunk.count(b"\n")
            if line + n - start_line < shard_rows:
                line += n
            else:
                i = -1
                for _ in range(n):
                    i = chunk.index(b"\n", i + 1)
                    line += 1
                    if line - start_line == shard_rows:
                        ranges.append({"offset": start_offset, "lines": shard_rows, "first_line": start_line})
                        start_offset, start_line = pos + i + 1, line
            pos += len(chunk)
            last = chunk[-1:]
    if last != b"\n":
        line += 1  # a final line without a newline
    if line > start_line:
        ranges.append({"offset": start_offset, "lines": line - start_line, "first_line": start_line})
    return ranges


def _stage_json_array(uri: str, staging: str, shard_rows: int) -> list[dict[str, Any]]:
    """Stream a JSON array into JSONL chunks of `shard_rows` records; resumable (reuses a finished staging)."""
    import ijson

    done_uri = fsys.join(staging, "_done.json")
    if fsys.exists(done_uri):
        return json.loads(fsys.read_text(done_uri))
    fs, path = fsys.filesystem(uri)
    with fs.open(path, "rb") as fh:
        head = fh.read(4096).lstrip()
    if not head.startswith(b"["):
        raise NotAJsonArray(f"{uri}: expected a JSON array of records (or use .jsonl for one record per line)")
    specs: list[dict[str, Any]] = []
    buffer: list[str] = []

    def flush() -> None:
        if not buffer:
            return
        name = fsys.join(staging, f"chunk-{len(specs):05d}.jsonl")
        fsys.write_atomic(name, ("\n".join(buffer) + "\n").encode())
        first = sum(s["lines"] for s in specs)
        specs.append({"file": name, "offset": 0, "lines": len(buffer), "first_line": first})
        buffer.clear()

    with fs.open(path, "rb") as fh:
        for item in ijson.items(fh, "item", use_float=True):
            buffer.append(json.dumps(item, ensure_ascii=False))
            if len(buffer) == shard_rows:
                flush()
    flush()
    fsys.write_atomic(done_uri, json.dumps(specs).encode())
    return specs


def _records(spec: dict[str, Any]) -> Iterator[tuple[int, Any]]:
    """(index in the original file, record or Rejection) for the rows of a spec."""
    fmt = spec["format"]
    fs, path = fsys.filesystem(spec["file"])
    if fmt == "parquet":
        yield from _parquet_records(fs, path, spec["start"], spec["stop"])
    elif fmt == "csv":
        import polars as pl

        with fs.open(path, "rb") as fh:
            frame = pl.read_csv(fh, infer_schema=False).slice(spec["start"], spec["stop"] - spec["start"])
        yield from enumerate(frame.iter_rows(named=True), start=spec["start"])
    else:
        with fs.open(path, "rb") as fh:
            fh.seek(spec["offset"])
            for k in range(spec["lines"]):
                line = fh.readline()
                index = spec["first_line"] + k
                if not line.strip():
                    continue
                try:
                    yield index, json.loads(line)
                except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                    yield index, Rejection("record_malformed", f"line is not valid JSON: {exc}")


def _parquet_records(fs, path: str, start: int, stop: int) -> Iterator[tuple[int, Any]]:
    import pyarrow.parquet as pq

    def lost(lo: int, hi: int, what: str, exc: BaseException) -> Iterator[tuple[int, Rejection]]:
        detail = f"{path}: {what} cannot be read: {type(exc).__name__}: {exc}"
        return ((i, Rejection("file_unreadable", detail)) for i in range(lo, hi))

    with fs.open(path, "rb") as fh:
        try:
            pf = pq.ParquetFile(fh)
        except Exception as exc:
            if not unreadable_parquet(exc):
                raise
            yield from lost(start, stop, "the file", exc)  # it was readable when the run was planned
            return
        offset = 0
        for g in range(pf.metadata.num_row_groups):
            n = pf.metadata.row_group(g).num_rows
            lo, hi = max(start, offset), min(stop, offset + n)
            if lo < hi:
                try:
                    table = pf.read_row_group(g).slice(lo - offset, hi - lo)
                except Exception as exc:
                    if not unreadable_parquet(exc):
                        raise
                    yield from lost(lo, hi, f"row group {g}", exc)  # a damaged part: its rows, not the shard
                else:
                    yield from enumerate(table.to_pylist(), start=lo)
            offset += n
            if offset >= stop:
                break
