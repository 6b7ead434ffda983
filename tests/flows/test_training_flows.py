"""drafts -> sft through Prefect: the prepare task trains the specialist, SFT trains on direct + refine rows."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.prefect


def test_drafts_then_sft_flows(prefect_api, tiny_model, curated_root):
    from prefect import flow

    from flows.drafts import drafts
    from flows.sft import sft

    specialist = {
        "recipe": "tiny-cpu",
        "overrides": {"model": {"path": str(tiny_model)}, "trainer": {"max_steps": 1}, "data": {"max_rows": None}},
    }
    drafts_config = {
        "specialists": {"chart": specialist},
        "generation": {"backend": "transformers", "max_new_tokens": 16, "temperature": 1.0, "batch_size": 4},
        "options": {"timeout_s": 20},
    }
    recipe_overrides = {
        "model": {"path": str(tiny_model)},
        "data": {"datasets": ["dedup", "drafts"], "max_rows": None},
        "trainer": {"max_steps": 2},
    }

    @flow
    def chain():
        d = drafts(config=drafts_config, data_root=curated_root)
        s = sft(config="tiny-cpu", data_root=curated_root, overrides=recipe_overrides)
        return d, s

    d, s = chain()
    assert d["stage"] == "drafts" and d["rows"] + d["rejected"] == 4  # 8 charts: 4 train the specialist
    assert d["report"][0]["domain"] == "chart" and d["report"][0]["drafts"] == 4
    assert s["stage"] == "sft" and s["rows_by_task"]["direct"] == 16
    assert s["rows_by_task"].get("refine", 0) == d["rows"]
    assert s["generation_check"]["generated_chars"] > 0
    rows = {r["field"]: r["value"] for r in prefect_api.artifact("sft-summary")}
    assert rows["checkpoint"] == s["checkpoint"] and "generation_check" in rows
    assert {r["domain"] for r in prefect_api.artifact("drafts-report")} == {"chart"}
