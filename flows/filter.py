"""Prefect flow `filter`: generic, web (WebCode2M) and LaTeX rules."""

from __future__ import annotations

from flows.stage import stage_flow

filter = stage_flow(
    "filter",
    "Drop rows that break the domain rules, each with its reason; LaTeX becomes standalone TikZ (tasks/filter).",
)

if __name__ == "__main__":
    filter()
