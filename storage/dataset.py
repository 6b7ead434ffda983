"""Datasets on disk: a data root holds one folder per stage, each with versions and a LATEST pointer.

    <root>/<stage>/LATEST                      version name of the newest finished version
    <root>/<stage>/<version>/_plan.json        the run plan (shard specs, config, inputs), written first
    <root>/<stage>/<version>/part-00000.parquet
    <root>/<stage>/<version>/rejected/part-00000.parquet   rows the stage dropped, with `reason`
    <root>/<stage>/<version>/_shards/part-00000.json       completion marker + counts of a finished shard
    <root>/<stage>/<version>/_survey/part-00000.parquet    per-shard survey of a two-phase stage (dedup hashes)
    <root>/<stage>/<version>/_decision.parquet             the global decision made from every survey
    <root>/<stage>/<version>/manifest.json     written when every shard is finished

A version name is a hash of the stage, its config, its inputs' fingerprints and the code, so re-running the
same work resumes in the same folder, and changing any of them starts a new version without touching the old.
A shard's files are written rejected-first, data second, marker last, each atomically: a shard whose marker
exists is complete, and a shard without one is recomputed from scratch.
"""

from __future__ import annotations

import io
import os
import posixpath

import pyarrow as pa
import pyarrow.parquet as pq

from storage import filesystem as fsys
from storage.manifest import Manifest, Plan, ShardReport
from vinci.faults import inject

ROW_GROUP_ROWS = 256


class DatasetNotFound(FileNotFoundError):
    pass


class DatasetDamaged(ValueError):
    """A file of a finished dataset version cannot be read: cut off, overwritten or deleted after it was written."""


def damaged(file_uri: str, exc: BaseException) -> DatasetDamaged:
    """The error for an unreadable file of a finished version: names the file and says how to rebuild it."""
    split = posixpath.split if fsys.is_remote(file_uri) else os.path.split
    folder, _ = split(file_uri)
    if split(folder)[1] == "rejected":
        folder = split(folder)[0]
    stage = split(split(folder)[0])[1]
    return DatasetDamaged(
        f"{file_uri} cannot be read ({type(exc).__name__}: {exc}): the finished '{stage}' dataset {folder} is "
        "damaged (a file changed or went missing after its shard finished). To recover: note its config (in its "
        f"manifest.json), delete {folder}, run the {stage} stage again with that config (the same config rebuilds "
        "the same version), then run this again."
    )


def unreadable_parquet(exc: BaseException) -> bool:
    """Whether a Parquet read failed on the file's bytes (corrupt, cut off, not Parquet), not on I/O that a retry
    could fix: pyarrow's own errors (ArrowInvalid..., or OSError without an errno: thrift, decompression)."""
    if isinstance(exc, MemoryError):
        return False
    return isinstance(exc, pa.ArrowException) or (isinstance(exc, OSError) and exc.errno is None)


def shard_name(index: int) -> str:
    return f"part-{index:05d}"


def parquet_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd", row_group_size=ROW_GROUP_ROWS)
    return buf.getvalue()


