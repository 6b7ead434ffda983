"""Lineage as Prefect assets: each stage's output is an asset whose upstream assets are what it read.

Prefect 3 records a materialization as an event (`prefect.asset.materialization.succeeded`) on the output asset,
with the upstream assets as related resources; the UI draws the chain from these events. Asset keys are URIs:

    dataset version   file:///abs/root/render/<version>   or   s3://bucket/root/render/<version>
    source            its own URI (file://, s3://), else <adapter>://<name> (e.g. demo://demo)
    checkpoint        file:///abs/root/sft/<run>           (hub models: hf://org/name; vinci:tiny -> vinci://tiny)
    evaluation        file:///abs/root/eval/<run>

A data stage's `finalize` task is the materializing task (the dataset exists once its manifest does); a training
step or an evaluation records its output in a `publish` task once the run returns, since only then is its folder
known. The metadata attached to each materialization links the run to its manifest and Parquet files.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from prefect.artifacts import create_link_artifact
from prefect.assets import Asset, AssetProperties, add_asset_metadata, materialize
from prefect.cache_policies import NO_CACHE

from storage import filesystem as fsys
from storage.dataset import DataRoot
from storage.manifest import Manifest, Plan
from vinci.settings import data_root

T = TypeVar("T")
_URI = re.compile(r"^[a-z0-9]+://")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
FILES_LISTED = 50  # Parquet files named in a materialization's metadata (the count is always there)


def asset_key(ref: str) -> str:
    """A URI for a dataset folder, checkpoint, source path, hub id or `vinci:` reference."""
    if _URI.match(ref):
        return ref
    if ref.startswith("vinci:"):
        return "vinci://" + ref.removeprefix("vinci:")
    path = Path(ref)
    if not path.is_absolute() and not path.exists() and _HUB_ID.match(ref):
        return "hf://" + ref
    return path.resolve().as_uri()


def dataset_asset(plan: Plan) -> Asset:
    """The asset of a stage's output dataset version."""
    return Asset(
        key=asset_key(plan.uri),
        properties=AssetProperties(
            name=f"{plan.stage}/{plan.version}",
            url=asset_key(fsys.join(plan.uri, "manifest.json")),
            description=f"{plan.stage} dataset version {plan.version} (Parquet shards + manifest.json)",
        ),
    )


def upstream_keys(plan: Plan) -> list[str]:
    """Assets a stage read: upstream stage datasets (plan.upstream) and sources (the plan's non-dataset inputs)."""
    keys = [asset_key(u["uri"]) for u in plan.upstream if u.get("uri")]
    for record in plan.inputs:
        if record.kind == "dataset":
            if record.uri:
                keys.append(asset_key(record.uri))
            continue
        keys.append(asset_key(record.uri) if record.uri else f"{_scheme(record.kind)}://{record.name}")
    return list(dict.fromkeys(keys))


def _scheme(kind: str) -> str:
    return re.sub(r"[^a-z0-9]", "", kind.lower()) or "source"


def dataset_metadata(manifest: Manifest) -> dict[str, Any]:
    """What a dataset materialization carries: where the manifest and Parquet shards are, counts, versions."""
    files = manifest.files
    return {
        "version": manifest.version,
        "manifest": fsys.join(manifest.uri, "manifest.json"),
        "parquet": fsys.join(manifest.uri, "part-*.parquet"),
        "files": len(files),
        "file_names": files[:FILES_LISTED],
        "rows": manifest.rows,
        "rejected": manifest.rejected,
        "rows_by_domain": manifest.rows_by_domain,
        "rejected_by_reason": manifest.rejected_by_reason,
        "code": manifest.code,
    }


def materializing(fn: Callable[..., T], name: str, output: Asset, upstream: Iterable[str], **options: Any):
    """`fn` as a task that materializes `output` from `upstream` (a task made per run: assets are run-specific)."""
    return materialize(output, asset_deps=list(upstream), name=name, **options)(fn)


def link_run(stage: str, uri: str, label: str) -> None:
    """A link artifact from the flow run to its output (the UI lists it under the run's artifacts)."""
    create_link_artifact(key=f"{stage}-output", link=asset_key(uri), link_text=label)


def _publish(key: str, metadata: dict[str, Any]) -> str:
    add_asset_metadata(key, metadata)
    return key


def run_upstream(run_dir: str) -> list[str]:
    """What a training or evaluation run read, from the resolved recipe.yaml saved in its folder: the model it
    started from, the dataset versions it trained on (`stage@version`), the benchmarks or held-out rows it scored."""
    path = Path(run_dir) / "recipe.yaml"
    if not path.is_file():
        return []
    recipe = yaml.safe_load(path.read_text()) or {}
    root = data_root(recipe.get("data_root") or str(Path(run_dir).parent.parent))
    refs = [(recipe.get("model") or {}).get("path")]
    refs += [_dataset_uri(root, ref) for ref in (recipe.get("data") or {}).get("datasets") or []]
    for source in (recipe.get("sources") or {}).values():
        refs.append(source.get("path"))
        refs.append(_dataset_uri(root, source["dataset"]) if source.get("dataset") else None)
    return [ref for ref in dict.fromkeys(refs) if ref]


def _dataset_uri(root: str, ref: str) -> str:
    stage, _, version = ref.partition("@")
    return DataRoot(root).version(stage, version).uri if version else ref


def publish(stage: str, output: str, upstream: Iterable[str], metadata: dict[str, Any]) -> str:
    """Record a training or evaluation output (a folder) as an asset materialized from `upstream` refs."""
    key = asset_key(output)
    asset = Asset(key=key, properties=AssetProperties(name=f"{stage}/{Path(output).name}", url=key))
    keys = [asset_key(ref) for ref in upstream if ref]
    run = materializing(_publish, "publish", asset, keys, cache_policy=NO_CACHE)
    run(key, _jsonable(metadata))
    link_run(stage, output, f"{stage} output {Path(output).name}")
    return key


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
