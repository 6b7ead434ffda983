"""Prefect flow `drafts`: specialists per domain draft code; imperfect drafts become refine rows."""

from __future__ import annotations

from flows.stage import stage_flow

drafts = stage_flow(
    "drafts",
    "Train or load a specialist per domain, draft code for rows it did not see, keep imperfect drafts as "
    "task=refine rows (tasks/drafts).",
)

if __name__ == "__main__":
    drafts()
