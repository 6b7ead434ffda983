"""The visual part of the ViRL reward: coarse-to-fine tile similarity between a target image and its render.

For each (target, rendered) sample the render is resized to the target's size, both are cut with the target's tile
grid (fine tiles plus a whole-image thumbnail when there is more than one tile, see `training.rewards.tiling`), and
the encoder scores every tile pair in [0, 1]. The visual score of a sample is the plain mean over its tile pairs.
All tile pairs of all samples go to the encoder in one call so that it can fill its batches across samples.

Images that cannot be used raise VisualInputError (kind "too_large" or "bad_image"); the reward function maps them
to a visual score of 0. Because one unusable image fails the whole call, a caller scoring a batch should first run
`load_rgb` on each image, score the failures 0, and pass the decoded images of the rest here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image

from training.rewards.encoders import Encoder
from training.rewards.tiling import MAX_PIXELS, MAX_TILES, MIN_TILES, TilePairs, VisualInputError, tile_pairs

ImageInput = bytes | Image.Image


@dataclass(frozen=True)
class VisualScore:
    """Visual score of one sample: the mean tile-pair similarity, the number of pairs (thumbnail included) and the
    (cols, rows) grid."""

    score: float
    tiles: int
    grid: tuple[int, int]


def visual_scores(
    pairs: Sequence[tuple[ImageInput, ImageInput]],
    encoder: Encoder,
    *,
    min_tiles: int = MIN_TILES,
    max_tiles: int = MAX_TILES,
    max_pixels: int = MAX_PIXELS,
) -> list[VisualScore]:
    """Visual score of each (target, rendered) pair; raises VisualInputError naming the first unusable image."""
    tiled: list[TilePairs] = []
    for index, (target, rendered) in enumerate(pairs):
        try:
            tiled.append(tile_pairs(target, rendered, min_tiles=min_tiles, max_tiles=max_tiles, max_pixels=max_pixels))
        except VisualInputError as exc:
            raise VisualInputError(exc.kind, f"sample {index}: {exc}") from exc
    flat = [pair for sample in tiled for pair in zip(sample.targets, sample.renders, strict=True)]
    similarities = encoder.similarities(flat)
    if len(similarities) != len(flat):
        raise RuntimeError(f"encoder {encoder.name} returned {len(similarities)} similarities for {len(flat)} pairs")
    scores, start = [], 0
    for sample in tiled:
        count = len(sample.targets)
        mean = math.fsum(similarities[start : start + count]) / count
        scores.append(VisualScore(score=mean, tiles=count, grid=sample.grid))
        start += count
    return scores


def visual_score(
    target: ImageInput,
    rendered: ImageInput,
    encoder: Encoder,
    *,
    min_tiles: int = MIN_TILES,
    max_tiles: int = MAX_TILES,
    max_pixels: int = MAX_PIXELS,
) -> VisualScore:
    """Visual score of one (target, rendered) pair."""
    return visual_scores(
        [(target, rendered)], encoder, min_tiles=min_tiles, max_tiles=max_tiles, max_pixels=max_pixels
    )[0]
