"""The render stage: run every row's code through the render engine and keep the image it draws.

One output shard per upstream shard file. A row that rendered gets the rendered PNG as its `image`; a row that
failed keeps its source image (if any) and is kept, not rejected, with `render_ok = false` and its typed
`error_kind`, so later stages can drop it and anyone can query why it failed:

    vinci query "SELECT language, error_kind, count(*) FROM render GROUP BY ALL"

Shards run in threads of one process (`executor = "threads"`): the engine's warm worker pools are the
parallelism, and one engine per process serves every shard. It starts on first use and `close()` stops it.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from renderers.engine import EngineConfig, RenderEngine
from renderers.result import RenderOptions, RenderResult
from storage import filesystem as fsys
from storage.dataset import DataRoot, DatasetVersion
from storage.manifest import InputRecord, Manifest
from tasks.stage import Rejection, Stage, Tally

ERROR_CHARS = 4096  # longest error message kept in a row (TeX logs and tracebacks can be long)


class RenderConfig(BaseModel):
    """Which dataset to render and how."""

    model_config = ConfigDict(extra="forbid")

    input: str = Field("ingest", min_length=1, description="stage whose dataset is rendered")
    input_version: str | None = Field(None, description="a version of that stage (default: its latest)")
    options: RenderOptions = Field(default_factory=RenderOptions, description="timeouts, limits, dpi, sizes")
    engine: EngineConfig = Field(default_factory=EngineConfig, description="worker pools (not part of the version)")
    workers: int | None = Field(None, gt=0, description="sandbox render workers when engine.sandbox_workers is unset")
    data_root: str | None = Field(None, description="where datasets live; default VINCI_DATA_ROOT or ./data")


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


class RenderStage(Stage):
    name = "render"
    executor = "threads"
    code_modules = ("tasks.render_stage", "renderers", "schemas")
    config: RenderConfig

    def __init__(self, config: RenderConfig, root: str):
        super().__init__(config, root)
        self._source: Manifest | None = None
        self._engine: RenderEngine | None = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        state = {**self.__dict__, "_engine": None}
        state.pop("_lock")
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def identity(self) -> dict[str, Any]:
        """Pool sizes do not change what is rendered, so the engine config is not part of the version."""
        return {k: v for k, v in super().identity().items() if k != "engine"}

    @property
    def source(self) -> Manifest:
        """Manifest of the upstream dataset (resolved once per stage object, so every shard sees the same)."""
        if self._source is None:
            root = DataRoot(self.root)
            cfg = self.config
            version = root.version(cfg.input, cfg.input_version) if cfg.input_version else root.latest(cfg.input)
            self._source = version.manifest()
        return self._source

    @property
    def schema_stages(self) -> tuple[str, ...]:  # type: ignore[override]
        upstream = tuple(self.source.extra.get("schema_stages", ()))
        return upstream if "render" in upstream else (*upstream, "render")

    @property
    def engine(self) -> RenderEngine:
        with self._lock:
            if self._engine is None:
                cfg = self.config.engine
                if cfg.sandbox_workers is None and self.config.workers:
                    cfg = cfg.model_copy(update={"sandbox_workers": self.config.workers})
                self._engine = RenderEngine(cfg)
            return self._engine

    def inputs(self) -> list[InputRecord]:
        m = self.source
        return [
            InputRecord(
                name=m.stage,
                kind="dataset",
                uri=m.uri,
                fingerprint=f"{m.stage}:{m.version}",
                files=len(m.files),
                bytes=m.bytes,
            )
        ]

    def upstream(self) -> list[dict[str, Any]]:
        m = self.source
        return [{"stage": m.stage, "version": m.version, "uri": m.uri}]

    def shard_specs(self, version: DatasetVersion) -> list[dict[str, Any]]:
        m = self.source
        return [{"file": fsys.join(m.uri, name), "index": i} for i, name in enumerate(m.files)]

    def process(self, spec: dict[str, Any]) -> Iterator[dict[str, Any] | Rejection | Tally]:
        import pyarrow.parquet as pq

        rows = pq.read_table(io.BytesIO(fsys.read_bytes(spec["file"]))).to_pylist()
        options = self.config.options
        results = self.engine.render_many([(r["code"], r["language"], options) for r in rows])
        for row, result in zip(rows, results, strict=True):
            yield Tally(f"rendered_{row['language']}" if result.ok else f"failed_{result.error_kind}")
            yield rendered_row(row, result)

    def close(self) -> None:
        with self._lock:
            engine, self._engine = self._engine, None
        if engine is not None:
            engine.close()
