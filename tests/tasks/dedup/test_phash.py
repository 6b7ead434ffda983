"""pHash identity with imagehash, per-item failures, features, Hamming distance."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import imagehash
import numpy as np
import pytest
from PIL import Image

from tasks.dedup.phash import FEATURE_DIM, FEATURE_WEIGHTS, LAYOUT, TONE, hamming, phash, phash_batch


def reference(data: bytes | Image.Image) -> int:
    img = Image.open(io.BytesIO(data)) if isinstance(data, bytes) else data
    return int(str(imagehash.phash(img)), 16)


def shared_images(shared: Path) -> list[Path]:
    files = sorted((shared / "charts").glob("*.png")) + sorted((shared / "web").glob("*.png"))
    files += sorted((shared / "web").glob("*.jpg"))
    return files


def test_identical_to_imagehash_on_shared_images(shared_data):
    files = shared_images(shared_data)
    assert len(files) >= 150
    blobs = [f.read_bytes() for f in files]
    batch = phash_batch(blobs)
    assert batch.valid.all()
    expected = [reference(b) for b in blobs]
    assert batch.hashes.tolist() == expected
    for path, h in zip(files[:5], batch.hashes.tolist(), strict=False):
        assert f"{h:016x}" == str(imagehash.phash(Image.open(path)))
        assert phash(path.read_bytes()) == h == phash(Image.open(path))


def _random_image(rng: np.random.Generator, kind: int) -> np.ndarray:
    w, h = (int(v) for v in rng.integers(1, 160, 2))
    if kind == 0:  # noise
        return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    if kind == 1:  # flat: every AC coefficient ties at the median
        return np.full((h, w, 3), rng.integers(0, 256), dtype=np.uint8)
    if kind == 2:  # a chart-like white page with one filled block
        a = np.full((h, w, 3), 255, dtype=np.uint8)
        a[rng.integers(0, h) :, : rng.integers(0, w + 1)] = rng.integers(0, 256, 3)
        return a
    blocks = (rng.integers(0, 2, (4, 4, 3)) * 255).astype(np.uint8)  # hard edges
    return np.asarray(Image.fromarray(blocks).resize((w, h), Image.Resampling.NEAREST))


def _as_mode(a: np.ndarray, mode: str, rng: np.random.Generator) -> Image.Image:
    im = Image.fromarray(a)
    if mode == "I;16":
        return Image.fromarray(a[..., 0].astype(np.uint16) * 257)
    if mode == "I":
        return Image.fromarray(a[..., 0].astype(np.int32) * 100)
    if mode == "F":
        return Image.fromarray(a[..., 0].astype(np.float32) / 3)
    if mode == "P":
        return im.quantize(16)
    if mode == "PA":  # palette with a transparent index
        p = im.quantize(8)
        p.info["transparency"] = 0
        return p
    if mode == "RGBA":
        rgba = im.convert("RGBA")
        rgba.putalpha(Image.fromarray(rng.integers(0, 256, a.shape[:2], dtype=np.uint8)))
        return rgba
    return im.convert(mode)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "P", "PA", "CMYK", "I;16", "I", "F", "1"])
def test_identical_to_imagehash_on_random_images(mode):
    rng = np.random.default_rng(sum(map(ord, mode)))
    images = [_as_mode(_random_image(rng, k % 4), mode, rng) for k in range(40)]
    batch = phash_batch(images)
    assert batch.valid.all(), batch.errors
    assert batch.hashes.tolist() == [reference(im) for im in images]
    assert np.isfinite(batch.features).all()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF", "TIFF", "BMP"])
def test_identical_to_imagehash_on_encoded_bytes(fmt):
    rng = np.random.default_rng(len(fmt))
    blobs = []
    for k in range(12):
        im = Image.fromarray(_random_image(rng, k % 4))
        buf = io.BytesIO()
        im.save(buf, fmt)
        blobs.append(buf.getvalue())
    batch = phash_batch(blobs)
    assert batch.valid.all(), batch.errors
    assert batch.hashes.tolist() == [reference(b) for b in blobs]
    assert [phash(b) for b in blobs] == batch.hashes.tolist()


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG file whose header claims a huge image (a decompression bomb, as far as the header goes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def _png(size=(40, 30), colour=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


def test_bad_items_fail_alone():
    good = _png()
    truncated = good[: len(good) // 2]
    items = [good, b"", b"not an image", truncated, _png_claiming(100_000, 100_000), good]
    batch = phash_batch(items)
    assert batch.valid.tolist() == [True, False, False, False, False, True]
    assert batch.hashes[0] == batch.hashes[5] == reference(good)
    assert all(batch.errors[i] for i in (1, 2, 3, 4)) and batch.errors[0] is None
    assert "DecompressionBomb" in batch.errors[4]
    assert (batch.hashes[~batch.valid] == 0).all() and (batch.features[~batch.valid] == 0).all()
    with pytest.raises(Exception):  # noqa: B017 - the single-image form raises whatever Pillow raises
        phash(b"not an image")


def test_pixel_limit_follows_pillow(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    small, big = _png((20, 20)), _png((40, 30))  # 400 and 1200 pixels: Pillow itself would only warn on the second
    batch = phash_batch([small, big])
    assert batch.valid.tolist() == [True, False]
    assert "1200 pixels" in batch.errors[1]
    assert phash_batch([big], max_pixels=10_000).valid.all()


def test_threads_give_the_same_result(shared_data):
    blobs = [f.read_bytes() for f in shared_images(shared_data)[:12]] + [b"junk"]
    one, two = phash_batch(blobs), phash_batch(blobs, workers=2)
    assert one.hashes.tolist() == two.hashes.tolist()
    assert np.array_equal(one.features, two.features)
    assert one.valid.tolist() == two.valid.tolist() and one.errors == two.errors


def test_features():
    red, grey = _png((60, 30), (220, 20, 20)), _png((30, 60), (128, 128, 128))
    batch = phash_batch([red, grey, red])
    f = batch.features
    assert f.shape == (3, FEATURE_DIM) and f.dtype == np.float32
    assert np.array_equal(f[0], f[2])
    assert f[0, 63:75].sum() > 0.5 and f[1, 63:76].sum() == 0  # a saturated colour vs none
    assert f[0, TONE.stop - 1] == pytest.approx(np.log(2)) and f[1, TONE.stop - 1] == pytest.approx(-np.log(2))
    assert f[:, TONE.start : TONE.stop - 1].sum(axis=1) == pytest.approx(1.0)
    norms = np.linalg.norm(f[:, LAYOUT], axis=1)
    assert ((norms == 0) | (np.abs(norms - 1) < 1e-5)).all()
    assert FEATURE_DIM < 128
    assert float((FEATURE_WEIGHTS**2).sum()) == pytest.approx(1.0)


def test_hamming():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2**64 - 1, 500, dtype=np.uint64, endpoint=True)
    b = rng.integers(0, 2**64 - 1, 500, dtype=np.uint64, endpoint=True)
    assert hamming(a, b).tolist() == [bin(int(x) ^ int(y)).count("1") for x, y in zip(a, b, strict=True)]
    assert hamming(a[:3, None], b[None, :4]).shape == (3, 4)
    assert int(hamming(0, 2**64 - 1)) == 64


def test_empty_batch():
    batch = phash_batch([])
    assert batch.hashes.shape == (0,) and batch.features.shape == (0, FEATURE_DIM) and batch.errors == []
