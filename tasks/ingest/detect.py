"""Turning a command-line argument (a path or `demo[:SIZE[:SEED]]`) into a source config."""

from __future__ import annotations

import os
import re
from typing import Any

from schemas.languages import EXTENSION_LANGUAGES
from storage import filesystem as fsys

TABLE_EXTENSIONS = (".parquet", ".jsonl", ".ndjson", ".json", ".csv")


def _name_from_path(path: str) -> str:
    base = os.path.basename(fsys.normalize(path).rstrip("/")) or "source"
    base = os.path.splitext(base)[0]
    return re.sub(r"[^a-z0-9_.-]+", "-", base.lower()).strip("-.") or "source"


def _looks_like_mcd(uri: str) -> bool:
    """A JSON array whose first record has `messages` and `category` (VisCodex MCD)."""
    try:
        import ijson

        fs, path = fsys.filesystem(uri)
        with fs.open(path, "rb") as fh:
            first = next(ijson.items(fh, "item", use_float=True), None)
    except Exception:  # noqa: BLE001 - anything unreadable is simply not MCD
        return False
    return isinstance(first, dict) and "messages" in first and "category" in first


def detect_adapter(uri: str) -> str:
    fs, path = fsys.filesystem(uri)
    if not fs.exists(path):
        raise FileNotFoundError(f"{uri} does not exist")
    if fs.isfile(path):
        ext = os.path.splitext(path)[1].lower()
        if ext == ".json" and _looks_like_mcd(uri):
            return "mcd"
        if ext in TABLE_EXTENSIONS:
            return "table"
        raise ValueError(f"{uri}: cannot tell how to read a {ext or 'extension-less'} file; pass --adapter")
    exts = {os.path.splitext(p)[1].lower() for p in fs.find(path)}
    if exts & set(EXTENSION_LANGUAGES):
        return "folder"
    if exts & set(TABLE_EXTENSIONS):
        return "table"
    raise ValueError(f"{uri}: no code files ({', '.join(sorted(EXTENSION_LANGUAGES))}) or tables found")


def source_from_argument(
    arg: str,
    adapter: str = "auto",
    name: str | None = None,
    domain: str | None = None,
    language: str | None = None,
    split: str = "train",
) -> dict[str, Any]:
    """Source config dict for `vinci ingest ARG`."""
    if adapter == "demo" or re.fullmatch(r"demo(:\d+){0,2}", arg):
        parts = arg.split(":")[1:] if arg.startswith("demo") else []
        spec: dict[str, Any] = {"adapter": "demo", "name": name or "demo"}
        if parts:
            spec["size"] = int(parts[0])
        if len(parts) > 1:
            spec["seed"] = int(parts[1])
    else:
        kind = detect_adapter(arg) if adapter == "auto" else adapter
        spec = {"adapter": kind, "name": name or _name_from_path(arg), "path": arg}
    spec["split"] = split
    if domain:
        spec["domain"] = domain
    if language:
        spec["language"] = language
    return spec
