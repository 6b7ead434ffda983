"""The reward in TRL's shape: `reward(prompts, completions, **columns) -> list[float]`.

GRPOTrainer passes every dataset column (here `image`, `instruction`, `language`, `id`) as a list beside the
completions. Three functions share one scorer:

    VisualReward     visual part only (0 on any failure), logs execution rate, tiles and error kinds
    AlignmentReward  1 when the answer has a block tagged with the target language, else 0
    ViRLReward       the combined 0.9 * visual + 0.1 * alignment (for a single-function trainer and the CLI)

The ViRL stage registers visual and alignment with `reward_weights` [0.9, 0.1], so TRL sums them into the same
combined reward and also logs each part. Each call's per-rollout diagnostics go to TRL's completion table
(`log_extra`) and, when a `RolloutLog` is attached, to a JSONL file under the run folder.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from training.rewards.alignment import align, completion_text, target_language
from training.rewards.scorer import RewardResult, Rollout, summarize


def _instruction_of(prompt: Any) -> str | None:
    """The last user text of a (conversational) prompt."""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list | tuple):
        users = [m for m in prompt if isinstance(m, dict) and m.get("role") == "user"]
        return completion_text(users[-1]) if users else None
    return None


def _column(columns: dict[str, Any], name: str, n: int) -> list[Any]:
    values = columns.get(name)
    return list(values) if values is not None else [None] * n


def rollouts_from(prompts: Sequence[Any], completions: Sequence[Any], columns: dict[str, Any]) -> list[Rollout]:
    """Rollouts from what GRPOTrainer passes: the target from `image` (or the first of `images`)."""
    n = len(completions)
    images = columns.get("image")
    if images is None and columns.get("images") is not None:
        images = [imgs[0] if imgs else None for imgs in columns["images"]]
    if images is None:
        raise ValueError("the ViRL reward needs the target image: the dataset must have an `image` column")
    instructions = _column(columns, "instruction", n)
    languages = _column(columns, "language", n)
    prompts = list(prompts) if prompts is not None else [None] * n
    return [
        Rollout(
            target=images[i],
            completion=completion_text(completions[i]),
            instruction=instructions[i] if instructions[i] is not None else _instruction_of(prompts[i]),
            language=languages[i],
        )
        for i in range(n)
    ]


class RolloutLog:
    """Appends one JSON line per scored rollout (run folder, step, id, reward parts, diagnostics, the answer's head)."""

    def __init__(self, path: str | Path, text_chars: int = 600):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.text_chars = text_chars
        self._lock = threading.Lock()

    def write(
        self, step: int | None, ids: Sequence[Any], rollouts: Sequence[Rollout], results: Sequence[RewardResult]
    ) -> None:
        lines = []
        for row_id, rollout, result in zip(ids, rollouts, results, strict=True):
            head = (rollout.completion or "")[: self.text_chars]
            line = {"run": self.path.parent.name, "step": step, "id": row_id, **result.as_dict(), "completion": head}
            lines.append(json.dumps(line, default=str))
        with self._lock, self.path.open("a") as fh:
            fh.write("\n".join(lines) + "\n")


class _ScoredReward:
    """Shared by the visual and combined rewards: score with the scorer, log, pick a part."""

    __name__ = "virl"
    part = "reward"

    def __init__(self, scorer, log: RolloutLog | None = None):
        self.scorer = scorer
        self.log = log
        self.last: list[RewardResult] = []

    def __call__(
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] = (),
        log_metric: Callable[[str, float], None] | None = None,
        log_extra: Callable[[str, list], None] | None = None,
        trainer_state: Any = None,
        **columns: Any,
    ) -> list[float]:
        rollouts = rollouts_from(prompts, completions, columns)
        results = self.scorer.score(rollouts)
        self.last = results
        if log_metric is not None:
            for name, value in summarize(results).items():
                if name not in ("reward", "visual", "alignment"):  # TRL already logs the reward functions
                    log_metric(f"virl/{name}", value)
        if log_extra is not None:
            log_extra("language", [r.language for r in results])
            log_extra("error_kind", [r.error_kind or "" for r in results])
            log_extra("tiles", [r.tiles for r in results])
        if self.log is not None:
            step = getattr(trainer_state, "global_step", None)
            self.log.write(step, _column(columns, "id", len(results)), rollouts, results)
        return [float(getattr(r, self.part)) for r in results]


class VisualReward(_ScoredReward):
    __name__ = "visual"
    part = "visual"


class ViRLReward(_ScoredReward):
    __name__ = "virl"
    part = "reward"


class AlignmentReward:
    """1.0 when the completion has a block tagged with the instruction's language; needs no rendering."""

    __name__ = "alignment"

    def __call__(self, prompts: Sequence[Any] | None = None, completions: Sequence[Any] = (), **columns: Any):
        rollouts = rollouts_from(prompts, completions, {"image": [None] * len(completions), **columns})
        out = []
        for rollout in rollouts:
            target = target_language(rollout.instruction, rollout.language)
            out.append(align(rollout.completion, target.language).score)
        return out


def grpo_reward_functions(scorer, log: RolloutLog | None = None) -> tuple[list[Any], list[float]]:
    """The functions and weights the ViRL stage hands GRPOTrainer: visual and alignment, 0.9 / 0.1 by default."""
    cfg = scorer.config
    return [VisualReward(scorer, log), AlignmentReward()], [cfg.visual_weight, cfg.alignment_weight]
