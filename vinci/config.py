"""Stage configs from YAML files (or dicts), validated by the stage's pydantic model with readable errors."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    pass


def read_yaml(path: str | os.PathLike[str]) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {p} does not exist (paths are relative to {Path.cwd()})")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: expected a mapping at the top level")
    return data


def load_config(source: str | os.PathLike[str] | dict[str, Any] | M, model: type[M]) -> M:
    """Validate a config given as a YAML path, a dict or an instance of `model`."""
    if isinstance(source, model):
        return source
    where = "config"
    if isinstance(source, dict):
        data = source
    else:
        where = str(source)
        data = read_yaml(source)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
            lines.append(f"  {loc}: {err['msg']}")
        raise ConfigError(f"{where} is not a valid {model.__name__}:\n" + "\n".join(lines)) from None


def resolve_path(path: str, relative_to: str | None) -> str:
    """A path from a config: as given if it exists from the working directory, else next to the config file."""
    if os.path.isabs(path) or os.path.exists(path) or relative_to is None:
        return path
    candidate = os.path.join(os.path.dirname(os.path.abspath(relative_to)), path)
    return candidate if os.path.exists(candidate) else path
