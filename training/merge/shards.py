"""Safetensors checkpoint folders, read and written a block of rows at a time.

`Checkpoint` knows which file holds each tensor (`model.safetensors`, or the shards of
`model.safetensors.index.json`) and each tensor's dtype and shape, from the files' headers. `read` opens the file,
reads one tensor or a block of its rows, and closes it again: safetensors maps the file, and every page touched
through a mapping counts in the process's resident memory until the mapping is closed, so keeping three models'
files open through a merge would show as three models' worth of memory.

`ShardWriter` writes one output shard in the safetensors format as the rows arrive: the header is known in
advance (the VLM shard's names, dtypes and shapes), so no output tensor, let alone a shard, is held in memory.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.merge.recipe import MergeError

INDEX = "model.safetensors.index.json"
SINGLE = "model.safetensors"
DTYPE_BYTES = {
    "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
    "F8_E4M3": 1, "F8_E5M2": 1, "U16": 2, "U32": 4, "U64": 8,
}  # fmt: skip
MERGEABLE_DTYPES = ("F64", "F32", "F16", "BF16")
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".gguf")
# files of this project's runs that describe the run, not the model: a merged checkpoint gets its own
RUN_FILES = frozenset(
    {"_done.json", "recipe.yaml", "merge.yaml", "metrics.json", "train_ids.parquet", "rl_ids.parquet",
     "rollouts.jsonl", "curves.json", "curves.png", "vinci_tiny.json", "LATEST_RUN"}
)  # fmt: skip


@dataclass(frozen=True)
class TensorInfo:
    file: str
    dtype: str
    shape: tuple[int, ...]

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * DTYPE_BYTES[self.dtype]


class Checkpoint:
    """A local checkpoint folder's config and safetensors weights (nothing is loaded)."""

    def __init__(self, path: str | os.PathLike[str], label: str):
        from safetensors import safe_open

        self.path, self.label = Path(path), label
        if not self.path.is_dir():
            raise MergeError(f"{label} {self.path} is not a folder")
        config = self.path / "config.json"
        if not config.is_file():
            raise MergeError(f"{label} {self.path} has no config.json: not a transformers checkpoint folder")
        self.config: dict[str, Any] = json.loads(config.read_text())
        self.files = self._weight_files()
        self.tensors: dict[str, TensorInfo] = {}
        self.metadata: dict[str, dict[str, str] | None] = {}
        for file in self.files:
            with safe_open(str(self.path / file), framework="pt") as handle:
                self.metadata[file] = handle.metadata()
                names = handle.keys()  # a safe_open handle is not iterable
                for key in names:
                    piece = handle.get_slice(key)
                    self.tensors[key] = TensorInfo(file, piece.get_dtype(), tuple(piece.get_shape()))
        self._check_index()

    def _weight_files(self) -> list[str]:
        if (self.path / INDEX).is_file():
            weight_map = json.loads((self.path / INDEX).read_text()).get("weight_map") or {}
            files = sorted(set(weight_map.values()))
            missing = [f for f in files if not (self.path / f).is_file()]
            if missing:
                raise MergeError(f"{self.label} {self.path}: {INDEX} names shards that are not there: {missing[:3]}")
            return files
        if (self.path / SINGLE).is_file():
            return [SINGLE]
        raise MergeError(
            f"{self.label} {self.path} has no {SINGLE} or {INDEX}: only safetensors checkpoints can be merged "
            "(re-save others with save_pretrained)"
        )

    def _check_index(self) -> None:
        if not (self.path / INDEX).is_file():
            return
        weight_map = json.loads((self.path / INDEX).read_text())["weight_map"]
        wrong = [k for k, f in weight_map.items() if k not in self.tensors or self.tensors[k].file != f]
        if wrong:
            raise MergeError(f"{self.label} {self.path}: {INDEX} disagrees with the shards about {wrong[0]}")

    @property
    def model_type(self) -> str | None:
        return self.config.get("model_type")

    @property
    def text_config(self) -> dict[str, Any]:
        """The language model's config: `text_config` of a VLM, the config itself for an LLM."""
        return self.config.get("text_config") or self.config

    def keys_in(self, file: str) -> list[str]:
        return [k for k, info in self.tensors.items() if info.file == file]

    def read(self, key: str, start: int | None = None, stop: int | None = None):
        """Tensor `key` (rows start:stop of it when given), read from its file, which is closed again."""
        from safetensors import safe_open

        with safe_open(str(self.path / self.tensors[key].file), framework="pt") as handle:
            return handle.get_tensor(key) if start is None else handle.get_slice(key)[start:stop]

    def fingerprint(self) -> dict[str, Any]:
        """Sizes and header hashes of the weight files (names, dtypes, shapes, offsets): cheap, unlike a content
        hash of many gigabytes."""
        files = {}
        for file in self.files:
            path = self.path / file
            with path.open("rb") as fh:
                length = int.from_bytes(fh.read(8), "little")
                header = fh.read(length)
            files[file] = {"bytes": path.stat().st_size, "header_blake2b": hashlib.blake2b(header).hexdigest()[:32]}
        config = hashlib.blake2b((self.path / "config.json").read_bytes()).hexdigest()[:32]
        return {"config_blake2b": config, "files": files}


