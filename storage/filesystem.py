"""Where bytes live: local folders or object storage (`s3://...`), addressed by URI through fsspec.

S3-compatible endpoints (MinIO, Ceph, a moto server on loopback) are set with `VINCI_S3_ENDPOINT_URL` or the
standard `AWS_ENDPOINT_URL`; credentials come from the usual AWS variables or files.
"""

from __future__ import annotations

import os
import posixpath
import uuid
from urllib.parse import urlparse

import fsspec
from fsspec.implementations.local import LocalFileSystem


def is_remote(uri: str) -> bool:
    scheme = urlparse(uri).scheme
    return len(scheme) > 1 and scheme != "file"


def normalize(uri: str) -> str:
    """Absolute local path for local URIs (so manifests stay valid from any working directory)."""
    if is_remote(uri):
        return uri.rstrip("/")
    if uri.startswith("file://"):
        uri = uri[len("file://") :]
    return os.path.abspath(os.path.expanduser(uri))


def join(uri: str, *parts: str) -> str:
    if is_remote(uri):
        return posixpath.join(uri, *parts)
    return os.path.join(uri, *parts)


def endpoint_url() -> str | None:
    return os.environ.get("VINCI_S3_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL")


def fsspec_options(uri: str) -> dict:
    if urlparse(uri).scheme in ("s3", "s3a"):
        endpoint = endpoint_url()
        return {"client_kwargs": {"endpoint_url": endpoint}} if endpoint else {}
    return {}


def polars_options(uri: str) -> dict | None:
    """Storage options for polars' native readers (object_store key names)."""
    if urlparse(uri).scheme not in ("s3", "s3a"):
        return None
    opts: dict[str, str] = {}
    endpoint = endpoint_url()
    if endpoint:
        opts["aws_endpoint_url"] = endpoint
        if endpoint.startswith("http://"):
            opts["aws_allow_http"] = "true"
    for env, key in (
        ("AWS_ACCESS_KEY_ID", "aws_access_key_id"),
        ("AWS_SECRET_ACCESS_KEY", "aws_secret_access_key"),
        ("AWS_SESSION_TOKEN", "aws_session_token"),
    ):
        if os.environ.get(env):
            opts[key] = os.environ[env]
    opts["aws_region"] = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return opts


def filesystem(uri: str) -> tuple[fsspec.AbstractFileSystem, str]:
    """The fsspec filesystem for a URI and the path inside it."""
    fs, path = fsspec.core.url_to_fs(normalize(uri), **fsspec_options(uri))
    return fs, path


def exists(uri: str) -> bool:
    fs, path = filesystem(uri)
    return fs.exists(path)


def read_bytes(uri: str) -> bytes:
    fs, path = filesystem(uri)
    return fs.cat_file(path)


def read_text(uri: str) -> str:
    return read_bytes(uri).decode("utf-8")


def write_atomic(uri: str, data: bytes, *, fsync: bool = True) -> None:
    """Write a whole file so that readers see the old state or the new one, never a partial file.

    Local: write a hidden temporary file in the same folder, fsync, rename over the target. Object stores
    publish an object only when its upload completes, so a single put is already atomic. `fsync=False` skips
    the flushes to disk (for many small files whose completion a later, fsynced file records).
    """
    fs, path = filesystem(uri)
    if isinstance(fs, LocalFileSystem):
        folder, name = os.path.split(path)
        os.makedirs(folder, exist_ok=True)
        tmp = os.path.join(folder, f".{name}.tmp-{uuid.uuid4().hex[:12]}")
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                if fsync:
                    fh.flush()
                    os.fsync(fh.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            if exc.errno is None:
                raise
            # write() errors name no file ("[Errno 28] No space left on device"): name the file being written
            raise OSError(exc.errno, f"{exc.strerror} (writing {len(data)} bytes)", path) from exc
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        if not fsync:
            return
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    else:
        fs.pipe_file(path, data)


def remove_stale_temporaries(uri: str) -> int:
    """Delete temporary files left by writers that were killed mid-write; returns how many."""
    fs, path = filesystem(uri)
    if not isinstance(fs, LocalFileSystem) or not os.path.isdir(path):
        return 0
    removed = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            if name.startswith(".") and ".tmp-" in name:
                os.unlink(os.path.join(folder, name))
                removed += 1
    return removed


def remove_tree(uri: str) -> None:
    fs, path = filesystem(uri)
    if fs.exists(path):
        fs.rm(path, recursive=True)


def list_names(uri: str) -> list[str]:
    """Names (not paths) directly inside a folder; empty when it does not exist."""
    fs, path = filesystem(uri)
    if not fs.exists(path):
        return []
    return sorted(posixpath.basename(p.rstrip("/")) for p in fs.ls(path, detail=False))
