"""The ViRL reward for a batch of rollouts: render every answer in the warm sandbox pools, encode as they finish.

    reward = visual_weight * visual + alignment_weight * alignment        (0.9 / 0.1 by default)

For each rollout the target language comes from the instruction (`alignment.target_language`), the code is the
last block tagged with that language, and visual is 0 when there is no such block, the render fails, the image
is not valid or is larger than `max_pixels` (83 M by default). Otherwise visual is the coarse-to-fine score of
`visual.visual_scores`.

Rendering and encoding overlap: every render is submitted to the engine's pools at once; the caller's thread
encodes the finished ones in chunks of about one encoder batch while the rest still render. A render that has not
finished `render_timeout_s + grace_s` after it started is given up as `timeout` (the engine itself kills the job
at `render_timeout_s`; this is the second line of defence), so a stuck render can never stall a training step.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from renderers.engine import EngineConfig, RenderEngine
from renderers.result import RenderOptions
from training.rewards.alignment import align, target_language
from training.rewards.tiling import MAX_PIXELS, MAX_TILES, MIN_TILES, VisualInputError, choose_grid, load_rgb

log = logging.getLogger(__name__)


class RewardConfig(BaseModel):
    """How the reward is computed and where it runs (the `reward` section of a ViRL recipe)."""

    model_config = ConfigDict(extra="forbid")

    encoder: str = Field("dinov2", description="ssim | dinov2 | dinov2:PATH_OR_ID | clip:PATH_OR_ID")
    visual_weight: float = Field(0.9, ge=0)
    alignment_weight: float = Field(0.1, ge=0)
    min_tiles: int = Field(MIN_TILES, ge=1)
    max_tiles: int = Field(MAX_TILES, ge=1)
    max_pixels: int = Field(MAX_PIXELS, gt=0, description="larger target or rendered images score visual 0")
    render_timeout_s: float = Field(30.0, gt=0, description="per render; the engine kills the job after it")
    grace_s: float = Field(15.0, ge=0, description="extra wait before an unfinished render is given up")
    device: str | None = Field(None, description="encoder device (default: cuda when present, else cpu)")
    dtype: str | None = Field(None, description="encoder dtype (default: bfloat16 on GPU, float32 on CPU)")
    batch_size: int = Field(64, gt=0, description="tiles per encoder forward pass")
    render: dict[str, Any] = Field(
        default_factory=dict, description="other renderer options (renderers.RenderOptions: dpi, viewport_width, ...)"
    )
    engine: EngineConfig = Field(default_factory=EngineConfig)
    worker: str | None = Field(
        None, description="None: in the trainer's process; 'spawn': a reward worker process; 'HOST:PORT': a running one"
    )
    worker_device: str | None = Field(None, description="CUDA_VISIBLE_DEVICES of a spawned reward worker")

    @field_validator("render")
    @classmethod
    def _render_options_exist(cls, value: dict[str, Any]) -> dict[str, Any]:
        RenderOptions(**value)  # unknown or invalid options fail when the recipe is read, not mid-training
        return value


@dataclass
class Rollout:
    """One answer to score: the target image, the model's completion and what it was asked."""

    target: Any  # PNG/JPEG bytes or a PIL image
    completion: str
    instruction: str | None = None
    language: str | None = None  # the row's language column: used only when the instruction names none


@dataclass
class RewardResult:
    reward: float
    visual: float
    alignment: float
    language: str
    language_rule: str
    encoder: str
    rendered: bool = False  # a render was attempted
    render_ok: bool = False
    error_kind: str | None = None  # no_code | empty_code | a render error kind | too_large | bad_image | timeout
    tiles: int = 0
    grid: tuple[int, int] | None = None
    render_ms: float | None = None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["grid"] = list(self.grid) if self.grid else None
        return out


def _target_bytes_or_image(value: Any) -> Any:
    if isinstance(value, dict):  # datasets' undecoded Image: {"bytes": ..., "path": ...}
        return value.get("bytes") or value.get("path")
    return value


