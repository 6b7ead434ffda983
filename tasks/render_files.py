"""Render code files to PNGs: the logic behind `vinci render PATH... --out DIR`.

The language comes from the file extension (`renderers.registry.EXTENSIONS`). A `.smi` file holds one SMILES per
line, optionally followed by whitespace and a name; blank lines and `#` comments are skipped, and every line is
its own item (`DIR/<stem>-<name>.png`, or `DIR/<stem>-<line>.png` without a usable name). Other files give
`DIR/<stem>.png`; inputs that would land on the same name get a numbered suffix instead of overwriting.
`DIR/results.parquet` has one row per item: path, image, language, ok, error_kind, error, ms, width, height.

An HTML file is rendered as a browser opening it would: the files beside it (images, styles, fonts, scripts in
the same folder, no parent paths) may load under their relative names; every other request stays blocked.
"""

from __future__ import annotations

import functools
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$")
PAGE_ASSETS = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".ico", ".css", ".js", ".woff", ".woff2", ".ttf"}
MAX_ASSET_BYTES = 10 << 20
MAX_ASSETS = 500


@dataclass
class RenderItem:
    """One thing to draw: code in a language, where it came from and the PNG name it gets."""

    path: str  # the file as given, `file.smi#<line>` for a SMILES line
    language: str
    code: str
    stem: str  # wanted output name without extension; made unique across the run
    assets: dict[str, str] | None = None  # html: files beside the page, relative name -> path


@dataclass
class RenderSummary:
    out: Path
    rows: list[dict[str, Any]]
    skipped: list[str]

    @property
    def failed(self) -> int:
        return sum(not r["ok"] for r in self.rows)

    def lines(self) -> list[str]:
        """One line per language: rendered/total and failures by kind."""
        by_language: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in self.rows:
            by_language[row["language"]].append(row)
        lines = []
        for language in sorted(by_language):
            rows = by_language[language]
            ok = sum(r["ok"] for r in rows)
            line = f"{language:<10} {ok}/{len(rows)} rendered"
            kinds = Counter(r["error_kind"] for r in rows if not r["ok"])
            if kinds:
                line += "; failed: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
            lines.append(line)
        return lines


def _extensions() -> dict[str, str]:
    from renderers.registry import EXTENSIONS

    return EXTENSIONS


def smiles_items(path: Path, shown: str) -> list[RenderItem]:
    """One item per SMILES line of a `.smi` file."""
    items = []
    text = path.read_text(encoding="utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        smiles, *rest = line.split(None, 1)
        name = rest[0].strip() if rest else ""
        suffix = name if SAFE_NAME.match(name) else str(number)
        items.append(RenderItem(f"{shown}#{number}", "smiles", smiles, f"{path.stem}-{suffix}"))
    return items


@functools.cache
def sibling_assets(folder: Path) -> dict[str, str]:
    """Files a page in `folder` may load by relative name: images, styles, fonts and scripts beside it."""
    found = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() in PAGE_ASSETS and path.stat().st_size <= MAX_ASSET_BYTES:
            found[path.name] = str(path.resolve())
            if len(found) >= MAX_ASSETS:
                break
    return found


def collect(paths: Iterable[str | Path]) -> tuple[list[RenderItem], list[str]]:
    """Items to render from files and folders (searched recursively); messages for what was skipped."""
    extensions = _extensions()
    items: list[RenderItem] = []
    skipped: list[str] = []

    def add(path: Path) -> None:
        language = extensions[path.suffix.lower()]
        if language == "smiles":
            items.extend(smiles_items(path, str(path)))
        else:
            code = path.read_text(encoding="utf-8", errors="replace")
            assets = sibling_assets(path.parent.resolve()) if language == "html" else None
            items.append(RenderItem(str(path), language, code, path.stem, assets or None))

    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in extensions
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not found:
                skipped.append(f"skipped {path}: no files with a known extension ({', '.join(sorted(extensions))})")
            for p in found:
                add(p)
        elif not path.exists():
            skipped.append(f"skipped {path}: no such file")
        elif path.suffix.lower() not in extensions:
            known = ", ".join(sorted(extensions))
            skipped.append(f"skipped {path}: unknown extension {path.suffix or '(none)'!r} (known: {known})")
        else:
            add(path)
    return items, skipped


def unique_names(stems: Iterable[str]) -> list[str]:
    """PNG file names, with `-2`, `-3` ... added where stems repeat, so no input overwrites another."""
    used: set[str] = set()
    names = []
    for stem in stems:
        name, n = stem, 1
        while name.lower() in used:  # lower: also safe on case-insensitive file systems
            n += 1
            name = f"{stem}-{n}"
        used.add(name.lower())
        names.append(f"{name}.png")
    return names


def _with_assets(options, assets: dict[str, str] | None):
    return options.model_copy(update={"html_assets": assets}) if assets else options


def results_table(rows: list[dict[str, Any]]):
    import pyarrow as pa

    schema = pa.schema(
        [
            pa.field("path", pa.string(), nullable=False),
            pa.field("image", pa.string()),
            pa.field("language", pa.string(), nullable=False),
            pa.field("ok", pa.bool_(), nullable=False),
            pa.field("error_kind", pa.string()),
            pa.field("error", pa.string()),
            pa.field("ms", pa.float64()),
            pa.field("width", pa.int32()),
            pa.field("height", pa.int32()),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


def render_files(
    paths: Iterable[str | Path],
    out: str | Path,
    *,
    timeout_s: float | None = None,
    dpi: int | None = None,
    workers: int | None = None,
    progress: bool | None = None,
    echo: Callable[[str], None] = print,
) -> RenderSummary:
    """Render every file (and SMILES line) under `paths` into `out`; returns the per-item results."""
    import pyarrow.parquet as pq

    from renderers.engine import EngineConfig, RenderEngine
    from renderers.result import RenderOptions
    from tasks.render_stage import render_ms
    from vinci.progress import progress_bar

    items, skipped = collect(paths)
    for message in skipped:
        echo(message)
    out = Path(out)
    summary = RenderSummary(out, [], skipped)
    if not items:
        return summary
    out.mkdir(parents=True, exist_ok=True)
    options = RenderOptions(**{k: v for k, v in {"timeout_s": timeout_s, "dpi": dpi}.items() if v is not None})
    engine_config = EngineConfig(sandbox_workers=workers, browser_workers=max(1, workers // 2) if workers else None)
    names = unique_names(item.stem for item in items)
    results = []
    with RenderEngine(engine_config) as engine, progress_bar(len(items), "render", progress) as bar:
        jobs = [(item.code, item.language, _with_assets(options, item.assets)) for item in items]
        for i, result in enumerate(engine.render_many(jobs)):
            target = out / names[i]
            if result.image is not None:
                target.write_bytes(result.image)
            else:  # no stale picture from an earlier run next to a failed item
                target.unlink(missing_ok=True)
            results.append(result)
            bar.advance(1, rows=i + 1)
    for item, name, result in zip(items, names, results, strict=True):
        summary.rows.append(
            {
                "path": item.path,
                "image": name if result.image is not None else None,
                "language": item.language,
                "ok": result.ok,
                "error_kind": result.error_kind,
                "error": result.error_message if not result.ok else None,
                "ms": render_ms(result),
                "width": result.width,
                "height": result.height,
            }
        )
    pq.write_table(results_table(summary.rows), out / "results.parquet")
    return summary