def row_blocks(info: TensorInfo, chunk_bytes: int) -> Iterator[tuple[int | None, int | None]]:
    """(start, stop) row ranges of about `chunk_bytes` each; (None, None) once for a scalar."""
    if not info.shape:
        yield None, None
        return
    row = math.prod(info.shape[1:]) * DTYPE_BYTES[info.dtype]
    step = max(1, chunk_bytes // max(row, 1))
    for start in range(0, info.shape[0], step):
        yield start, min(start + step, info.shape[0])


class ShardWriter:
    """One safetensors file written tensor by tensor, block by block, in the order of `entries`."""

    def __init__(self, path: Path, entries: list[tuple[str, TensorInfo]], metadata: dict[str, str] | None = None):
        header: dict[str, Any] = {"__metadata__": {"format": "pt", **(metadata or {})}}
        offset = 0
        self.expected: list[tuple[str, int]] = []
        for key, info in entries:
            end = offset + info.nbytes
            header[key] = {"dtype": info.dtype, "shape": list(info.shape), "data_offsets": [offset, end]}
            offset = end
            self.expected.append((key, info.nbytes))
        raw = json.dumps(header, separators=(",", ":")).encode()
        raw += b" " * (-len(raw) % 8)  # the format allows space padding; data then starts 8-byte aligned
        self.path = path
        self.hash = hashlib.blake2b()
        self.size = 0
        self._file = path.open("wb")
        self._emit(len(raw).to_bytes(8, "little") + raw)
        self._position = 0  # index into expected
        self._left = self.expected[0][1] if self.expected else 0

    def _emit(self, data) -> None:
        self._file.write(data)
        self.hash.update(data)
        self.size += len(data)

    def _advance_past_complete(self) -> None:
        while self._position < len(self.expected) and self._left == 0:
            self._position += 1
            self._left = self.expected[self._position][1] if self._position < len(self.expected) else 0

    def write(self, key: str, tensor) -> None:
        """Append `tensor`'s bytes (a whole tensor or its next block of rows) to `key`'s data."""
        import torch

        if self._left == 0:
            self._advance_past_complete()
        if self._position >= len(self.expected) or self.expected[self._position][0] != key:
            wanted = self.expected[self._position][0] if self._position < len(self.expected) else "nothing"
            raise RuntimeError(f"{self.path.name}: got data for {key}, expected {wanted}")
        data = tensor.detach().contiguous().reshape(-1).view(torch.uint8).numpy()
        if data.nbytes > self._left:
            raise RuntimeError(f"{self.path.name}: {key} got {data.nbytes} bytes, {self._left} were left")
        self._emit(memoryview(data))
        self._left -= data.nbytes

    def close(self) -> dict[str, Any]:
        """Check every tensor is complete, flush to disk, and return the file's size and content hash."""
        self._advance_past_complete()
        if self._position < len(self.expected):
            raise RuntimeError(f"{self.path.name}: {self.expected[self._position][0]} is incomplete")
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        return {"bytes": self.size, "blake2b": self.hash.hexdigest()[:32]}

    def abort(self) -> None:
        self._file.close()


def copy_model_files(source: Path, target: Path) -> list[str]:
    """Copy the folder's non-weight files (config, generation config, tokenizer, processor, chat template, the
    shard index, licence) into `target`; run records of this project and other weight formats stay behind."""
    copied = []
    for path in sorted(source.iterdir()):
        if not path.is_file() or path.name in RUN_FILES or path.name.endswith(WEIGHT_SUFFIXES):
            continue
        shutil.copy2(path, target / path.name)
        copied.append(path.name)
    return copied
