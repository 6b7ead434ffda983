"""The stages that exist, in pipeline order, and how to build one from its config."""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tasks.dedup.stage import DedupConfig, DedupStage
from tasks.drafts.stage import DraftsConfig, DraftsStage
from tasks.filter.stage import FilterConfig, FilterStage
from tasks.ingest import IngestConfig, IngestStage
from tasks.render_stage import RenderConfig, RenderStage
from tasks.repair.stage import RepairConfig, RepairStage
from tasks.stage import Stage
from vinci.config import ConfigError, load_config, resolve_path
from vinci.settings import data_root

# name -> (config model, stage class); pipeline order is this order (the paper's, §3.2: sources are read,
# chart code repaired, domains filtered, everything re-rendered, then deduplicated and sampled; §3.2.2: specialists
# draft refinement rows from the curated data).
STAGES: dict[str, tuple[type[BaseModel], type[Stage]]] = {
    "ingest": (IngestConfig, IngestStage),
    "repair": (RepairConfig, RepairStage),
    "filter": (FilterConfig, FilterStage),
    "render": (RenderConfig, RenderStage),
    "dedup": (DedupConfig, DedupStage),
    "drafts": (DraftsConfig, DraftsStage),
}

# Steps that follow the data stages in a pipeline; their config is a recipe (training/recipes/<step>/, and
# configs/evaluate/ for evaluate). `merge` (the optional VisCodex backbone merge) runs first, and SFT then starts
# from the merged checkpoint (`step_overrides`).
TRAINING_STEPS: tuple[str, ...] = ("merge", "sft", "virl", "evaluate")
PIPELINE_ORDER: tuple[str, ...] = (*STAGES, *TRAINING_STEPS)


class PipelineConfig(BaseModel):
    """Which stages the pipeline runs, each with its own config file, and where the data goes."""

    model_config = ConfigDict(extra="forbid")

    data_root: str | None = None
    workers: int | None = Field(None, gt=0)
    runner: str | dict[str, Any] | None = Field(
        None, description="where shard-parallel stages run: local (default), dask, or a mapping (flows/runner.py)"
    )
    stages: dict[str, str] = Field(min_length=1, description="stage name -> config path (training: recipe path)")

    def ordered(self) -> list[tuple[str, str]]:
        unknown = [s for s in self.stages if s not in PIPELINE_ORDER]
        if unknown:
            raise ConfigError(f"unknown stage(s) {unknown}; known stages, in order: {', '.join(PIPELINE_ORDER)}")
        return [(name, self.stages[name]) for name in PIPELINE_ORDER if name in self.stages]


def build_stage(name: str, config: str | dict[str, Any] | BaseModel, root: str | None = None) -> Stage:
    """Stage `name` with its validated config; the data root is `root`, else the config's, else the default."""
    if name not in STAGES:
        raise ConfigError(f"unknown stage {name!r}; known: {', '.join(STAGES)}")
    model, stage_cls = STAGES[name]
    cfg = load_config(config, model)
    return stage_cls(cfg, data_root(root or getattr(cfg, "data_root", None)))


def step_overrides(name: str, results: dict[str, Any]) -> dict[str, Any] | None:
    """Recipe overrides a pipeline step takes from the steps before it: SFT starts from the merged checkpoint when
    the pipeline ran a merge; nothing otherwise."""
    if name == "sft" and results.get("merge"):
        return {"model": {"path": results["merge"]["checkpoint"]}}
    return None


def load_pipeline(config: str | dict[str, Any]) -> tuple[PipelineConfig, list[tuple[str, str]]]:
    cfg = load_config(config, PipelineConfig)
    base = config if isinstance(config, str | os.PathLike) else None
    return cfg, [(name, resolve_path(path, base)) for name, path in cfg.ordered()]
