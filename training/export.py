"""Export a dataset to the files a training tool reads as they are: TRL, EasyR1 or ms-swift.

    trl       OUT/part-00000.parquet ...   id, domain, language, task, images, prompt + completion (or messages)
    easyr1    OUT/data/part-00000.parquet  problem ("<image>" + instruction), answer, images, id, domain, ...
    ms-swift  OUT/data.jsonl               {"messages": [...], "images": ["/abs/OUT/images/ab/<id>.png"], ...}
              OUT/images/<id[:2]>/<id>.<ext>
    every     OUT/export.json              format, source dataset, counts (written, skipped by reason), columns

The chat form of a row comes from `training.conversation` only. Parquet outputs store images in the Hugging Face
`Image` encoding and carry the `huggingface` schema metadata that `datasets` itself writes for a list of images,
so `datasets.load_dataset("parquet", ...)` decodes `images` to PIL images. EasyR1's shards live in `OUT/data/`
because EasyR1, given a folder, loads every file in it with the reader of the first file it lists.

The input is read shard by shard in record batches (never a whole dataset); each output file is written under a
temporary name and renamed (or uploaded) when complete, and `export.json` is written last: an export without it
did not finish. Rows without image bytes, with bytes that are no image, or (EasyR1, ms-swift) whose text already
contains the `<image>` placeholder are skipped and counted by reason.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

from schemas.sample import IMAGE_TYPE, SPLITS
from storage import filesystem as fsys
from storage.dataset import ROW_GROUP_ROWS, DatasetVersion, resolve_dataset, shard_name
from storage.manifest import utc_now
from training.conversation import answer, messages, prompt_completion

FORMATS: tuple[str, ...] = ("trl", "easyr1", "ms-swift")
TRL_STYLES: tuple[str, ...] = ("prompt-completion", "messages")
IMAGE_TOKEN = "<image>"  # EasyR1's and ms-swift's image placeholder

# What an export reads from each input row.
READ_COLUMNS: tuple[str, ...] = ("id", "domain", "language", "task", "instruction", "code", "image", "split")
BATCH_ROWS = ROW_GROUP_ROWS
CODE_MODULES = ("training.export", "training.conversation", "training.prompts")

# Skip reasons, as counted in export.json.
NO_IMAGE_BYTES = "no_image_bytes"
BAD_IMAGE = "bad_image"
IMAGE_TOKEN_IN_TEXT = "image_token_in_text"


class ExportError(ValueError):
    """The export cannot start as asked (unknown format, OUT not empty, ...)."""


# -- columns and the Hugging Face metadata ------------------------------------------------------------------

_STRING = pa.string()
IMAGES_TYPE = pa.list_(pa.field("element", IMAGE_TYPE))
TURN_TYPE = pa.struct([pa.field("role", _STRING), pa.field("content", _STRING)])
TURNS_TYPE = pa.list_(pa.field("element", TURN_TYPE))
_KEY_COLUMNS = (("id", _STRING), ("domain", _STRING), ("language", _STRING), ("task", _STRING))


def _feature(type_: pa.DataType) -> dict[str, Any]:
    """The `datasets` feature dict of a column (what `Features.to_dict()` gives for it); images become `Image`."""
    if type_.equals(IMAGE_TYPE):
        return {"_type": "Image"}
    if pa.types.is_list(type_):
        return {"feature": _feature(type_.value_type), "_type": "List"}
    if pa.types.is_struct(type_):
        return {type_.field(i).name: _feature(type_.field(i).type) for i in range(type_.num_fields)}
    if pa.types.is_string(type_):
        return {"dtype": "string", "_type": "Value"}
    raise TypeError(f"no datasets feature for {type_}")  # pragma: no cover - only the types above are exported


def hf_schema(fields: list[tuple[str, pa.DataType]]) -> pa.Schema:
    """Arrow schema with the `huggingface` metadata `datasets` writes for the same features (so it decodes images)."""
    features = {name: _feature(type_) for name, type_ in fields}
    metadata = {b"huggingface": json.dumps({"info": {"features": features}}).encode()}
    return pa.schema([pa.field(name, type_) for name, type_ in fields], metadata=metadata)


def output_schema(fmt: str, trl_style: str = "prompt-completion") -> pa.Schema | None:
    """The Parquet schema of a format's shards (None for ms-swift, which writes JSONL)."""
    if fmt == "trl":
        if trl_style == "prompt-completion":
            chat = [("prompt", TURNS_TYPE), ("completion", TURNS_TYPE)]
        else:
            chat = [("messages", TURNS_TYPE)]
        return hf_schema([*_KEY_COLUMNS, ("images", IMAGES_TYPE), *chat])
    if fmt == "easyr1":
        return hf_schema([("problem", _STRING), ("answer", _STRING), ("images", IMAGES_TYPE), *_KEY_COLUMNS])
    return None


