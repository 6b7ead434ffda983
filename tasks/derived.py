"""Stages that read one upstream dataset (repair, filter, render, dedup) and the parts they share.

`DerivedStage` resolves the upstream version once per stage object (so every shard of a run sees the same
one), keys the version on it, plans one output shard per upstream Parquet file and carries the upstream's
column groups plus its own. `EngineStage` adds one render engine per process, started on first use and
stopped by `close()`, for stages that render (render itself, repair's proof, filter's LaTeX compile).
"""

from __future__ import annotations

import io
import threading
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from renderers.engine import EngineConfig
from renderers.result import RenderOptions
from storage import filesystem as fsys
from storage.dataset import DataRoot, DatasetVersion, damaged, unreadable_parquet
from storage.manifest import InputRecord, Manifest
from tasks.stage import Stage


class DerivedConfig(BaseModel):
    """Fields every derived stage's config has; subclasses give `input` its default."""

    model_config = ConfigDict(extra="forbid")

    input: str = Field(min_length=1, description="stage whose dataset this stage reads")
    input_version: str | None = Field(None, description="a version of that stage (default: its latest)")
    data_root: str | None = Field(None, description="where datasets live; default VINCI_DATA_ROOT or ./data")


class RenderingConfig(DerivedConfig):
    """A derived stage that renders: render options (part of the version) and pools (not part of it)."""

    options: RenderOptions = Field(default_factory=RenderOptions, description="timeouts, limits, dpi, sizes")
    engine: EngineConfig = Field(default_factory=EngineConfig, description="worker pools (not part of the version)")
    workers: int | None = Field(None, gt=0, description="sandbox render workers when engine.sandbox_workers is unset")


class DerivedStage(Stage):
    """A stage over the shards of one upstream dataset (`config.input`, `config.input_version`)."""

    adds: ClassVar[tuple[str, ...]] = ()  # column groups this stage adds to the upstream's

    def __init__(self, config: Any, root: str):
        super().__init__(config, root)
        self._source: Manifest | None = None

    @property
    def source(self) -> Manifest:
        """Manifest of the upstream dataset (its latest version unless `input_version` names one)."""
        if self._source is None:
            root = DataRoot(self.root)
            cfg = self.config
            version = root.version(cfg.input, cfg.input_version) if cfg.input_version else root.latest(cfg.input)
            self._source = version.manifest()
        return self._source

    @property
    def schema_stages(self) -> tuple[str, ...]:  # type: ignore[override]
        groups = list(self.source.extra.get("schema_stages", ()))
        groups += [g for g in self.adds if g not in groups]
        return tuple(groups)

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

    @staticmethod
    def read_rows(spec: dict[str, Any], columns: list[str] | None = None) -> list[dict[str, Any]]:
        """Rows of the shard's upstream file; `columns` limits them to those columns the file has."""
        import pyarrow.parquet as pq

        try:
            blob = fsys.read_bytes(spec["file"])
        except FileNotFoundError as exc:
            raise damaged(spec["file"], exc) from exc
        try:
            parquet = pq.ParquetFile(io.BytesIO(blob))
            if columns is not None:
                columns = [c for c in columns if c in parquet.schema_arrow.names]
            return parquet.read(columns=columns).to_pylist()
        except Exception as exc:
            if not unreadable_parquet(exc):
                raise
            raise damaged(spec["file"], exc) from exc  # not a raw pyarrow error that names no file


class EngineStage(DerivedStage):
    """A derived stage that renders: one engine per process (`config.engine`, `config.workers`)."""

    def __init__(self, config: Any, root: str):
        super().__init__(config, root)
        self._engine = None
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
    def engine(self):
        from renderers.engine import RenderEngine  # late: tests replace it

        with self._lock:
            if self._engine is None:
                cfg = self.config.engine
                if cfg.sandbox_workers is None and self.config.workers:
                    cfg = cfg.model_copy(update={"sandbox_workers": self.config.workers})
                self._engine = RenderEngine(cfg)
            return self._engine

    def close(self) -> None:
        with self._lock:
            engine, self._engine = self._engine, None
        if engine is not None:
            engine.close()
