"""Refinement drafts: specialists per domain write first-pass code; imperfect drafts become `task=refine` rows."""
