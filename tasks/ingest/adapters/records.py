"""Turning one record of a table-like source (a dict) into a RawSample: column detection, chats, images."""

from __future__ import annotations

import base64
import zipfile
from typing import Any

from schemas.languages import canonical_language
from storage import filesystem as fsys
from tasks.ingest.config import TableSource
from tasks.ingest.conversation import clean_instruction, extract_code, split_conversation
from tasks.ingest.normalize import RawSample
from tasks.stage import Rejection

CANDIDATES: dict[str, tuple[str, ...]] = {
    "code": ("code", "svg", "html", "tikz", "latex", "smiles", "source_code", "answer", "output", "text"),
    "image": ("image", "images", "img", "png", "screenshot", "image_path", "file_name"),
    "instruction": ("instruction", "prompt", "question", "query"),
    "messages": ("messages", "conversations", "conversation"),
    "id": ("id", "uid", "sample_id", "idx", "key"),
    "language": ("language", "lang", "code_language"),
    "domain": ("domain",),
    "subdomain": ("subdomain", "type", "chart_type"),
    "split": ("split",),
    "category": ("category",),
}


class ImageStore:
    """Reads image files that records name by path: relative to a folder, or inside a .zip archive."""

    def __init__(self, root: str | None):
        self.root = fsys.normalize(root) if root else None
        self._zip: zipfile.ZipFile | None = None

    def read(self, path: str, base: str) -> bytes:
        if self.root and self.root.endswith(".zip"):
            if self._zip is None:
                fs, p = fsys.filesystem(self.root)
                self._zip = zipfile.ZipFile(fs.open(p, "rb"))
            return self._zip.read(path.lstrip("/"))
        if fsys.is_remote(path) or path.startswith("/"):
            return fsys.read_bytes(path)
        return fsys.read_bytes(fsys.join(self.root or base, path))


def _is_text(value: str) -> bool:
    """False for strings that UTF-8 cannot hold (lone surrogates from JSON escapes such as "\\ud800")."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _column(record: dict[str, Any], field: str, configured: str | None) -> Any:
    if configured is not None:
        return record.get(configured)
    for name in CANDIDATES[field]:
        if name in record:
            return record[name]
    return None


def _image_value(value: Any, source: TableSource) -> tuple[Any, Rejection | None]:
    """Single image value out of a record's image field; lists of several are rejected or cut to the first."""
    if isinstance(value, list | tuple):
        values = [v for v in value if v is not None]
        if not values:
            return None, None
        if len(values) > 1 and source.multiple_images == "reject":
            return None, Rejection("multiple_images", f"record has {len(values)} images; expected one")
        return values[0], None
    return value, None


def load_image(value: Any, store: ImageStore, base: str) -> tuple[bytes | None, str | None]:
    """(bytes, path) for an image given as HF struct, raw bytes, a data: URI or a path. Raises OSError."""
    if value is None:
        return None, None
    if isinstance(value, dict):
        data, path = value.get("bytes"), value.get("path")
        if data is not None:
            return bytes(data), path
        if path:
            return store.read(path, base), path
        return None, None
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value), None
    if isinstance(value, str):
        if value.startswith("data:image/"):
            header, _, payload = value.partition(",")
            data = base64.b64decode(payload) if ";base64" in header else payload.encode()
            return data, None
        return store.read(value, base), value
    raise OSError(f"unsupported image value of type {type(value).__name__}")


def record_to_raw(
    record: Any, source_id: str, source: TableSource, store: ImageStore, base: str
) -> RawSample | Rejection:
    """RawSample for one record; I/O and structure problems become rejections with a reason."""
    if not isinstance(record, dict):
        return Rejection(
            "record_malformed", f"expected an object, got {type(record).__name__}", {"source_id": source_id}
        )
    cols = source.columns
    id_value = _column(record, "id", cols.id)
    if id_value is not None and str(id_value).strip():
        if not _is_text(str(id_value)):
            return Rejection("record_malformed", f"id {id_value!r} is not valid Unicode text", {"source_id": source_id})
        source_id = str(id_value)
    partial: dict[str, Any] = {"source_id": source_id}
    meta: dict[str, Any] = {}

    domain = _column(record, "domain", cols.domain)
    language = canonical_language(_column(record, "language", cols.language))
    subdomain = _column(record, "subdomain", cols.subdomain)
    category = _column(record, "category", cols.category)
    if category is not None:
        meta["category"] = category
        rule = source.categories.get(str(category).strip().lower())
        if rule is None and source.categories and source.unknown_category == "reject":
            return Rejection("category_unknown", f"category {category!r} has no rule", partial)
        if rule is not None:
            if rule.exclude:
                return Rejection("category_excluded", f"category {category!r} is excluded by the config", partial)
            domain = rule.domain or domain
            language = rule.language or language
            subdomain = rule.subdomain or subdomain
    language = source.language or language

    instruction = _column(record, "instruction", cols.instruction)
    code = _column(record, "code", cols.code) if cols.messages is None else None
    messages = _column(record, "messages", cols.messages) if code is None else None
    fence_language = None
    if messages is not None:
        user, answer = split_conversation(messages)
        if user is None and answer is None:
            return Rejection("record_malformed", "messages has no user or assistant turn", partial)
        instruction = instruction or user
        code, fence_language = extract_code(answer, language)
    instruction = clean_instruction(instruction if isinstance(instruction, str) else None)
    if code is not None and not isinstance(code, str | bytes):  # a number or a list is not code: wrong column?
        detail = f"the code field holds {type(code).__name__} {str(code)[:80]!r}, not text; check columns.code"
        return Rejection("code_not_text", detail, {**partial, "code": str(code)[:200]})

    image, problem = _image_value(_column(record, "image", cols.image), source)
    if problem is not None:
        problem.row = {**partial, "code": code}
        return problem
    try:
        image_bytes, image_path = load_image(image, store, base)
    except (OSError, KeyError, ValueError) as exc:
        return Rejection("image_missing", f"{type(exc).__name__}: {exc}", {**partial, "code": code})

    return RawSample(
        source_id=source_id,
        code=code,
        language=language or fence_language,
        domain=str(domain) if domain else None,
        subdomain=str(subdomain) if subdomain else None,
        instruction=instruction,
        image_bytes=image_bytes,
        image_path=image_path,
        split=_column(record, "split", cols.split),
        meta=meta,
    )
