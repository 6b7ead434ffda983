"""The evaluation recipe: which model, how it generates, which benchmarks from where, and the optional judge.

    name: paper
    model: {path: virl:latest}                     # a checkpoint folder, a hub id, vinci:tiny, sft:latest, virl:latest
    generation: {backend: auto, max_new_tokens: 4096, batch_size: 16}
    benchmarks:
      - {name: chartmimic, path: /data/ChartMimic/direct_600}
      - {name: design2code, path: /data/Design2Code/testset_final}
      - {name: unisvg, path: /data/UniSVG/isvgen.parquet}
      - {name: image2struct, path: /data/image2struct/latex.parquet}
      - {name: chemdraw, path: /data/chemdraw/test.csv}
    weights: {clip: /models/clip-vit-large-patch14-336, lpips: /models/lpips, fingerprint: rdkit}
    judge: {endpoint: http://127.0.0.1:8001/v1, model: gpt-4o-2024-05-13}

A benchmark entry either reads a released benchmark from `path` (evaluation/loaders.py) or, with
`name: heldout`, takes rows of a pipeline dataset that no checkpoint in the model's lineage trained on
(evaluation/heldout.py) and scores each language with its benchmark's metric.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from evaluation.loaders import BENCHMARKS
from evaluation.metrics.chartmimic_judge import JudgeConfig
from evaluation.scoring import Weights
from training.generate import GenerationConfig
from training.models import ModelSpec
from training.recipes import merge


class BenchmarkSource(BaseModel):
    """One benchmark to run: a released benchmark from a local path, or held-out rows of a pipeline dataset."""

    model_config = ConfigDict(extra="forbid")

    name: Literal["chartmimic", "design2code", "unisvg", "image2struct", "chemdraw", "heldout"]
    path: str | None = Field(None, description="the benchmark's local folder or table (not for heldout)")
    limit: int | None = Field(None, gt=0, description="the first N samples by id (smoke runs)")
    # heldout only
    dataset: str = Field("dedup", description="heldout: the pipeline dataset (stage name, stage@version or URI)")
    split: str | None = Field(None, description="heldout: keep rows of this split; None keeps all")
    languages: list[str] | None = Field(None, description="heldout: keep only these languages")
    per_language: int | None = Field(None, gt=0, description="heldout: at most N rows per language")

    @model_validator(mode="after")
    def _path(self) -> BenchmarkSource:
        if self.name != "heldout" and not self.path:
            raise ValueError(f"benchmark {self.name} needs `path` (its released folder or table)")
        return self


class WeightsSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    clip: str | None = Field(None, description="CLIP folder (UniSVG: ViT-L/14-336, Design2Code: ViT-B/32)")
    lpips: str | None = Field(None, description="folder with alexnet.pth + alex.pth (UniSVG's LPIPS)")
    fingerprint: Literal["rdkit", "morgan2"] = "rdkit"
    reward_encoder: str = Field("ssim", description="held-out languages without a benchmark: the reward encoder")

    def weights(self) -> Weights:
        return Weights(self.clip, self.lpips, self.fingerprint, self.reward_encoder)


class EvalRecipe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9._-]+$")
    model: ModelSpec
    generation: GenerationConfig = Field(default_factory=GenerationConfig)
    benchmarks: list[BenchmarkSource] = Field(min_length=1)
    weights: WeightsSpec = Field(default_factory=WeightsSpec)
    judge: JudgeConfig | None = Field(None, description="ChartMimic's high-level judge; None = reported as not run")
    worst_examples: int = Field(4, ge=0, description="per benchmark, shown target vs render in the report")
    chunk_size: int = Field(64, gt=0, description="answers saved every N samples (a re-run resumes from there)")
    output_dir: str | None = Field(None, description="default: <data_root>/eval/<name>-<hash>")
    data_root: str | None = None

    def unkeyed(self) -> dict[str, Any]:
        """Fields that do not change the numbers: where the run writes and how fast it generates."""
        return {
            "output_dir": True,
            "data_root": True,
            "chunk_size": True,
            "worst_examples": True,
            "generation": {"batch_size", "concurrency", "request_timeout_s"},
            "judge": {"concurrency", "timeout_s"},
        }


RECIPES_DIR = Path(__file__).resolve().parents[1] / "configs" / "evaluate"


def find_eval_recipe(ref: str | os.PathLike[str]) -> Path:
    """A YAML path, or a name under configs/evaluate (`demo` -> configs/evaluate/demo.yaml)."""
    path = Path(ref)
    if path.is_file():
        return path
    named = RECIPES_DIR / f"{ref}.yaml"
    if named.is_file():
        return named
    known = ", ".join(sorted(p.stem for p in RECIPES_DIR.glob("*.yaml")))
    raise FileNotFoundError(f"no evaluation recipe {ref!r}: not a file, and not one of {known} in {RECIPES_DIR}")


def load_eval_recipe(
    recipe: str | os.PathLike[str] | dict[str, Any] | EvalRecipe, overrides: dict[str, Any] | None = None
) -> EvalRecipe:
    if isinstance(recipe, EvalRecipe):
        data = recipe.model_dump(mode="json")
    elif isinstance(recipe, dict):
        data = dict(recipe)
    else:
        data = yaml.safe_load(find_eval_recipe(recipe).read_text()) or {}
    return EvalRecipe.model_validate(merge(data, overrides or {}))


__all__ = ["BENCHMARKS", "BenchmarkSource", "EvalRecipe", "WeightsSpec", "load_eval_recipe"]
