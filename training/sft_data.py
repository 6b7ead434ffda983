"""SFT rows from the pipeline's Parquet datasets, as a Hugging Face `datasets.Dataset` in TRL's VLM form.

The shards are memory-mapped by `datasets` (never loaded whole), filtered by split, domain, task and id lists,
and mapped to conversational prompt-completion columns (`training.conversation.prompt_completion`) next to the
`image` column, which `datasets` decodes to PIL from the Hugging Face Image encoding the shards already use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow.parquet as pq

from storage import filesystem as fsys
from storage.dataset import resolve_dataset
from training.conversation import prompt_completion
from training.recipes import DataSpec

READ_COLUMNS = ("id", "domain", "language", "task", "instruction", "code", "image", "split")


@dataclass
class SFTData:
    dataset: Any  # datasets.Dataset with image, prompt, completion, id, domain, task
    sources: list[dict[str, Any]]  # resolved inputs: stage, version, uri, rows


def read_ids(uri: str) -> set[str]:
    """The `id` column of a Parquet file (id lists: include/exclude files, a run's train_ids.parquet)."""
    fs, path = fsys.filesystem(uri)
    with fs.open(path, "rb") as fh:
        return set(pq.read_table(fh, columns=["id"]).column("id").to_pylist())


def _to_example(languages: list[str], instructions: list[str], codes: list[str]) -> dict[str, list]:
    examples = [
        prompt_completion({"language": lang, "instruction": text, "code": code})
        for lang, text, code in zip(languages, instructions, codes, strict=True)
    ]
    return {"prompt": [e["prompt"] for e in examples], "completion": [e["completion"] for e in examples]}


def select_rows(
    spec: DataSpec, root: str, *, num_proc: int | None = None, exclude: set[str] | None = None
) -> tuple[Any, list[dict[str, Any]]]:
    """The rows a recipe's data spec selects (split, domains, tasks, id lists; every kept row has an image), with
    their original columns, and the resolved inputs. `exclude` adds ids never to use."""
    import datasets

    parts, sources = [], []
    for ref in spec.datasets:
        version = resolve_dataset(ref, root)
        manifest = version.manifest()
        files = version.file_uris()
        sources.append({"dataset": ref, "stage": manifest.stage, "version": manifest.version, "uri": manifest.uri})
        if not files:
            continue
        have = set(manifest.columns)
        columns = [c for c in READ_COLUMNS if c in have]
        part = datasets.Dataset.from_parquet(files, columns=columns, storage_options=fsys.fsspec_options(files[0]))
        parts.append(part)
    if not parts:
        raise ValueError(f"no rows in {spec.datasets}")
    ds = datasets.concatenate_datasets(parts) if len(parts) > 1 else parts[0]

    include = read_ids(spec.include_ids) if spec.include_ids else None
    exclude = (read_ids(spec.exclude_ids) if spec.exclude_ids else set()) | (exclude or set())
    split, domains, tasks = spec.split, set(spec.domains or ()), set(spec.tasks or ())

    def keep(batch: dict[str, list]) -> list[bool]:
        out = []
        for i, row_id in enumerate(batch["id"]):
            ok = batch["image"][i] is not None and row_id not in exclude
            ok = ok and (include is None or row_id in include)
            ok = ok and (split is None or batch["split"][i] == split)
            ok = ok and (not domains or batch["domain"][i] in domains)
            ok = ok and (not tasks or batch["task"][i] in tasks)
            out.append(ok)
        return out

    # Filter on the undecoded image (a null check only).
    image_feature = ds.features["image"]
    ds = ds.cast_column("image", datasets.Image(decode=False))
    ds = ds.filter(keep, batched=True, num_proc=num_proc, desc="select rows")
    ds = ds.cast_column("image", image_feature)
    return ds, sources


def no_rows_error(spec: DataSpec) -> ValueError:
    return ValueError(
        f"no training rows left in {spec.datasets} after filtering (split={spec.split}, domains={spec.domains}, "
        f"tasks={spec.tasks}, include_ids={spec.include_ids}, exclude_ids={spec.exclude_ids})"
    )


def shuffle_and_cap(ds: Any, spec: DataSpec) -> Any:
    ds = ds.shuffle(seed=spec.seed)
    if spec.max_rows is not None:
        ds = ds.select(range(min(spec.max_rows, len(ds))))
    if len(ds) == 0:
        raise no_rows_error(spec)
    return ds


def load_sft_dataset(spec: DataSpec, root: str, *, num_proc: int | None = None) -> SFTData:
    """The filtered, shuffled training set in prompt-completion form."""
    ds, sources = select_rows(spec, root, num_proc=num_proc)
    ds = ds.map(
        _to_example,
        batched=True,
        input_columns=["language", "instruction", "code"],
        num_proc=num_proc,
        remove_columns=[c for c in ("instruction", "code", "split") if c in ds.column_names],
        desc="chat examples",
    )
    return SFTData(dataset=shuffle_and_cap(ds, spec), sources=sources)
