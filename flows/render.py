"""Prefect flow `render`: draw every row of an upstream dataset with the render engine."""

from __future__ import annotations

from flows.stage import stage_flow

render = stage_flow(
    "render",
    "Render every row of the upstream dataset; failures are kept with their error kind (tasks/render_stage.py).",
)

if __name__ == "__main__":
    render()
