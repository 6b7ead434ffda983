"""Prefect flow `ingest`: read every configured source into the sample schema."""

from __future__ import annotations

from flows.stage import stage_flow

ingest = stage_flow("ingest", "Read every configured source into the sample schema (tasks/ingest).")

if __name__ == "__main__":
    ingest()
