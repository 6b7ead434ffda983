"""Training recipes: YAML files that say which model, which data, which trainer settings and how to launch.

A recipe is validated by pydantic (unknown keys are errors), `trainer` is passed to TRL's config class as is (its
own validation names a bad field), and `--set key.sub=value` overrides work on the YAML before validation. The
resolved recipe (datasets pinned to versions, output folder, library versions) is saved beside the checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field

from training.models import ModelSpec
from vinci.config import ConfigError, load_config, read_yaml

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
RECIPES_DIR = Path(__file__).resolve().parent / "recipes"
ACCELERATE_DIR = Path(__file__).resolve().parent / "accelerate"

M = TypeVar("M", bound=BaseModel)


class DataSpec(BaseModel):
    """Which rows to train on: datasets by stage name (LATEST), `stage@version` or version-folder URI."""

    model_config = ConfigDict(extra="forbid")

    datasets: list[str] = Field(min_length=1)
    split: str | None = Field("train", description="keep rows of this split; None keeps all")
    domains: list[str] | None = Field(None, description="keep only these domains (a specialist's domain)")
    tasks: list[str] | None = Field(None, description="direct and/or refine; None keeps both")
    include_ids: str | None = Field(None, description="Parquet file with an `id` column: train on these rows only")
    exclude_ids: str | None = Field(None, description="Parquet file with an `id` column: never train on these")
    max_rows: int | None = Field(None, gt=0, description="cap after shuffling (smoke runs)")
    seed: int = 0


class LauncherSpec(BaseModel):
    """In-process for one device; `accelerate launch` in a subprocess for several (DDP, ZeRO-3, FSDP)."""

    model_config = ConfigDict(extra="forbid")

    accelerate_config: str | None = Field(None, description="accelerate config YAML (training/accelerate/*.yaml)")
    num_processes: int = Field(1, gt=0)
    main_process_port: int | None = None

    @property
    def subprocess(self) -> bool:
        return self.accelerate_config is not None or self.num_processes > 1


class TrainingRecipe(BaseModel):
    """What every training step's recipe has: model, data, trainer settings, where to write, how to launch."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9._-]+$")
    model: ModelSpec
    data: DataSpec
    trainer: dict[str, Any] = Field(default_factory=dict, description="the TRL config class's fields")
    freeze_vision: bool = Field(False, description="keep the vision tower's weights fixed")
    output_dir: str | None = Field(None, description="default: <data_root>/<step>/<name>-<hash>")
    data_root: str | None = None
    launcher: LauncherSpec = Field(default_factory=LauncherSpec)

    def unkeyed_fields(self) -> dict[str, Any]:
        """Fields that do not change what is trained (left out of the run folder's key; pydantic `exclude`)."""
        return {"output_dir": True, "data_root": True, "launcher": True}


class SFTRecipe(TrainingRecipe):
    """Supervised fine-tuning of a vision-language model on direct + refine rows (TRL SFTTrainer)."""

    check_generation: bool = Field(True, description="reload the saved checkpoint and generate once")

    def unkeyed_fields(self) -> dict[str, Any]:
        return {**super().unkeyed_fields(), "check_generation": True}


def set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set `a.b.c` in nested dicts, creating levels as needed."""
    keys = dotted.split(".")
    node = data
    for key in keys[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise ConfigError(f"cannot set {dotted}: {key} is not a mapping")
    node[keys[-1]] = value


def parse_overrides(items: list[str] | None) -> dict[str, Any]:
    """`key.sub=value` strings (values parsed as YAML: numbers, booleans, lists) into a nested dict."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {item!r} is not key=value")
        set_path(out, key.strip(), _value(raw))
    return out


def _value(raw: str) -> Any:
    """A YAML value; numbers YAML 1.1 leaves as strings (`3e-3`, `1e5`) become floats."""
    value = yaml.safe_load(raw)
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        return float(value)
    return value


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def find_recipe(ref: str | os.PathLike[str], kind: str = "sft") -> Path:
    """A recipe path as given, or a name under training/recipes/<kind>/ (with or without `.yaml`)."""
    path = Path(ref)
    if path.exists():
        return path
    for candidate in (RECIPES_DIR / kind / f"{ref}.yaml", RECIPES_DIR / kind / str(ref)):
        if candidate.exists():
            return candidate
    known = ", ".join(sorted(p.stem for p in (RECIPES_DIR / kind).glob("*.yaml")))
    raise ConfigError(f"recipe {ref} not found (as a path, or by name under {RECIPES_DIR / kind}: {known})")


def load_recipe(
    source: str | os.PathLike[str] | dict[str, Any] | M,
    model: type[M],
    overrides: dict[str, Any] | None = None,
    kind: str = "sft",
) -> M:
    if isinstance(source, model) and not overrides:
        return source
    if isinstance(source, BaseModel):
        data = source.model_dump(mode="json")
    elif isinstance(source, dict):
        data = source
    else:
        data = read_yaml(find_recipe(source, kind))
    return load_config(merge(data, overrides or {}), model)


def fingerprint(payload: Any) -> str:
    return hashlib.blake2b(json.dumps(payload, sort_keys=True, default=str).encode(), digest_size=6).hexdigest()


def accelerate_config_path(ref: str) -> Path:
    """An accelerate config as a path, or by name under training/accelerate/."""
    path = Path(ref)
    if path.exists():
        return path
    candidate = ACCELERATE_DIR / (ref if ref.endswith(".yaml") else f"{ref}.yaml")
    if candidate.exists():
        return candidate
    raise ConfigError(f"accelerate config {ref} not found (as a path or under {ACCELERATE_DIR})")
