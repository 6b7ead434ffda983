"""Ingest configuration: the sources to read, how to shard them, and the limits a row must respect."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.languages import DOMAINS, canonical_language
from schemas.sample import SPLITS

SOURCE_NAME = r"^[a-z0-9][a-z0-9_.-]*$"


class Limits(BaseModel):
    """Rows outside these limits are rejected with a reason (never crash the run)."""

    model_config = ConfigDict(extra="forbid")

    max_code_chars: int = Field(200_000, gt=0, description="longer code is rejected as code_too_long")
    max_image_bytes: int = Field(20 * 2**20, gt=0, description="bigger encoded images: image_too_large")
    max_image_pixels: int = Field(50_000_000, gt=0, description="width*height above this: image_too_many_pixels")
    max_row_bytes: int = Field(32 * 2**20, gt=0, description="code + image bytes above this: row_too_large")
    image_check: Literal["verify", "decode"] = Field(
        "verify", description="verify: header + integrity check (fast); decode: full pixel decode (strict)"
    )


class SourceBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=SOURCE_NAME, description="source name stored in every row; part of the row id")
    split: str = Field("train", description="split for rows whose source does not say")
    domain: str | None = Field(None, description="force this domain for every row")
    language: str | None = Field(None, description="force this language for every row")
    require_image: bool = Field(False, description="reject rows without an image (reason no_image)")
    fingerprint: Literal["content", "stat"] = Field(
        "content",
        description="content: hash every input file; stat: size and mtime only (fast, huge corpora)",
    )

    @field_validator("domain")
    @classmethod
    def _domain(cls, v: str | None) -> str | None:
        if v is not None and v not in DOMAINS:
            raise ValueError(f"domain must be one of {', '.join(DOMAINS)}")
        return v

    @field_validator("language")
    @classmethod
    def _language(cls, v: str | None) -> str | None:
        if v is not None and canonical_language(v) is None:
            raise ValueError(f"unknown language {v!r}")
        return canonical_language(v) if v else v

    @field_validator("split")
    @classmethod
    def _split(cls, v: str) -> str:
        if v not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(SPLITS)}")
        return v


class DemoSource(SourceBase):
    """The built-in generator: a seeded multi-domain corpus of any size, fully offline."""

    adapter: Literal["demo"] = "demo"
    name: str = Field("demo", pattern=SOURCE_NAME)
    size: int = Field(1000, ge=0)
    seed: int = 0


class FolderSource(SourceBase):
    """A folder of code files with optional sibling images (NAME.py + NAME.png), e.g. ChartMimic's layout."""

    adapter: Literal["folder"] = "folder"
    path: str
    recursive: bool = True
    subdomain_from_name: bool = Field(True, description="bar_14.py -> subdomain 'bar'")
    rasterize_pdf: bool = Field(True, description="use NAME.pdf (first page, pdftoppm) when no image sibling")
    pdf_dpi: int = Field(100, gt=0)


class ColumnMap(BaseModel):
    """Which source columns hold which fields; unset ones are detected from common names."""

    model_config = ConfigDict(extra="forbid")

    code: str | None = None
    image: str | None = None
    instruction: str | None = None
    messages: str | None = Field(None, description="chat column (role/content or from/value turns)")
    id: str | None = None
    language: str | None = None
    domain: str | None = None
    subdomain: str | None = None
    split: str | None = None
    category: str | None = None


class CategoryRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    domain: str | None = None
    language: str | None = None
    subdomain: str | None = None
    exclude: bool = False


class TableSource(SourceBase):
    """Hugging Face-style Parquet / JSONL / JSON / CSV files (a file or a folder of them)."""

    adapter: Literal["table"] = "table"
    path: str
    format: Literal["auto", "parquet", "jsonl", "json", "csv"] = "auto"
    columns: ColumnMap = Field(default_factory=ColumnMap)
    image_root: str | None = Field(None, description="folder or .zip that relative image paths start from")
    multiple_images: Literal["reject", "first"] = "reject"
    categories: dict[str, CategoryRule] = Field(default_factory=dict, description="category value -> rule")
    unknown_category: Literal["reject", "keep"] = "keep"


def _mcd_categories() -> dict[str, CategoryRule]:
    return {
        "html": CategoryRule(domain="web", language="html"),
        "web": CategoryRule(domain="web", language="html"),
        "chart": CategoryRule(domain="chart", language="python"),
        "qa": CategoryRule(exclude=True),
        "algorithm": CategoryRule(exclude=True),
    }


class McdSource(TableSource):
    """VisCodex MCD: `mcd_598k.json` (a JSON array of {images, messages, category}) + its image folder/zip."""

    adapter: Literal["mcd"] = "mcd"  # type: ignore[assignment]
    format: Literal["auto", "parquet", "jsonl", "json", "csv"] = "json"
    columns: ColumnMap = Field(
        default_factory=lambda: ColumnMap(messages="messages", image="images", category="category")
    )
    categories: dict[str, CategoryRule] = Field(default_factory=_mcd_categories)
    unknown_category: Literal["reject", "keep"] = "reject"
    require_image: bool = True


Source = Annotated[DemoSource | FolderSource | TableSource | McdSource, Field(discriminator="adapter")]


class IngestConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sources: list[Source] = Field(min_length=1)
    shard_rows: int = Field(1000, gt=0, description="rows per output shard (and unit of resume)")
    limits: Limits = Field(default_factory=Limits)
    workers: int | None = Field(None, gt=0, description="worker processes; default: CPU count")
    data_root: str | None = Field(None, description="where datasets go; default VINCI_DATA_ROOT or ./data")

    @model_validator(mode="after")
    def _unique_names(self) -> IngestConfig:
        names = [s.name for s in self.sources]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"source names must be unique (they are part of row ids); repeated: {dupes}")
        return self