MS_SWIFT_COLUMNS = ["messages", "images", "id", "language", "domain", "task"]


# -- images -------------------------------------------------------------------------------------------------

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
)
_PIL_EXTENSIONS = {"jpeg": "jpg", "mpo": "jpg", "tiff": "tiff", "jpeg2000": "jp2"}


def image_extension(data: bytes) -> str | None:
    """File extension for encoded image bytes, from their signature (PIL for rarer formats); None if no image."""
    for magic, ext in _SIGNATURES:
        if data.startswith(magic):
            return ext
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            name = (image.format or "").lower()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None
    return _PIL_EXTENSIONS.get(name, name) or None


# -- the source dataset -------------------------------------------------------------------------------------


def resolve_source(source: str, data_root: str | None = None) -> DatasetVersion:
    """A stage name (its latest finished version under the data root), `stage@version`, or a version folder / URI."""
    from vinci.settings import data_root as resolve_root

    return resolve_dataset(source, resolve_root(data_root))


def _batches(uri: str, split: str | None) -> Iterator[tuple[int, pa.RecordBatch]]:
    """(rows read, record batch filtered to `split`) for one shard, with only the columns an export reads."""
    fs, path = fsys.filesystem(uri)
    with fs.open(path, "rb") as fh:
        shard = pq.ParquetFile(fh)
        names = shard.schema_arrow.names
        missing = [c for c in READ_COLUMNS if c not in names and (c != "split" or split is not None)]
        if missing:
            raise ExportError(f"{uri} lacks the columns {', '.join(missing)}; is it a sample dataset?")
        columns = [c for c in READ_COLUMNS if c in names]
        for batch in shard.iter_batches(batch_size=BATCH_ROWS, columns=columns):
            read = batch.num_rows
            if split is not None:
                batch = batch.filter(pc.equal(batch.column("split"), split))
            yield read, batch


# -- atomic output files ------------------------------------------------------------------------------------


