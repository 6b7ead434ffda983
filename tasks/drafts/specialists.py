"""Specialists: one model per domain that writes the drafts, trained here by SFT or given as a checkpoint.

A trained specialist is an ordinary SFT run (`training.sft.run_sft`) restricted to its domain and to the rows
the decision gave it (`include_ids`), stored under `<root>/specialists/specialist-<domain>-<hash>`; the hash
covers the recipe and the exact rows, so every drafts version that asks for the same specialist reuses it.
After training, the rows it actually trained on (its `train_ids.parquet`) are checked against the rows that
get drafts: disjoint, or, for own-subset domains (SVG in the paper), drafts inside the training rows. The
result is written to `<version>/_specialists.json` and copied into the manifest. In own-subset domains, rows
chosen for drafts that the recipe left out of training (e.g. by `max_rows`) get no draft.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from storage import filesystem as fsys
from storage.dataset import parquet_bytes
from tasks.drafts.roles import DRAFTED, TRAINS
from training.sft_data import read_ids

log = logging.getLogger(__name__)

HOME = "specialists"


class SpecialistConfig(BaseModel):
    """One domain's specialist: a checkpoint to use, or an SFT recipe to train one."""

    model_config = ConfigDict(extra="forbid")

    checkpoint: str | None = Field(None, description="use this model instead of training one")
    train_ids: str | None = Field(
        None,
        description="Parquet `id` column of the rows the checkpoint was trained on (default: its train_ids.parquet)",
    )
    recipe: str = Field("tiny-cpu", description="SFT recipe (path or name under training/recipes/sft)")
    overrides: dict[str, Any] = Field(default_factory=dict, description="recipe overrides, e.g. trainer.max_steps")


class OverlapError(RuntimeError):
    pass


def trained_ids_file(spec: SpecialistConfig) -> str | None:
    """Where a given checkpoint's training rows are listed, if anywhere."""
    if spec.train_ids:
        return spec.train_ids
    if spec.checkpoint:
        candidate = Path(spec.checkpoint) / "train_ids.parquet"
        if candidate.exists():
            return str(candidate)
    return None


def specialists_uri(version_uri: str) -> str:
    return fsys.join(version_uri, "_specialists.json")


def read_specialists(version_uri: str) -> dict[str, Any]:
    uri = specialists_uri(version_uri)
    return json.loads(fsys.read_text(uri)) if fsys.exists(uri) else {}


def prepare_specialists(
    decision: pa.Table,
    specialists: dict[str, SpecialistConfig],
    *,
    own_subset: set[str],
    source_ref: str,
    split: str,
    root: str,
    version_uri: str,
) -> dict[str, Any]:
    """Train what is missing, check the overlap rule per domain, write `_specialists.json`; returns it."""
    from training.recipes import merge
    from training.sft import run_sft

    records = read_specialists(version_uri)
    rows = decision.select(["id", "domain", "role"]).to_pylist()
    for domain, spec in specialists.items():
        if domain in records:
            continue
        drafted = {r["id"] for r in rows if r["domain"] == domain and r["role"] in DRAFTED}
        rule = "own_subset" if domain in own_subset else "disjoint"
        if spec.checkpoint:
            ids_file = trained_ids_file(spec)
            record: dict[str, Any] = {"checkpoint": spec.checkpoint, "trained_here": False}
            trained = read_ids(ids_file) if ids_file else None
        else:
            chosen = [r["id"] for r in rows if r["domain"] == domain and r["role"] in TRAINS]
            if not chosen:
                log.warning("drafts: no rows to train the %s specialist; no drafts for %s", domain, domain)
                records[domain] = {"checkpoint": None, "skipped": "no training rows", "rule": rule}
                continue
            ids_uri = fsys.join(version_uri, "_specialists", f"{domain}.train_ids.parquet")
            fsys.write_atomic(ids_uri, parquet_bytes(pa.table({"id": pa.array(sorted(chosen), pa.string())})))
            overrides = merge(
                spec.overrides,
                {
                    "name": f"specialist-{domain}",
                    "data": {
                        "datasets": [source_ref],
                        "domains": [domain],
                        "tasks": ["direct"],
                        "split": split,
                        "include_ids": ids_uri,
                    },
                    "check_generation": False,
                },
            )
            log.info("drafts: training the %s specialist on %d rows (%s)", domain, len(chosen), spec.recipe)
            summary = run_sft(spec.recipe, root, overrides, home=HOME)
            ids_file = str(Path(summary["checkpoint"]) / "train_ids.parquet")
            trained = read_ids(ids_file)
            record = {
                "checkpoint": summary["checkpoint"],
                "trained_here": True,
                "recipe": spec.recipe,
                "train_loss": summary.get("train_loss"),
                "steps": summary.get("steps"),
            }
        record.update(_overlap(domain, rule, drafted, trained, ids_file))
        records[domain] = record
        fsys.write_atomic(specialists_uri(version_uri), (json.dumps(records, indent=2) + "\n").encode())
    fsys.write_atomic(specialists_uri(version_uri), (json.dumps(records, indent=2) + "\n").encode())
    return records


def _overlap(domain: str, rule: str, drafted: set[str], trained: set[str] | None, ids_file: str | None) -> dict:
    record: dict[str, Any] = {"rule": rule, "draft_rows": len(drafted), "train_ids": ids_file}
    if trained is None:
        log.warning("drafts: the %s specialist's training rows are unknown; overlap not checked", domain)
        return {**record, "train_rows": None, "overlap": None, "checked": False}
    overlap = len(drafted & trained)
    record.update(train_rows=len(trained), overlap=overlap, checked=True)
    if rule == "disjoint" and overlap:
        raise OverlapError(
            f"{overlap} of the {domain} drafts' rows are in its specialist's training rows ({ids_file}); "
            "drafts must come from rows the specialist did not see"
        )
    if rule == "own_subset":
        # a recipe that caps its rows (max_rows) trains on part of the subset: only those rows get drafts
        record["skipped_untrained"] = len(drafted) - overlap
    return record
