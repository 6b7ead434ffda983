"""Length-prefixed frames over pipes: a JSON header and an optional binary blob (an image).

    frame = b"VR" + u32 header length + u64 blob length + header (UTF-8 JSON) + blob

Readers take a deadline and size caps, so a stuck or hostile writer can never block a reader past its timeout
or make it allocate more than it allows.
"""

from __future__ import annotations

import json
import os
import select
import struct
import time
from collections.abc import Callable
from typing import Any

MAGIC = b"VR"
PREFIX = struct.Struct(">2sIQ")
MAX_HEADER = 4 << 20


class ProtocolError(RuntimeError):
    """The other side closed, timed out, or sent something that is not a frame."""


class FrameTimeout(ProtocolError):
    pass


def encode(header: dict[str, Any], blob: bytes = b"") -> bytes:
    body = json.dumps(header, separators=(",", ":")).encode()
    return PREFIX.pack(MAGIC, len(body), len(blob)) + body + blob


def write_frame(fd: int, header: dict[str, Any], blob: bytes = b"") -> None:
    data = memoryview(encode(header, blob))
    while data:
        written = os.write(fd, data)
        data = data[written:]


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    chunks: list[bytes] = []
    remaining = n
    while remaining:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise FrameTimeout("timed out waiting for data")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                raise FrameTimeout("timed out waiting for data")
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            raise ProtocolError("the other side closed the pipe")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int, deadline: float | None = None, max_blob: int = 256 << 20) -> tuple[dict[str, Any], bytes]:
    """Read one frame; raises FrameTimeout past `deadline` (time.monotonic()) and ProtocolError on garbage."""
    magic, header_len, blob_len = PREFIX.unpack(_read_exact(fd, PREFIX.size, deadline))
    if magic != MAGIC:
        raise ProtocolError("not a frame (bad magic)")
    if header_len > MAX_HEADER:
        raise ProtocolError(f"frame header of {header_len} bytes exceeds {MAX_HEADER}")
    if blob_len > max_blob:
        raise ProtocolError(f"frame payload of {blob_len} bytes exceeds the cap of {max_blob}")
    try:
        header = json.loads(_read_exact(fd, header_len, deadline))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"frame header is not JSON: {exc}") from None
    if not isinstance(header, dict):
        raise ProtocolError("frame header is not an object")
    blob = _read_exact(fd, blob_len, deadline) if blob_len else b""
    return header, blob


def read_frame_bytes(data: bytes, max_blob: int = 256 << 20) -> tuple[dict[str, Any], bytes]:
    """Parse one whole frame held in memory (what a job child wrote before exiting)."""
    if len(data) < PREFIX.size:
        raise ProtocolError("no result frame")
    magic, header_len, blob_len = PREFIX.unpack_from(data)
    if magic != MAGIC or header_len > MAX_HEADER or blob_len > max_blob:
        raise ProtocolError("malformed result frame")
    end = PREFIX.size + header_len
    if len(data) < end + blob_len:
        raise ProtocolError("truncated result frame")
    try:
        header = json.loads(data[PREFIX.size : end])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"result header is not JSON: {exc}") from None
    if not isinstance(header, dict):
        raise ProtocolError("result header is not an object")
    return header, bytes(data[end : end + blob_len])


def take_stdio() -> tuple[int, int]:
    """Worker side: keep stdin/stdout for frames only; stray prints from libraries go to stderr (the worker log)."""
    proto_in, proto_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    return proto_in, proto_out


def serve(
    proto_in: int,
    proto_out: int,
    run: Callable[[dict[str, Any]], tuple[dict[str, Any], bytes]],
    rss_mb: Callable[[], float],
    after: Callable[[], None] | None = None,
) -> int:
    """Worker side of a pool: one result frame per job frame (with the worker's memory), until told to exit.
    `after` runs once each answer is on its way (housekeeping that should not delay the caller)."""
    while True:
        try:
            job, blob = read_frame(proto_in)
        except ProtocolError:
            return 0  # the pool closed our stdin
        if job.get("op") == "exit":
            return 0
        job.setdefault("payload", {})["code"] = blob.decode("utf-8", errors="surrogatepass")
        header, png = run(job)
        header["rss_mb"] = round(rss_mb(), 1)
        write_frame(proto_out, header, png)
        if after is not None:
            after()
