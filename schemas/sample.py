"""The sample schema: one definition of every column, used by every stage.

A dataset written by stage S has the base columns plus the stage columns of S and of every stage before it
(`sample_schema("repair", "render")`). Images are stored the way Hugging Face `datasets` encodes an `Image`
feature (a struct of `bytes` and `path`), and each Parquet file carries the `huggingface` schema metadata, so
`datasets`, ms-swift and EasyR1 read the shards without conversion.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import pyarrow as pa

from renderers.result import ERROR_KINDS
from schemas.languages import DOMAINS, LANGUAGES

TASKS: tuple[str, ...] = ("direct", "refine")
SPLITS: tuple[str, ...] = ("train", "validation", "test")

IMAGE_TYPE = pa.struct([pa.field("bytes", pa.binary()), pa.field("path", pa.string())])


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    nullable: bool = True
    choices: tuple[str, ...] | None = None
    doc: str = ""

    def field(self, *, relaxed: bool = False) -> pa.Field:
        return pa.field(self.name, self.type, nullable=self.nullable or relaxed)


BASE_COLUMNS: tuple[Column, ...] = (
    Column("id", pa.string(), False, doc="blake2b-128 hex of source and source_id; stable across runs"),
    Column("domain", pa.string(), False, DOMAINS, "chart | web | svg | latex | science"),
    Column("subdomain", pa.string(), doc="finer kind inside the domain: bar, landing, icon, tikz, molecule ..."),
    Column("language", pa.string(), False, LANGUAGES, "language of `code`"),
    Column("task", pa.string(), False, TASKS, "direct: image -> code; refine: image + draft -> code"),
    Column("instruction", pa.string(), False, doc="the user prompt shown with the image"),
    Column("code", pa.string(), False, doc="ground-truth code that draws the image"),
    Column("draft_code", pa.string(), doc="flawed first attempt, for task=refine"),
    Column("image", IMAGE_TYPE, doc="target image, Hugging Face Image encoding {bytes, path}"),
    Column("image_width", pa.int32(), doc="pixels, when an image is present"),
    Column("image_height", pa.int32(), doc="pixels, when an image is present"),
    Column("source", pa.string(), False, doc="source dataset name, e.g. chartmimic, mcd, demo"),
    Column("source_id", pa.string(), False, doc="the row's identifier inside its source"),
    Column("split", pa.string(), False, SPLITS, "train | validation | test"),
    Column("meta", pa.string(), doc="JSON object with source-specific extras"),
)

# Columns that later stages add; a stage's output carries the groups of all stages up to it.
STAGE_COLUMNS: dict[str, tuple[Column, ...]] = {
    "repair": (
        Column("repair_fixes", pa.list_(pa.string()), doc="names of the Ruff rules and heuristics that fired"),
        Column("parse_ok", pa.bool_(), doc="the repaired code parses; null for languages repair does not touch"),
        Column("code_original", pa.string(), doc="the code before repair; null when repair changed nothing"),
        Column("repair_render_before", pa.bool_(), doc="proof: the original code rendered; null when not proved"),
        Column("repair_render_after", pa.bool_(), doc="proof: the repaired code rendered; null when not proved"),
    ),
    "filter": (
        Column("filter_changes", pa.list_(pa.string()), doc="normalisations the filter applied (latex_standalone ...)"),
        Column("text_lang", pa.string(), doc="language detected in a web page's visible text (ISO 639-1)"),
        Column("text_lang_score", pa.float32(), doc="confidence of text_lang"),
    ),
    "render": (
        Column("render_ok", pa.bool_(), False, doc="the code rendered without error; false rows are kept, not dropped"),
        Column(
            "error_kind",
            pa.string(),
            choices=ERROR_KINDS,
            doc="typed render failure (timeout, syntax, runtime, multi_page ...); null when the render succeeded",
        ),
        Column("render_error", pa.string(), doc="the renderer's error message; null when the render succeeded"),
        Column("render_ms", pa.float32(), doc="wall time of the render job in milliseconds"),
    ),
    "dedup": (
        Column("phash", pa.uint64(), doc="64-bit perceptual hash, imagehash-compatible"),
        Column("dup_group", pa.string(), doc="id of the representative of this row's near-duplicate group"),
        Column("cluster", pa.int32(), doc="mini-batch K-means cluster"),
    ),
    "drafts": (
        Column("draft_model", pa.string(), doc="specialist that wrote draft_code"),
        Column("draft_score", pa.float32(), doc="visual similarity of the draft's render to the image"),
    ),
}

# Extra columns of a `rejected/` dataset: every sample column is nullable there, because a rejected row may be
# rejected precisely because a field could not be read.
REJECTION_COLUMNS: tuple[Column, ...] = (
    Column("reason", pa.string(), False, doc="machine-readable rejection reason, group by it"),
    Column("reason_detail", pa.string(), doc="human-readable detail"),
    Column("rejected_by", pa.string(), False, doc="stage that rejected the row"),
)

# Hugging Face `datasets` reads this from the Parquet schema metadata and decodes `image` as an Image feature.
HF_METADATA = {b"huggingface": json.dumps({"info": {"features": {"image": {"_type": "Image"}}}}).encode()}


def sample_id(source: str, source_id: str) -> str:
    """Stable id of a sample: the same source and source id give the same id on every run and machine."""
    return hashlib.blake2b(f"{source}\x1f{source_id}".encode(), digest_size=16).hexdigest()


def columns_for(*stages: str) -> tuple[Column, ...]:
    unknown = [s for s in stages if s not in STAGE_COLUMNS]
    if unknown:
        raise ValueError(f"no stage columns defined for {unknown}; known: {sorted(STAGE_COLUMNS)}")
    cols = list(BASE_COLUMNS)
    for stage in stages:
        cols.extend(STAGE_COLUMNS[stage])
    return tuple(cols)


def sample_schema(*stages: str) -> pa.Schema:
    """Arrow schema of a dataset whose rows went through `stages` (in addition to the base columns)."""
    return pa.schema([c.field() for c in columns_for(*stages)], metadata=HF_METADATA)


def rejected_schema(*stages: str) -> pa.Schema:
    """Arrow schema of a `rejected/` dataset: all sample columns nullable, plus the reason columns."""
    fields = [c.field(relaxed=True) for c in columns_for(*stages)]
    fields += [c.field() for c in REJECTION_COLUMNS]
    return pa.schema(fields, metadata=HF_METADATA)
