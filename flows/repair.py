"""Prefect flow `repair`: Ruff + heuristics over chart code, with the render proof."""

from __future__ import annotations

from flows.stage import stage_flow

repair = stage_flow(
    "repair", "Repair chart code with Ruff and heuristics, proved by rendering before and after (tasks/repair)."
)

if __name__ == "__main__":
    repair()