class _Staged:
    """A local file that becomes `uri` only when published: renamed over it (local) or uploaded (object store)."""

    def __init__(self, uri: str):
        self.uri = uri
        self._fs, self._path = fsys.filesystem(uri)
        self.local = isinstance(self._fs, LocalFileSystem)
        if self.local:
            folder, name = os.path.split(self._path)
            os.makedirs(folder, exist_ok=True)
            self.tmp = os.path.join(folder, f".{name}.tmp-{uuid.uuid4().hex[:12]}")
        else:
            fd, self.tmp = tempfile.mkstemp(prefix="vinci-export-")
            os.close(fd)

    def publish(self) -> None:
        if self.local:
            with open(self.tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(self.tmp, self._path)
            _fsync_dir(os.path.dirname(self._path))
        else:
            self._fs.put_file(self.tmp, self._path)
            os.unlink(self.tmp)

    def discard(self) -> None:
        if os.path.exists(self.tmp):
            os.unlink(self.tmp)


def _fsync_dir(folder: str) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_image(path: str, data: bytes) -> None:
    """Temp name + rename, so a reader never sees half an image (no fsync per image: export.json comes last)."""
    fsys.write_atomic(path, data, fsync=False)


# -- writers ------------------------------------------------------------------------------------------------


def _keys(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "domain": row["domain"], "language": row["language"], "task": row["task"]}


def _trl_prompt_completion(row: dict[str, Any], image: dict[str, Any]) -> dict[str, Any] | str:
    return {**_keys(row), "images": [image], **prompt_completion(row)}


def _trl_messages(row: dict[str, Any], image: dict[str, Any]) -> dict[str, Any] | str:
    return {**_keys(row), "images": [image], "messages": messages(row)}


def _easyr1(row: dict[str, Any], image: dict[str, Any]) -> dict[str, Any] | str:
    problem = messages(row, image_token=IMAGE_TOKEN)[0]["content"]
    if problem.count(IMAGE_TOKEN) != 1:  # EasyR1 splits the problem at every placeholder
        return IMAGE_TOKEN_IN_TEXT
    return {"problem": problem, "answer": answer(row), "images": [image], **_keys(row)}


class _ParquetSink:
    """Parquet shards in `folder`: one per input shard that kept rows, numbered in order, each staged then published."""

    def __init__(self, folder: str, schema: pa.Schema, build):
        self.folder = folder
        self.schema = schema
        self.columns = schema.names
        self._build = build
        self._files: list[str] = []
        self._records: list[dict[str, Any]] = []
        self._staged: _Staged | None = None
        self._writer: pq.ParquetWriter | None = None

    def add(self, row: dict[str, Any], image: dict[str, Any], ext: str) -> str | None:
        record = self._build(row, image)
        if isinstance(record, str):
            return record
        self._records.append(record)
        return None

    def flush(self) -> None:
        if not self._records:
            return
        if self._writer is None:
            self._staged = _Staged(fsys.join(self.folder, f"{shard_name(len(self._files))}.parquet"))
            self._writer = pq.ParquetWriter(self._staged.tmp, self.schema, compression="zstd")
        self._writer.write_table(pa.Table.from_pylist(self._records, schema=self.schema), row_group_size=BATCH_ROWS)
        self._records = []

    def end_shard(self) -> None:
        self.flush()
        if self._writer is None or self._staged is None:
            return
        self._writer.close()
        self._writer = None
        self._staged.publish()
        self._files.append(self._staged.uri)
        self._staged = None

    def finish(self) -> list[str]:
        self.end_shard()
        if not self._files:  # an export with no rows still has one (empty) shard, so readers see the columns
            staged = _Staged(fsys.join(self.folder, f"{shard_name(0)}.parquet"))
            pq.write_table(self.schema.empty_table(), staged.tmp, compression="zstd")
            staged.publish()
            self._files.append(staged.uri)
        return self._files

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._staged is not None:
            self._staged.discard()
            self._staged = None


_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


class _MsSwiftSink:
    """`data.jsonl` (staged, published at the end) and one image file per row under `images/<id[:2]>/`."""

    columns = MS_SWIFT_COLUMNS

    def __init__(self, out: str):
        self.out = out
        self.images = Counter()
        self._staged = _Staged(fsys.join(out, "data.jsonl"))
        self._fh = open(self._staged.tmp, "w", encoding="utf-8")  # noqa: SIM115 - closed in finish/abort

    def _image_path(self, row_id: str, data: bytes, ext: str) -> str:
        name = row_id if _SAFE_NAME.fullmatch(row_id) else hashlib.blake2b(row_id.encode(), digest_size=16).hexdigest()
        path = os.path.join(self.out, "images", name[:2], f"{name}.{ext}")
        if not os.path.exists(path):
            _write_image(path, data)
            self.images["written"] += 1
            return path
        with open(path, "rb") as fh:
            same = fh.read() == data
        if same:  # the same row id twice (e.g. a direct and a refine row of one image)
            self.images["reused"] += 1
            return path
        digest = hashlib.blake2b(data, digest_size=8).hexdigest()
        return self._image_path(f"{name}-{digest}", data, ext)

    def add(self, row: dict[str, Any], image: dict[str, Any], ext: str) -> str | None:
        turns = messages(row, image_token=IMAGE_TOKEN)
        if sum(turn["content"].count(IMAGE_TOKEN) for turn in turns) != 1:  # ms-swift pairs tags with images
            return IMAGE_TOKEN_IN_TEXT
        path = self._image_path(row["id"], image["bytes"], ext)
        record = {"messages": turns, "images": [path], **{k: row[k] for k in ("id", "language", "domain", "task")}}
        self._fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        return None

    def flush(self) -> None:
        pass

    def end_shard(self) -> None:
        self._fh.flush()

    def finish(self) -> list[str]:
        self._fh.close()
        self._staged.publish()
        return [self._staged.uri]

    def abort(self) -> None:
        self._fh.close()
        self._staged.discard()


# -- the export ---------------------------------------------------------------------------------------------


def _check_options(fmt: str, split: str | None, trl_style: str) -> None:
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; expected one of {' | '.join(FORMATS)}")
    if split is not None and split not in SPLITS:
        raise ExportError(f"unknown split {split!r}; expected one of {' | '.join(SPLITS)}")
    if trl_style not in TRL_STYLES:
        raise ExportError(f"unknown TRL style {trl_style!r}; expected one of {' | '.join(TRL_STYLES)}")


def _inside(child: str, parent: str) -> bool:
    sep = "/" if fsys.is_remote(parent) else os.sep
    return child == parent or child.startswith(parent.rstrip(sep) + sep)


def _is_export_entry(name: str) -> bool:
    """Names an export writes in OUT (and temporaries of an interrupted one)."""
    return (
        name in ("export.json", "data.jsonl", "images", "data")
        or re.fullmatch(r"part-\d{5,}\.parquet", name) is not None
        or (name.startswith(".") and ".tmp-" in name)
    )


def _prepare_out(out: str, overwrite: bool) -> None:
    """Refuse a non-empty OUT unless `overwrite`; then clear an earlier export (never files an export did not write)."""
    fs, path = fsys.filesystem(out)
    if fs.exists(path) and not fs.isdir(path):
        raise ExportError(f"{out} is a file; give a folder for the export")
    names = fsys.list_names(out)
    if not names:
        return
    if not overwrite:
        raise ExportError(f"{out} is not empty ({len(names)} entries); pass --overwrite to replace an earlier export")
    foreign = [n for n in names if not _is_export_entry(n)]
    if foreign:
        shown = ", ".join(foreign[:5]) + (" ..." if len(foreign) > 5 else "")
        raise ExportError(f"{out} holds files that no export writes ({shown}); not deleting them with --overwrite")
    if "export.json" in names:  # first, so a half-cleared folder never looks like a finished export
        fsys.remove_tree(fsys.join(out, "export.json"))
    for name in names:
        fsys.remove_tree(fsys.join(out, name))


def export_dataset(
    source: str,
    fmt: str,
    out: str,
    *,
    split: str | None = None,
    trl_style: str = "prompt-completion",
    overwrite: bool = False,
    data_root: str | None = None,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Export a dataset (stage name or version folder/URI) to `out` in `fmt`; returns what it wrote to export.json.

    Raises ExportError for options that cannot work and storage.DatasetNotFound when the dataset does not exist.
    """
    from vinci.progress import progress_bar
    from vinci.version import code_version

    started = time.monotonic()
    _check_options(fmt, split, trl_style)
    dataset = resolve_source(source, data_root)
    manifest = dataset.manifest()
    out = fsys.normalize(out)
    if fmt == "ms-swift" and fsys.is_remote(out):
        raise ExportError("ms-swift reads image files by path: give a local folder for OUT")
    if _inside(out, dataset.uri) or _inside(dataset.uri, out):
        raise ExportError(f"OUT {out} overlaps the dataset {dataset.uri}")
    _prepare_out(out, overwrite)

    if fmt == "ms-swift":
        sink: _ParquetSink | _MsSwiftSink = _MsSwiftSink(out)
    elif fmt == "trl":
        build = _trl_prompt_completion if trl_style == "prompt-completion" else _trl_messages
        sink = _ParquetSink(out, output_schema(fmt, trl_style), build)
    else:
        sink = _ParquetSink(fsys.join(out, "data"), output_schema(fmt), _easyr1)

    counts: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    by_domain: Counter[str] = Counter()
    by_task: Counter[str] = Counter()
    shards = dataset.file_uris()
    try:
        with progress_bar(len(shards), f"export {fmt}", progress) as bar:
            for uri in shards:
                for read, batch in _batches(uri, split):
                    counts["read"] += read
                    counts["filtered_by_split"] += read - batch.num_rows
                    for row in batch.to_pylist():
                        image = row.get("image") or {}
                        data = image.get("bytes")
                        ext = image_extension(data) if data else None
                        reason = (NO_IMAGE_BYTES if not data else BAD_IMAGE) if ext is None else None
                        reason = reason or sink.add(row, {"bytes": data, "path": image.get("path")}, ext or "")
                        if reason:
                            skipped[reason] += 1
                            continue
                        counts["rows"] += 1
                        by_domain[row["domain"]] += 1
                        by_task[row["task"]] += 1
                    sink.flush()
                sink.end_shard()
                bar.advance(1, rows=counts["rows"])
        files = sink.finish()
    except BaseException:
        sink.abort()
        raise

    summary: dict[str, Any] = {
        "format": fmt,
        **({"trl_style": trl_style} if fmt == "trl" else {}),
        "source": {"stage": manifest.stage, "version": manifest.version, "uri": dataset.uri, "rows": manifest.rows},
        "split": split,
        "out": out,
        "files": [f[len(out) + 1 :] for f in files],
        "columns": list(sink.columns),
        "counts": {
            "read": counts["read"],
            "filtered_by_split": counts["filtered_by_split"],
            "rows": counts["rows"],
            "skipped": sum(skipped.values()),
            "skipped_by_reason": dict(sorted(skipped.items())),
        },
        "rows_by_domain": dict(sorted(by_domain.items())),
        "rows_by_task": dict(sorted(by_task.items())),
    }
    if isinstance(sink, _MsSwiftSink):
        summary["images"] = {"folder": "images", "written": sink.images["written"], "reused": sink.images["reused"]}
    summary["code"] = code_version(CODE_MODULES)
    summary["created_at"] = utc_now()
    summary["seconds"] = round(time.monotonic() - started, 3)
    fsys.write_atomic(fsys.join(out, "export.json"), (json.dumps(summary, indent=2) + "\n").encode())
    return summary
