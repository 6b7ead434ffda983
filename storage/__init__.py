"""Parquet datasets addressed by URI (local folders or s3://), with manifests, resume and Polars access."""

from storage.dataset import DataRoot, DatasetDamaged, DatasetNotFound, DatasetVersion
from storage.manifest import InputRecord, Manifest, Plan, ShardReport
from storage.query import scan, sql, sql_context

__all__ = [
    "DataRoot",
    "DatasetDamaged",
    "DatasetNotFound",
    "DatasetVersion",
    "InputRecord",
    "Manifest",
    "Plan",
    "ShardReport",
    "scan",
    "sql",
    "sql_context",
]
