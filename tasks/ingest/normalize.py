"""From whatever a source holds to a canonical sample row, or a rejection with a reason.

Adapters yield `RawSample`s; `normalize` decodes code, checks the image, resolves domain and language, fills
the instruction from the shared prompts when the source has none, and enforces the configured limits.

Rejection reasons (group by `reason` in `<stage>_rejected`):
    language_unknown, domain_unknown, split_unknown, code_missing, code_not_utf8, code_binary, code_empty,
    code_too_long, image_too_large, image_too_many_pixels, image_undecodable, no_image, row_too_large
and, from adapters: record_malformed, code_not_text, image_missing, multiple_images, category_excluded,
category_unknown, file_unreadable, no_code_file, ambiguous_code_files, pdf_unreadable.
"""

from __future__ import annotations

import io
import json
import warnings
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from schemas.languages import DEFAULT_DOMAIN, DOMAINS, canonical_language
from schemas.sample import SPLITS, sample_id
from tasks.ingest.config import Limits, SourceBase
from tasks.stage import Rejection
from training.prompts import direct_instruction

SPLIT_ALIASES = {"val": "validation", "valid": "validation", "dev": "validation", "eval": "test"}


@dataclass
class RawSample:
    """One record as a source gives it, before validation."""

    source_id: str
    code: str | bytes | None
    language: str | None = None
    domain: str | None = None
    subdomain: str | None = None
    instruction: str | None = None
    image_bytes: bytes | None = None
    image_path: str | None = None
    split: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def _decode_code(code: str | bytes) -> tuple[str | None, str | None]:
    """(text, reason) — text with BOM removed and newlines normalised to \\n, or a rejection reason."""
    if isinstance(code, bytes):
        try:
            code = code.decode("utf-8")
        except UnicodeDecodeError as exc:
            return None, f"code_not_utf8: {exc}"
    try:
        code.encode("utf-8")  # a JSON string can hold lone surrogates ("\ud800"), which no UTF-8 file can store
    except UnicodeEncodeError as exc:
        return None, f"code_not_utf8: {exc}"
    if "\x00" in code:
        return None, "code_binary: code contains NUL characters"
    code = code.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return code, None


def check_image(data: bytes, limits: Limits) -> tuple[int, int] | Rejection:
    """(width, height) of an encoded image, or the rejection that explains why it cannot be used."""
    if len(data) > limits.max_image_bytes:
        return Rejection("image_too_large", f"{len(data)} bytes > max_image_bytes={limits.max_image_bytes}")
    previous, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, limits.max_image_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
                if width * height > limits.max_image_pixels:
                    return Rejection(
                        "image_too_many_pixels",
                        f"{width}x{height} > max_image_pixels={limits.max_image_pixels}",
                    )
                if limits.image_check == "decode":
                    img.load()
                else:
                    img.verify()
    except Image.DecompressionBombError as exc:
        return Rejection("image_too_many_pixels", str(exc))
    except Exception as exc:  # noqa: BLE001 - any decoder failure means the bytes are not a usable image
        return Rejection("image_undecodable", f"{type(exc).__name__}: {exc}")
    finally:
        Image.MAX_IMAGE_PIXELS = previous
    if width < 1 or height < 1:
        return Rejection("image_undecodable", f"image has size {width}x{height}")
    return width, height


def normalize(raw: RawSample, source: SourceBase, limits: Limits) -> dict[str, Any] | Rejection:
    """Canonical row for a raw sample, or a Rejection that carries the fields that could be read."""
    row: dict[str, Any] = {
        "id": sample_id(source.name, raw.source_id),
        "source": source.name,
        "source_id": raw.source_id,
        "subdomain": raw.subdomain,
        "instruction": raw.instruction,
        "meta": json.dumps(raw.meta, sort_keys=True, default=str) if raw.meta else None,
    }

    def reject(reason: str, detail: str = "") -> Rejection:
        partial = dict(row)
        if isinstance(raw.code, str | bytes):
            partial.setdefault("code", raw.code)
        return Rejection(reason, detail, partial)

    language = canonical_language(source.language or raw.language)
    if language is None:
        return reject("language_unknown", f"language {raw.language!r} is not one the pipeline knows")
    row["language"] = language
    domain = source.domain or raw.domain or DEFAULT_DOMAIN[language]
    if domain not in DOMAINS:
        return reject("domain_unknown", f"domain {domain!r} is not one of {', '.join(DOMAINS)}")
    row["domain"] = domain
    split = SPLIT_ALIASES.get(str(raw.split).lower(), str(raw.split).lower()) if raw.split else source.split
    if split not in SPLITS:
        return reject("split_unknown", f"split {raw.split!r}")
    row["split"] = split

    if raw.code is None:
        return reject("code_missing", "the record has no code")
    code, problem = _decode_code(raw.code)
    if code is None:
        reason, _, detail = (problem or "").partition(": ")
        return reject(reason, detail)
    row["code"] = code
    if not code.strip():
        return reject("code_empty", "code is empty or whitespace only")
    if len(code) > limits.max_code_chars:
        return reject("code_too_long", f"{len(code)} characters > max_code_chars={limits.max_code_chars}")

    row["image"] = None
    row["image_width"] = row["image_height"] = None
    if raw.image_bytes is not None:
        checked = check_image(raw.image_bytes, limits)
        if isinstance(checked, Rejection):
            return reject(checked.reason, checked.detail)
        row["image"] = {"bytes": raw.image_bytes, "path": raw.image_path}
        row["image_width"], row["image_height"] = checked
    elif source.require_image:
        return reject("no_image", "the source requires an image and this record has none")
    size = len(code.encode("utf-8")) + len(raw.image_bytes or b"")
    if size > limits.max_row_bytes:
        return reject("row_too_large", f"{size} bytes > max_row_bytes={limits.max_row_bytes}")

    instruction = (raw.instruction or "").strip()
    row["instruction"] = instruction or direct_instruction(language, key=row["id"])
    row["task"] = "direct"
    row["draft_code"] = None
    return row
