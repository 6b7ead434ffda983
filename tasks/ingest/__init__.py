"""Ingest: read source datasets (MCD, Hugging Face-style tables, code folders, the demo generator) into one schema."""

from tasks.ingest.config import IngestConfig
from tasks.ingest.stage import IngestStage

__all__ = ["IngestConfig", "IngestStage"]
