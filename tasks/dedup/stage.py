"""The dedup stage: pHash near-duplicate removal, then a diverse subset chosen with mini-batch K-means.

A two-phase stage (tasks/survey.py):

    survey  per shard: decode each image once, its 64-bit pHash and a small feature vector (tasks/dedup/phash.py)
    decide  once: group exact and near duplicates within `radius` bits without comparing all pairs
            (tasks/dedup/neighbors.py), keep one representative per group, cluster the representatives'
            features with mini-batch K-means and, when `sample.size` is set, pick a subset spread across the
            clusters, nearest-to-centre first (tasks/dedup/diverse.py)
    shards  per shard: rows kept get `phash`, `dup_group` (the representative's id) and `cluster`; the others
            are rejected as `render_failed`, `no_image`, `exact_duplicate`, `near_duplicate` or `not_sampled`

The representative of a group is the row with the best claim to be the original: rendered, larger image, then
smallest id, so the choice does not depend on shard order or on how many workers ran.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from tasks.derived import DerivedConfig, DerivedStage
from tasks.stage import Rejection, Tally
from tasks.survey import read_decision

SURVEY_SCHEMA_FIELDS = [
    ("shard", pa.int32()),
    ("row", pa.int32()),
    ("id", pa.string()),
    ("source", pa.string()),
    ("area", pa.int64()),
    ("eligible", pa.bool_()),
    ("drop", pa.string()),  # reason decided from the row alone (render_failed, no_image, bad_image)
    ("detail", pa.string()),
    ("phash", pa.uint64()),
    ("features", pa.list_(pa.float32())),
]


class SampleConfig(BaseModel):
    """The diverse subset: how many rows, among which sources, with how many clusters."""

    model_config = ConfigDict(extra="forbid")

    size: int | None = Field(None, gt=0, description="rows to keep after dedup (None: keep every representative)")
    sources: list[str] | None = Field(None, description="only rows of these sources are subsampled; others all kept")
    clusters: int | None = Field(None, gt=0, description="K-means clusters (default: tasks/dedup/diverse.py rule)")
    seed: int = 0


class DedupConfig(DerivedConfig):
    """Which dataset to deduplicate, the radius of a near duplicate, and the diverse subset."""

    input: str = Field("render", min_length=1, description="stage whose dataset is deduplicated")
    radius: int = Field(8, ge=0, le=32, description="Hamming radius of a near duplicate (bits of 64)")
    drop_render_failures: bool = Field(True, description="reject rows whose render failed (`render_failed`)")
    sample: SampleConfig = Field(default_factory=SampleConfig)
    workers: int | None = Field(None, gt=0, description="processes hashing shards")


class DedupStage(DerivedStage):
    name = "dedup"
    adds = ("dedup",)
    surveys = True
    code_modules = ("tasks.dedup", "tasks.derived", "tasks.survey", "schemas")
    config: DedupConfig

    def shard_specs(self, version) -> list[dict[str, Any]]:
        return [{**spec, "decision": version.uri} for spec in super().shard_specs(version)]

    def survey(self, spec: dict[str, Any]) -> pa.Table:
        from tasks.dedup.phash import phash_batch

        rows = self.read_rows(spec, ["id", "source", "image", "image_width", "image_height", "render_ok"])
        drop: list[str | None] = []
        for row in rows:
            image = row.get("image") or {}
            if self.config.drop_render_failures and row.get("render_ok") is False:
                drop.append("render_failed")
            elif not image.get("bytes"):
                drop.append("no_image")
            else:
                drop.append(None)
        todo = [i for i, d in enumerate(drop) if d is None]
        batch = phash_batch([rows[i]["image"]["bytes"] for i in todo])
        phash: list[int | None] = [None] * len(rows)
        feats: list[list[float] | None] = [None] * len(rows)
        detail: list[str | None] = [None] * len(rows)
        for k, i in enumerate(todo):
            if batch.valid[k]:
                phash[i], feats[i] = int(batch.hashes[k]), batch.features[k].tolist()
            else:
                drop[i], detail[i] = "bad_image", batch.errors[k]
        return pa.table(
            {
                "shard": [spec["index"]] * len(rows),
                "row": list(range(len(rows))),
                "id": [r["id"] for r in rows],
                "source": [r["source"] for r in rows],
                "area": [(r.get("image_width") or 0) * (r.get("image_height") or 0) for r in rows],
                "eligible": [d is None for d in drop],
                "drop": drop,
                "detail": detail,
                "phash": phash,
                "features": feats,
            },
            schema=pa.schema(SURVEY_SCHEMA_FIELDS),
        )

    def decide(self, surveys: list[pa.Table]) -> pa.Table:
        from tasks.dedup.decide import decide

        survey = pa.concat_tables(surveys) if surveys else pa.schema(SURVEY_SCHEMA_FIELDS).empty_table()  # 0 shards
        return decide(survey, self.config)

    def process(self, spec: dict[str, Any]) -> Iterator[dict[str, Any] | Rejection | Tally]:
        mine = read_decision(spec["decision"], spec["index"]).to_pylist()
        by_row = {d["row"]: d for d in mine}
        for i, row in enumerate(self.read_rows(spec)):
            d = by_row[i]
            out = {**row, "phash": d["phash"], "dup_group": d["dup_group"], "cluster": d["cluster"]}
            if d["reason"] is None:
                yield out
            else:
                yield Tally(f"dropped_{d['reason']}")
                yield Rejection(d["reason"], d["detail"] or "", out)
