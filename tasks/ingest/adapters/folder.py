"""Folders of code files with optional sibling images: NAME.py + NAME.png (+ NAME.pdf), NAME.svg, NAME.tex ...

Files are grouped by folder and stem. A group with one code file becomes one row (its image: the first sibling
among .png .jpg .jpeg .webp .gif .bmp, else the first page of NAME.pdf rasterised with poppler); a group without
a code file becomes one rejection (`no_code_file`) naming its files, so every file ends up in a row or in a
reasoned rejection. Rows and rejections list their files in `meta.files`; the manifest's counters say how many
files went where (files_seen = files_in_rows + files_in_rejections).
"""

from __future__ import annotations

import os
import posixpath
import re
import subprocess
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from schemas.languages import EXTENSION_LANGUAGES
from storage import filesystem as fsys
from storage.manifest import InputRecord
from tasks.ingest.adapters.base import Adapter, Tally, fingerprint_files, vanished
from tasks.ingest.config import FolderSource
from tasks.ingest.normalize import RawSample
from tasks.stage import Rejection

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp")
NAME_KIND = re.compile(r"^(?P<kind>.+?)[_-]\d+$")
PDF_TIMEOUT_S = 60


def _split_ext(name: str) -> tuple[str, str]:
    stem, ext = posixpath.splitext(name)
    return stem, ext.lower()


class FolderAdapter(Adapter):
    source: FolderSource

    def _listing(self) -> tuple[str, list[str]]:
        fs, base = fsys.filesystem(self.source.path)
        if not fs.isdir(base):
            raise FileNotFoundError(f"source '{self.source.name}': {self.source.path} is not a folder")
        found = fs.find(base, maxdepth=None if self.source.recursive else 1)
        rel = []
        for path in found:
            r = posixpath.relpath(path, base)
            if any(part.startswith(".") or part == "__pycache__" for part in r.split("/")):
                continue
            rel.append(r)
        return fsys.normalize(self.source.path), sorted(rel)

    def fingerprint(self) -> InputRecord:
        base, rel = self._listing()
        files = [fsys.join(base, r) for r in rel]
        return fingerprint_files(self.source.name, "folder", base, files, rel, self.source.fingerprint)

    def plan(self, shard_rows: int, staging: str) -> list[dict[str, Any]]:
        base, rel = self._listing()
        groups: dict[str, list[str]] = defaultdict(list)
        for r in rel:
            groups[_split_ext(r)[0]].append(r)
        items = [{"stem": stem, "files": files} for stem, files in sorted(groups.items())]
        return [
            {"source": self.source.name, "base": base, "groups": items[i : i + shard_rows]}
            for i in range(0, len(items), shard_rows)
        ]

    def read(self, spec: dict[str, Any]) -> Iterator[RawSample | Rejection | Tally]:
        base = spec["base"]
        for group in spec["groups"]:
            files = group["files"]
            yield Tally("files_seen", len(files))
            code_files = [f for f in files if _split_ext(f)[1] in EXTENSION_LANGUAGES]
            if len(code_files) != 1:
                reason = "no_code_file" if not code_files else "ambiguous_code_files"
                yield Rejection(
                    reason, f"files: {', '.join(files)}", {"source_id": group["stem"], "meta": _meta(files)}
                )
                continue
            try:
                yield self._sample(base, group["stem"], code_files[0], files)
            except FileNotFoundError as exc:
                raise vanished(self.source, exc) from exc

    def _sample(self, base: str, stem: str, code_file: str, files: list[str]) -> RawSample | Rejection:
        language = EXTENSION_LANGUAGES[_split_ext(code_file)[1]]
        subdomain = None
        if self.source.subdomain_from_name:
            match = NAME_KIND.match(posixpath.basename(stem))
            subdomain = match.group("kind") if match else None
        raw = RawSample(
            source_id=code_file,
            code=fsys.read_bytes(fsys.join(base, code_file)),
            language=language,
            subdomain=subdomain,
            meta=_meta(files),
        )
        by_ext = {_split_ext(f)[1]: f for f in files}
        image = next((by_ext[e] for e in IMAGE_EXTENSIONS if e in by_ext), None)
        if image is not None:
            raw.image_bytes = fsys.read_bytes(fsys.join(base, image))
            raw.image_path = image
        elif ".pdf" in by_ext and self.source.rasterize_pdf:
            try:
                raw.image_bytes = rasterize_pdf(fsys.read_bytes(fsys.join(base, by_ext[".pdf"])), self.source.pdf_dpi)
            except RuntimeError as exc:
                return Rejection(
                    "pdf_unreadable", str(exc), {"source_id": code_file, "code": raw.code, "meta": raw.meta}
                )
            raw.image_path = _split_ext(by_ext[".pdf"])[0] + ".png"
        return raw


def _meta(files: list[str]) -> dict[str, Any]:
    return {"files": files}


def rasterize_pdf(data: bytes, dpi: int) -> bytes:
    """PNG of a PDF's first page (poppler's pdftoppm; a parser, no code execution)."""
    with tempfile.TemporaryDirectory(prefix="vinci-pdf-") as tmp:
        src = os.path.join(tmp, "in.pdf")
        with open(src, "wb") as fh:
            fh.write(data)
        cmd = [
            "pdftoppm",
            "-r",
            str(dpi),
            "-png",
            "-singlefile",
            "-f",
            "1",
            "-l",
            "1",
            src,
            os.path.join(tmp, "out"),
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=PDF_TIMEOUT_S)
        except FileNotFoundError as exc:
            raise RuntimeError("pdftoppm (poppler-utils) is not installed; run `make setup`") from exc
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(f"pdftoppm took longer than {PDF_TIMEOUT_S}s") from exc
        out = os.path.join(tmp, "out.png")
        if proc.returncode != 0 or not os.path.exists(out):
            raise RuntimeError(f"pdftoppm failed: {proc.stderr.decode(errors='replace')[:500]}")
        with open(out, "rb") as fh:
            return fh.read()
