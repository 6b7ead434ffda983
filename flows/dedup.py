"""Prefect flow `dedup`: survey hashes per shard, decide once, write the kept rows."""

from __future__ import annotations

from flows.stage import stage_flow

dedup = stage_flow("dedup", "pHash near-duplicate removal and a diverse subset by mini-batch K-means (tasks/dedup).")

if __name__ == "__main__":
    dedup()
