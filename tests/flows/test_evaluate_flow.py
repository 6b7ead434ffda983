"""The `evaluate` flow against a real temporary Prefect server: a ChemDraw table answered through the oracle
endpoint on loopback ends Completed with the Table-3 artifact and the report artifact."""

from __future__ import annotations

import csv

import pytest

import renderers
from flows.evaluate import evaluate

pytestmark = pytest.mark.prefect


def test_evaluate_flow_publishes_table3_and_report(prefect_api, data_root, tmp_path, oracle_endpoint):
    folder = tmp_path / "chem"
    folder.mkdir()
    with (folder / "test.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "image", "smiles"])
        for name, smiles, answer in (("acid", "CC(=O)O", "CC(O)=O"), ("ring", "C1CCCCC1", "not a molecule")):
            png = renderers.render(smiles, "smiles").image
            (folder / f"{name}.png").write_bytes(png)
            writer.writerow([name, f"{name}.png", smiles])
            oracle_endpoint.answer(png, f"```smiles\n{answer}\n```")
    recipe = {
        "name": "flow",
        "model": {"path": "oracle-model"},
        "generation": {"backend": "openai", "endpoint": oracle_endpoint.url},
        "benchmarks": [{"name": "chemdraw", "path": str(folder / "test.csv")}],
    }
    state = evaluate(config=recipe, data_root=data_root, return_state=True)
    assert state.is_completed()
    summary = state.result()
    assert summary["stage"] == "evaluate" and summary["samples"] == {"chemdraw": 2}
    table = prefect_api.artifact("eval-table3")
    assert {"benchmark": "ChemDraw", "metric": "Exec rate", "value": 50.0, "note": ""} in table
    assert {"benchmark": "ChemDraw", "metric": "Tanimoto", "value": 50.0, "note": "fingerprint rdkit"} in table
    assert prefect_api.task_states(state.state_details.flow_run_id, "evaluate-run") == ["Completed"]
