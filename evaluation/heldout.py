"""Held-out rows of a pipeline dataset as benchmark samples: the rows no checkpoint in the model's lineage saw.

A checkpoint trained here leaves the ids it trained on beside it (`train_ids.parquet` for SFT, `rl_ids.parquet`
for ViRL) and its base model in `recipe.yaml`; walking that chain from the evaluated model collects every id the
model or its ancestors trained on. The remaining direct rows with an image are grouped by what they draw and each
group is scored with the matching benchmark's metric:

    python chart  -> chartmimic      html -> design2code     svg -> unisvg
    latex         -> image2struct    smiles -> chemdraw
    anything else -> visual (execution rate and the ViRL visual score against the row's image)

Rows are taken in id order (ids are content hashes, so this is a fixed, unbiased pick), at most `per_language`
per language. The instruction is the row's own.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from evaluation.loaders import BenchmarkError, BenchmarkSample
from storage import filesystem as fsys
from storage.dataset import resolve_dataset

ID_FILES = ("train_ids.parquet", "rl_ids.parquet")
VISUAL = "visual"  # the benchmark name for held-out languages no released benchmark covers
READ = ["id", "domain", "language", "task", "split", "instruction", "code", "image"]


def benchmark_of(language: str, domain: str) -> str:
    if language == "python":
        return "chartmimic" if domain == "chart" else VISUAL
    return {"html": "design2code", "svg": "unisvg", "latex": "image2struct", "smiles": "chemdraw"}.get(language, VISUAL)


def lineage_ids(model_path: str, max_depth: int = 16) -> tuple[set[str], list[str]]:
    """Ids every checkpoint from `model_path` back to its first base trained on, and the folders walked."""
    from training.sft_data import read_ids

    ids: set[str] = set()
    walked: list[str] = []
    folder = Path(model_path)
    while folder.is_dir() and len(walked) < max_depth and str(folder) not in walked:
        walked.append(str(folder))
        for name in ID_FILES:
            if (folder / name).is_file():
                ids |= read_ids(str(folder / name))
        recipe = folder / "recipe.yaml"
        if not recipe.is_file():
            break
        base = (yaml.safe_load(recipe.read_text()) or {}).get("model", {}).get("path")
        if not base:
            break
        folder = Path(base)
    return ids, walked


def load_heldout(source: Any, root: str, model_path: str) -> tuple[dict[str, list[BenchmarkSample]], dict[str, Any]]:
    """Held-out samples grouped by benchmark, and what was done (dataset version, ids excluded, rows per group)."""
    import pyarrow.parquet as pq

    version = resolve_dataset(source.dataset, root)
    manifest = version.manifest()
    excluded, walked = lineage_ids(model_path)
    columns = [c for c in READ if c in set(manifest.columns)]
    languages = set(source.languages or ())
    rows: list[dict[str, Any]] = []
    for uri in version.file_uris():
        fs, path = fsys.filesystem(uri)
        with fs.open(path, "rb") as fh:
            table = pq.read_table(fh, columns=columns)
        for row in table.to_pylist():
            if row["task"] != "direct" or not row.get("image") or row["id"] in excluded:
                continue
            if source.split is not None and row.get("split") != source.split:
                continue
            if languages and row["language"] not in languages:
                continue
            rows.append(row)
    rows.sort(key=lambda r: r["id"])
    taken: dict[str, int] = defaultdict(int)
    groups: dict[str, list[BenchmarkSample]] = defaultdict(list)
    for row in rows:
        if source.per_language is not None and taken[row["language"]] >= source.per_language:
            continue
        taken[row["language"]] += 1
        benchmark = benchmark_of(row["language"], row["domain"])
        image = row["image"]["bytes"] if isinstance(row["image"], dict) else row["image"]
        meta = {"domain": row["domain"], "dataset": f"{manifest.stage}@{manifest.version}"}
        groups[benchmark].append(
            BenchmarkSample(benchmark, row["id"], image, row["code"], row["language"], row["instruction"], meta)
        )
    if source.limit is not None:
        groups = {name: samples[: source.limit] for name, samples in groups.items()}
    if not groups:
        raise BenchmarkError(
            f"heldout: no direct rows with an image left in {source.dataset} after excluding the "
            f"{len(excluded)} ids the model's lineage trained on (languages={source.languages}, split={source.split})"
        )
    info = {
        "dataset": f"{manifest.stage}@{manifest.version}",
        "excluded_ids": len(excluded),
        "lineage": walked,
        "rows": {name: len(samples) for name, samples in sorted(groups.items())},
    }
    return dict(sorted(groups.items())), info