class RewardScorer:
    """Scores rollouts; owns (or borrows) a render engine and a vision encoder. Thread-safe."""

    def __init__(self, config: RewardConfig | None = None, engine: RenderEngine | None = None, encoder=None):
        self.config = config or RewardConfig()
        self._own_engine = engine is None
        self.engine = engine or RenderEngine(self.config.engine)
        if encoder is None:
            from training.rewards.encoders import load_encoder

            cfg = self.config
            encoder = load_encoder(cfg.encoder, device=cfg.device, dtype=cfg.dtype, batch_size=cfg.batch_size)
        self.encoder = encoder
        self._encode_lock = threading.Lock()
        self._renders = ThreadPoolExecutor(max_workers=self.engine.concurrency, thread_name_prefix="reward-render")
        self._options = RenderOptions(
            **{**self.config.render, "timeout_s": self.config.render_timeout_s, "max_pixels": self.config.max_pixels}
        )

    @property
    def encoder_name(self) -> str:
        return self.encoder.name

    def close(self) -> None:
        self._renders.shutdown(wait=False, cancel_futures=True)
        if self._own_engine:
            self.engine.close()

    def __enter__(self) -> RewardScorer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def score(self, rollouts: Sequence[Rollout]) -> list[RewardResult]:
        cfg = self.config
        results: list[RewardResult | None] = [None] * len(rollouts)
        pending: dict[Future, int] = {}
        started: dict[int, float] = {}

        def render(i: int, code: str, language: str):
            started[i] = time.monotonic()
            return self.engine.render(code, language, self._options)

        for i, rollout in enumerate(rollouts):
            target = target_language(rollout.instruction, rollout.language)
            aligned = align(rollout.completion or "", target.language)
            base = RewardResult(
                reward=cfg.alignment_weight * aligned.score,
                visual=0.0,
                alignment=aligned.score,
                language=target.language,
                language_rule=target.rule,
                encoder=self.encoder_name,
            )
            if aligned.score == 0.0 or aligned.code is None:
                base.error_kind = "no_code" if aligned.score == 0.0 else "empty_code"
                results[i] = base
                continue
            base.rendered = True
            results[i] = base
            pending[self._renders.submit(render, i, aligned.code, target.language)] = i

        # queued renders wait for a free worker: the whole batch gets one render slot per wave, plus grace
        waves = -(-len(pending) // max(1, self.engine.concurrency))
        deadline = time.monotonic() + waves * cfg.render_timeout_s + cfg.grace_s
        ready: list[tuple[int, Any, Any]] = []  # (index, target image, rendered image)
        ready_tiles = 0
        while pending:
            done, _ = wait(list(pending), timeout=0.5, return_when=FIRST_COMPLETED)
            for future in done:
                i = pending.pop(future)
                try:
                    rendered = future.result()
                except Exception as exc:  # noqa: BLE001 - the engine itself failed (closed, broken pool): score 0
                    results[i].error_kind = "sandbox"
                    log.warning("reward render failed outside the sandbox: %s", exc)
                    continue
                pair = self._rendered_pair(results[i], rollouts[i], rendered)
                if pair is not None:
                    ready.append((i, *pair))
                    ready_tiles += 2 * self._pairs(pair[0])
            now = time.monotonic()
            for future, i in list(pending.items()):
                overdue = i in started and now - started[i] > cfg.render_timeout_s + cfg.grace_s
                if overdue or now > deadline:
                    pending.pop(future)
                    future.cancel()
                    results[i].error_kind = "timeout"
            if ready and (ready_tiles >= self.encoder_batch or not pending):
                self._encode(ready, results)
                ready, ready_tiles = [], 0
        if ready:
            self._encode(ready, results)
        return [r for r in results if r is not None]

    @property
    def encoder_batch(self) -> int:
        return int(getattr(self.encoder, "batch_size", self.config.batch_size))

    def _pairs(self, target) -> int:
        cols, rows = choose_grid(target.width, target.height, self.config.min_tiles, self.config.max_tiles)
        return cols * rows + (1 if cols * rows > 1 else 0)

    def _rendered_pair(self, result: RewardResult, rollout: Rollout, rendered) -> tuple[Any, Any] | None:
        result.render_ms = round(rendered.elapsed * 1000, 1)
        if not rendered.ok:
            result.error_kind = rendered.error_kind
            return None
        result.render_ok = True
        try:
            target = load_rgb(_target_bytes_or_image(rollout.target), self.config.max_pixels)
        except VisualInputError as exc:
            result.error_kind = f"target_{exc.kind}"
            return None
        try:
            image = load_rgb(rendered.image, self.config.max_pixels)
        except VisualInputError as exc:
            result.error_kind = exc.kind
            return None
        return target, image

    def _encode(self, ready: list[tuple[int, Any, Any]], results: list[RewardResult | None]) -> None:
        from training.rewards.visual import visual_scores

        cfg = self.config
        with self._encode_lock:
            scores = visual_scores(
                [(t, r) for _, t, r in ready],
                self.encoder,
                min_tiles=cfg.min_tiles,
                max_tiles=cfg.max_tiles,
                max_pixels=cfg.max_pixels,
            )
        for (i, _, _), score in zip(ready, scores, strict=True):
            result = results[i]
            result.visual = float(score.score)
            result.tiles = score.tiles
            result.grid = tuple(score.grid)
            result.reward = cfg.visual_weight * result.visual + cfg.alignment_weight * result.alignment


def summarize(results: Sequence[RewardResult]) -> dict[str, float]:
    """Batch metrics for logging: mean reward and parts, execution rate (renders that succeeded among answers)."""
    n = len(results) or 1
    attempted = [r for r in results if r.rendered]
    return {
        "reward": sum(r.reward for r in results) / n,
        "visual": sum(r.visual for r in results) / n,
        "alignment": sum(r.alignment for r in results) / n,
        "exec_rate": sum(r.render_ok for r in results) / n,
        "render_attempted": len(attempted) / n,
        "tiles": sum(r.tiles for r in results) / n,
    }
