"""Where a stage's shard tasks run: on this machine (default) or on a Dask cluster through prefect-dask.

    runner: local                          # threads drive the tasks, a local process pool runs the shards
    runner: dask                           # a temporary Dask LocalCluster for this run (workers = CPU count)
    runner: {kind: dask, address: tcp://scheduler:8786}   # an existing cluster, e.g. `dask scheduler` + workers
    runner: {kind: dask, workers: 4, threads_per_worker: 1}

With Dask, the stage flow runs a subflow `<stage>-on-dask` whose task runner is `DaskTaskRunner`: plan, prepare and
finalize stay in the flow's process, and every survey and shard task is a Prefect task run executed by a Dask
worker, which runs the shard itself (no nested process pool). The outputs, versions and resume rules are the local
ones: the runner is an execution setting and not part of a dataset's version.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from vinci.settings import PROJECT_ROOT, default_workers

RUNNERS = ("local", "dask")
# the shard-parallel stages a runner applies to; drafts (model generation) and training keep their own placement
CLUSTER_STAGES = ("ingest", "repair", "filter", "render", "dedup")


class RunnerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["local", "dask"] = "local"
    address: str | None = Field(None, description="an existing Dask scheduler; none = a temporary LocalCluster")
    workers: int | None = Field(None, ge=1, description="LocalCluster worker processes (default: the CPU count)")
    threads_per_worker: int = Field(1, ge=1, description="threads per LocalCluster worker")

    @property
    def is_local(self) -> bool:
        return self.kind == "local"


def load_runner(value: str | dict[str, Any] | RunnerConfig | None) -> RunnerConfig:
    """`local`, `dask`, a YAML file holding a runner mapping, a mapping, or None (local)."""
    if value is None or isinstance(value, RunnerConfig):
        return value or RunnerConfig()
    if isinstance(value, dict):
        return RunnerConfig.model_validate(value)
    if value in RUNNERS:
        return RunnerConfig(kind=value)
    path = Path(value)
    if not path.is_absolute() and not path.exists():
        path = PROJECT_ROOT / path
    if path.suffix in (".yaml", ".yml") and path.is_file():
        data = yaml.safe_load(path.read_text()) or {}
        return load_runner(data.get("runner", data) if isinstance(data, dict) else data)
    raise ValueError(f"runner {value!r}: expected one of {RUNNERS}, a mapping, or a YAML file that holds one")


def task_runner(cfg: RunnerConfig):
    """The Prefect task runner of a Dask runner config (prefect-dask's DaskTaskRunner)."""
    from prefect_dask import DaskTaskRunner

    if cfg.address:
        return DaskTaskRunner(address=cfg.address)
    return DaskTaskRunner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={
            "n_workers": cfg.workers or default_workers(),
            "threads_per_worker": cfg.threads_per_worker,
            "processes": True,
            "dashboard_address": ":0",  # a free port: runs side by side do not collide on 8787
        },
    )
