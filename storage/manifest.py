"""Manifests: the small JSON records that describe a dataset version and each of its finished shards."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class InputRecord(BaseModel):
    """One input of a stage: a source dataset or an upstream stage's dataset, with its content fingerprint."""

    name: str
    kind: str  # adapter name for sources ("folder", "table", "mcd", "demo") or "dataset" for upstream stages
    uri: str | None = None
    fingerprint: str
    files: int = 0
    bytes: int = 0
    hashes: dict[str, str] = Field(default_factory=dict)  # per-file hashes when the input has few files


class ShardReport(BaseModel):
    """What one finished shard wrote; stored as its completion marker."""

    index: int
    rows: int = 0
    rejected: int = 0
    rejected_by_reason: dict[str, int] = Field(default_factory=dict)
    rows_by_domain: dict[str, int] = Field(default_factory=dict)
    data_file: str | None = None  # relative to the version folder
    rejected_file: str | None = None
    bytes: int = 0
    seconds: float = 0.0
    finished_at: str = Field(default_factory=utc_now)
    skipped: bool = False  # True when this run found the shard already finished
    extra: dict[str, Any] = Field(default_factory=dict)  # stage-specific counters


class Plan(BaseModel):
    """Everything a run needs to process shards independently; written once as `_plan.json`."""

    stage: str
    version: str
    uri: str  # the version folder
    root: str  # the data root
    incarnation: str  # random id of this version folder's creation; keys Prefect's cache
    created_at: str = Field(default_factory=utc_now)
    config: dict[str, Any]
    code: dict[str, Any]
    inputs: list[InputRecord]
    shards: list[dict[str, Any]]
    upstream: list[dict[str, Any]] = Field(default_factory=list)


class Manifest(BaseModel):
    """The finished dataset version: inputs, config, code version, counts and timings."""

    stage: str
    version: str
    uri: str
    created_at: str
    finished_at: str = Field(default_factory=utc_now)
    code: dict[str, Any]
    config: dict[str, Any]
    inputs: list[InputRecord]
    upstream: list[dict[str, Any]] = Field(default_factory=list)
    columns: list[str]
    files: list[str]
    rejected_files: list[str]
    shards: int
    rows: int
    rejected: int
    rejected_by_reason: dict[str, int]
    rows_by_domain: dict[str, int]
    bytes: int
    timings: dict[str, float]
    extra: dict[str, Any] = Field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=False) + "\n"
