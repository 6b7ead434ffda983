"""ChartMimic's high-level score: a judge model rates how closely a generated chart reproduces the reference.

    config = JudgeConfig(endpoint="http://127.0.0.1:8000/v1", model="gpt-4o")
    scores = judge_many(reference_pngs, generated_pngs, config)    # generated: PNG bytes, or None when it failed
    summary(scores)   # {"high_level": 0-100 mean over ALL samples, "judged": ..., "parsed": ..., "errors": ...}

Each pair becomes one chat completion against an OpenAI-compatible endpoint: a single user turn holding the
reference image, then the generated image, then the instruction (`judge_prompt`). The instruction asks for a
rating on six criteria worth 100 points together (`CRITERIA`) and for a closing line "Score: N" with the total;
the last such line in the answer is the sample's score (`parse_score`). A sample whose code drew nothing, or whose
answer carries no score, counts as 0, and the aggregate is the mean over every sample, so failures pull it down
as they do for the low-level score.

A request that fails (after `training.endpoint.chat`'s retries of rate limits and server errors) scores that
sample 0 with the error kept, and the other samples go on; when every request sent fails, the endpoint is down or
misconfigured and `judge_many` raises `EndpointError` instead of reporting a score of 0.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from training.endpoint import EndpointError

CRITERIA: tuple[tuple[str, int], ...] = (
    ("Chart type", 20),
    ("Layout", 10),
    ("Text content", 20),
    ("Data", 20),
    ("Style", 20),
    ("Clarity", 10),
)

NO_IMAGE = "no generated image"
NO_SCORE = "no score in the judge's answer"
UNREADABLE = "unreadable image: "  # prefix; the image could not be decoded, so nothing was sent

_DETAILS = {
    "Chart type": "the kind of chart (bar, line, pie, scatter, heatmap, ...) in every panel",
    "Layout": "the number and arrangement of subplots, the aspect and the placement of legends and colour bars",
    "Text content": "title, axis labels, tick labels, legend entries and annotations: wording and position",
    "Data": "the plotted values, trends, ranges and the number of series or categories",
    "Style": "colours, markers, line styles, fills, fonts and grid lines",
    "Clarity": "whether the chart is readable: no clipped or overlapping elements, a clean overall look",
}

# "Score: 85", "**Score:** 85", "Score: **85**", "score: 85/100", "Total score: 92.5"
_SCORE = re.compile(r"\bscore\s*[*_]*\s*[:：]\s*[*_]*\s*(\d+(?:\.\d+)?)", re.IGNORECASE)


class JudgeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoint: str  # base URL, e.g. http://127.0.0.1:8000/v1
    model: str  # the served judge model's name (ChartMimic used GPT-4o)
    api_key_env: str = "OPENAI_API_KEY"  # environment variable holding the key; optional for local servers
    concurrency: int = Field(4, gt=0)
    max_tokens: int = Field(1024, gt=0)
    temperature: float = Field(0.0, ge=0)
    timeout_s: float = Field(300.0, gt=0)


@dataclass
class JudgeScore:
    score: float  # 0-100; 0 when the sample failed or the answer had no parsable score
    parsed: bool  # a "Score: N" was found in the judge's answer
    raw: str | None  # the judge's whole answer; None when nothing came back
    error: str | None  # why the score is 0: NO_IMAGE, NO_SCORE, an unreadable image, or the endpoint's error

    @property
    def sent(self) -> bool:
        """A request went to the judge (answered or failed)."""
        return self.raw is not None or self.endpoint_failed

    @property
    def endpoint_failed(self) -> bool:
        if self.raw is not None or self.error is None:
            return False
        return self.error != NO_IMAGE and not self.error.startswith(UNREADABLE)

    def row(self) -> dict[str, Any]:
        return asdict(self)


def judge_prompt() -> str:
    """The judge's instruction: compare image 1 (reference) with image 2 (generated) and end with the total."""
    total = sum(points for _, points in CRITERIA)
    lines = [
        "You are grading a chart reproduction. The first image is the reference chart. The second image was "
        "drawn by code that tried to recreate the reference as exactly as possible.",
        "",
        f"Compare the second image against the first and award points on each criterion below ({total} in all):",
    ]
    for i, (name, points) in enumerate(CRITERIA, 1):
        lines.append(f"{i}. {name} ({points} points): {_DETAILS[name]}.")
    lines += [
        "",
        "Give full points on a criterion only when the generated chart matches the reference on it, partial points "
        "for partial agreement and none when it is missing or wrong. Go through the criteria one by one, with a "
        "short justification and the points awarded for each.",
        "",
        f"Finish with one final line holding only the total, an integer from 0 to {total}, written as:",
        "Score: N",
    ]
    return "\n".join(lines)


