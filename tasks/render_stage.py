"""The render stage: run every row's code through the render engine and keep the image it draws.

One output shard per upstream shard file. A row that rendered gets the rendered PNG as its `image`; a row that
failed keeps its source image (if any) and is kept, not rejected, with `render_ok = false` and its typed
`error_kind`, so later stages can drop it and anyone can query why it failed:

    vinci query "SELECT language, error_kind, count(*) FROM render GROUP BY ALL"

Shards run in threads of one process (`executor = "threads"`): the engine's warm worker pools are the
parallelism, and one engine per process serves every shard. It starts on first use and `close()` stops it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import Field

from renderers.result import RenderResult
from tasks.derived import EngineStage, RenderingConfig
from tasks.stage import Rejection, Tally

ERROR_CHARS = 4096  # longest error message kept in a row (TeX logs and tracebacks can be long)


class RenderConfig(RenderingConfig):
    """Which dataset to render and how."""

    input: str = Field("ingest", min_length=1, description="stage whose dataset is rendered")


def render_ms(result: RenderResult) -> float:
    """Wall time of the render job in ms: the worker's own measure when it has one (no queueing included)."""
    seconds = result.diagnostics.get("job_s", result.elapsed)
    return round(float(seconds) * 1000, 3)


def rendered_row(row: dict[str, Any], result: RenderResult) -> dict[str, Any]:
    """The input row plus the render columns; the rendered image replaces the source image when there is one."""
    out = dict(row)
    if result.image is not None:  # ok, or a failure that still drew something (multi_page: the first page)
        out["image"] = {"bytes": result.image, "path": f"{row['id']}.png"}
        out["image_width"], out["image_height"] = result.width, result.height
    out["render_ok"] = result.ok
    out["error_kind"] = result.error_kind
    out["render_error"] = None if result.ok else (result.error_message or "")[:ERROR_CHARS]
    out["render_ms"] = render_ms(result)
    return out


class RenderStage(EngineStage):
    name = "render"
    executor = "threads"
    adds = ("render",)
    code_modules = ("tasks.render_stage", "tasks.derived", "renderers", "schemas")
    config: RenderConfig

    def process(self, spec: dict[str, Any]) -> Iterator[dict[str, Any] | Rejection | Tally]:
        rows = self.read_rows(spec)
        options = self.config.options
        results = self.engine.render_many([(r["code"], r["language"], options) for r in rows])
        for row, result in zip(rows, results, strict=True):
            yield Tally(f"rendered_{row['language']}" if result.ok else f"failed_{result.error_kind}")
            yield rendered_row(row, result)