class DatasetVersion:
    """One version folder of one stage's dataset."""

    def __init__(self, root: str, stage: str, version: str):
        self.root = fsys.normalize(root)
        self.stage = stage
        self.version = version
        self.uri = fsys.join(self.root, stage, version)

    def __repr__(self) -> str:
        return f"DatasetVersion({self.uri!r})"

    def path(self, *parts: str) -> str:
        return fsys.join(self.uri, *parts)

    # -- plan -----------------------------------------------------------------------------------------
    def read_plan(self) -> Plan | None:
        uri = self.path("_plan.json")
        return Plan.model_validate_json(fsys.read_text(uri)) if fsys.exists(uri) else None

    def write_plan(self, plan: Plan) -> None:
        fsys.write_atomic(self.path("_plan.json"), plan.model_dump_json(indent=2).encode())

    # -- shards ---------------------------------------------------------------------------------------
    def marker_uri(self, index: int) -> str:
        return self.path("_shards", f"{shard_name(index)}.json")

    def is_shard_done(self, index: int) -> bool:
        return fsys.exists(self.marker_uri(index))

    def read_report(self, index: int) -> ShardReport:
        return ShardReport.model_validate_json(fsys.read_text(self.marker_uri(index)))

    def write_shard(self, report: ShardReport, data: pa.Table, rejected: pa.Table | None) -> ShardReport:
        """Write a shard's rejected rows, then its rows, then its marker; returns the stored report."""
        name = shard_name(report.index)
        size = 0
        if rejected is not None and rejected.num_rows:
            blob = parquet_bytes(rejected)
            report.rejected_file = f"rejected/{name}.parquet"
            fsys.write_atomic(self.path(report.rejected_file), blob)
            size += len(blob)
        inject(f"{self.stage}.write.{report.index}.rejected")  # a crash between the two files of a shard
        blob = parquet_bytes(data)
        report.data_file = f"{name}.parquet"
        fsys.write_atomic(self.path(report.data_file), blob)
        report.bytes = size + len(blob)
        inject(f"{self.stage}.write.{report.index}.rows")  # a crash after the rows, before the marker
        fsys.write_atomic(self.marker_uri(report.index), report.model_dump_json(indent=2).encode())
        return report

    # -- survey and decision (two-phase stages, see tasks/survey.py) -----------------------------------
    def survey_uri(self, index: int) -> str:
        return self.path("_survey", f"{shard_name(index)}.parquet")

    @property
    def decision_uri(self) -> str:
        return self.path("_decision.parquet")

    # -- manifest -------------------------------------------------------------------------------------
    @property
    def manifest_uri(self) -> str:
        return self.path("manifest.json")

    def is_finished(self) -> bool:
        return fsys.exists(self.manifest_uri)

    def manifest(self) -> Manifest:
        if not self.is_finished():
            raise DatasetNotFound(f"{self.uri} has no manifest.json: the run that writes it has not finished")
        return Manifest.model_validate_json(fsys.read_text(self.manifest_uri))

    def write_manifest(self, manifest: Manifest) -> None:
        fsys.write_atomic(self.manifest_uri, manifest.to_json().encode())

    def file_uris(self, *, rejected: bool = False) -> list[str]:
        m = self.manifest()
        return [self.path(f) for f in (m.rejected_files if rejected else m.files)]


class DataRoot:
    """The folder (or bucket prefix) that holds every stage's datasets."""

    def __init__(self, uri: str):
        self.uri = fsys.normalize(uri)

    def __repr__(self) -> str:
        return f"DataRoot({self.uri!r})"

    def version(self, stage: str, version: str) -> DatasetVersion:
        return DatasetVersion(self.uri, stage, version)

    def latest_uri(self, stage: str) -> str:
        return fsys.join(self.uri, stage, "LATEST")

    def latest(self, stage: str) -> DatasetVersion:
        uri = self.latest_uri(stage)
        if not fsys.exists(uri):
            known = ", ".join(self.stages()) or "none"
            raise DatasetNotFound(
                f"no finished '{stage}' dataset under {self.uri} (finished stages: {known}); run `vinci {stage}` first"
            )
        return self.version(stage, fsys.read_text(uri).strip())

    def set_latest(self, stage: str, version: str) -> None:
        fsys.write_atomic(self.latest_uri(stage), (version + "\n").encode())

    def stages(self) -> list[str]:
        """Stages that have at least one finished version."""
        return [s for s in fsys.list_names(self.uri) if not s.startswith("_") and fsys.exists(self.latest_uri(s))]

    def versions(self, stage: str) -> list[str]:
        names = fsys.list_names(fsys.join(self.uri, stage))
        return [n for n in names if n != "LATEST" and not n.startswith(".")]


def _looks_like_path(ref: str) -> bool:
    import os

    return fsys.is_remote(ref) or ref.startswith(("file://", ".", "~")) or "/" in ref or os.sep in ref


def resolve_dataset(ref: str, root: str) -> DatasetVersion:
    """A dataset named by a stage (its LATEST under `root`), `stage@version`, or the URI of a version folder."""
    import os

    if not _looks_like_path(ref):
        data_root = DataRoot(root)
        stage, _, version = ref.partition("@")
        if version:
            found = data_root.version(stage, version)
            found.manifest()  # raises when that version never finished
            return found
        if fsys.exists(data_root.latest_uri(ref)) or not os.path.isdir(ref):
            return data_root.latest(ref)  # raises DatasetNotFound naming the finished stages
    uri = fsys.normalize(ref)
    if not fsys.exists(fsys.join(uri, "manifest.json")):
        what = "has no manifest.json (not a finished dataset version folder)" if fsys.exists(uri) else "does not exist"
        raise DatasetNotFound(f"dataset {uri} {what}")
    parent, version = uri.rstrip("/").rsplit("/", 1) if fsys.is_remote(uri) else os.path.split(uri.rstrip("/"))
    base, stage = parent.rsplit("/", 1) if fsys.is_remote(uri) else os.path.split(parent)
    found = DatasetVersion(base, stage, version)
    found.manifest()  # readable
    return found