def parse_score(text: str | None) -> float | None:
    """The number in the last "Score: N" of the answer, clamped to [0, 100]; None when there is none."""
    if not text:
        return None
    matches = _SCORE.findall(text)
    if not matches:
        return None
    return min(100.0, max(0.0, float(matches[-1])))


def _flat_image(png: bytes):
    """The PNG as an RGB image; transparent areas are laid on white, as a chart is seen on a page."""
    from PIL import Image

    image = Image.open(io.BytesIO(png))
    image.load()
    if image.mode in ("RGBA", "LA", "P") and (image.mode != "P" or "transparency" in image.info):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, "white")
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return image.convert("RGB")


def judge_messages(reference_png: bytes, generated_png: bytes) -> list[dict[str, Any]]:
    """One user turn: the reference image, the generated image, then the instruction."""
    from training.conversation import USER
    from training.endpoint import image_part

    content = [
        image_part(_flat_image(reference_png)),
        image_part(_flat_image(generated_png)),
        {"type": "text", "text": judge_prompt()},
    ]
    return [{"role": USER, "content": content}]


def judge_many(
    references: Sequence[bytes],
    generated: Sequence[bytes | None],
    config: JudgeConfig,
    *,
    progress: Callable[[int], None] | None = None,
) -> list[JudgeScore]:
    """The judge's scores of (reference, generated) PNG pairs, in input order.

    A missing generated image scores 0 without a request. Requests run `config.concurrency` at a time over one
    shared HTTP client. `progress(n_done)` gets the running count of finished samples (those without an image
    count at once). Raises EndpointError when every request sent failed."""
    import httpx

    from training.endpoint import chat

    if len(references) != len(generated):
        raise ValueError(f"{len(generated)} generated images for {len(references)} references")
    api_key = os.environ.get(config.api_key_env) or None
    scores: list[JudgeScore | None] = [None] * len(references)
    todo = []
    for i, image in enumerate(generated):
        if image is None:
            scores[i] = JudgeScore(0.0, False, None, NO_IMAGE)
        else:
            todo.append(i)
    done = len(references) - len(todo)
    if progress and done:
        progress(done)

    def one(i: int, client: Any) -> JudgeScore:
        try:
            messages = judge_messages(references[i], generated[i])
        except Exception as exc:  # PIL cannot decode one of the images
            return JudgeScore(0.0, False, None, f"{UNREADABLE}{type(exc).__name__}: {exc}"[:500])
        try:
            raw = chat(
                config.endpoint,
                config.model,
                messages,
                max_tokens=config.max_tokens,
                temperature=config.temperature,
                api_key=api_key,
                timeout_s=config.timeout_s,
                client=client,
            )
        except EndpointError as exc:
            return JudgeScore(0.0, False, None, str(exc) or type(exc).__name__)
        value = parse_score(raw)
        if value is None:
            return JudgeScore(0.0, False, raw, NO_SCORE)
        return JudgeScore(value, True, raw, None)

    if todo:
        limits = httpx.Limits(max_connections=config.concurrency)
        with (
            httpx.Client(timeout=config.timeout_s, limits=limits) as client,
            ThreadPoolExecutor(max_workers=config.concurrency, thread_name_prefix="judge") as pool,
        ):
            futures = {pool.submit(one, i, client): i for i in todo}
            for future in as_completed(futures):
                scores[futures[future]] = future.result()
                done += 1
                if progress:
                    progress(done)
    result = [s for s in scores if s is not None]
    sent = [s for s in result if s.sent]
    if sent and all(s.endpoint_failed for s in sent):
        raise EndpointError(f"all {len(sent)} judge requests failed; the first: {sent[0].error}")
    return result


def high_level(scores: Sequence[JudgeScore]) -> float | None:
    """The mean judge score (0-100) over ALL samples, failures included as 0; None when there are none."""
    if not scores:
        return None
    return sum(s.score for s in scores) / len(scores)


def summary(scores: Sequence[JudgeScore]) -> dict[str, Any]:
    return {
        "high_level": high_level(scores),
        "judged": sum(s.sent for s in scores),
        "parsed": sum(s.parsed for s in scores),
        "errors": sum(s.endpoint_failed for s in scores),
    }
