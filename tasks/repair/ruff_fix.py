"""Ruff on batches of snippets: one process per step for up to ``CHUNK`` snippets, never one per snippet.

A batch is written as UTF-8 files into a temporary folder, then Ruff runs three times over the folder's files:

1. ``ruff check --no-fix --output-format json --select F821`` — diagnostics: undefined names (for the
   ``missing_imports`` heuristic) and syntax errors;
2. ``ruff check --fix-only --show-fixes --select <FIX_RULES>`` — the fixes, with a per-file count of what fired;
3. ``ruff format`` — layout (callers pass only code that compiles; a file Ruff cannot parse is left as it was).

Every call uses ``--isolated`` (the repository's own pyproject must not leak in), ``--no-cache`` and
``--target-version py311``; formatting is pinned to line length 88 (Ruff's default, which the ChartMimic scripts
already follow, so clean scripts pass through unchanged). Snippets Ruff cannot take (not UTF-8-encodable, NUL
bytes, over ``MAX_BYTES``) are skipped and come back unchanged. When a Ruff process fails for a chunk (crash,
timeout), the chunk is split in halves and retried, so one pathological file costs only itself.

Rule set (``FIX_RULES``; only fixes Ruff marks safe are applied, plus NPY201 promoted to safe):

=========  ===========================================================================================
NPY001     ``np.float``/``np.int``/``np.bool8``... aliases: removed in numpy 1.24, AttributeError today
NPY201     names removed in numpy 2.0 (``np.Inf``, ``np.NaN``, ``np.product``, ``np.float_``, ``np.trapz``...).
           A few fixes are "unsafe" only because the new name does not exist in numpy < 2 (``np.trapz`` →
           ``np.trapezoid``); we run numpy 2, so NPY201 is in ``extend-safe-fixes``
W605       invalid escape sequences (``"$\\mu$"``): a SyntaxWarning since 3.12; the fix keeps the value
F632       ``is`` / ``is not`` against a literal: a SyntaxWarning, and a wrong comparison
F541       f-strings without placeholders
E703       trailing semicolons (notebook habit)
E401       several modules imported on one line
E713 E714  ``not x in y`` / ``not x is y``
W291 W293  trailing whitespace (the fix is unsafe, hence skipped, inside multi-line strings)
UP004      ``class C(object)``
UP009      ``# -*- coding: utf-8 -*-`` cookies
UP010      ``from __future__ import print_function`` and friends
UP012      ``"x".encode("utf-8")``
UP015      redundant ``open(..., "r")`` modes
UP018      ``str("x")`` / ``int(1)``
UP021      ``universal_newlines=`` → ``text=``
UP024      ``IOError``/``EnvironmentError`` → ``OSError``
UP025      ``u"..."`` prefixes
UP034      doubled parentheses (``print(("x"))`` after a Python 2 print conversion)
UP039      ``class C():``
=========  ===========================================================================================

Left out on purpose: F401 (unused imports — ``mpl_toolkits.mplot3d`` and ``seaborn`` are imported for their side
effects), E711/E712 (``x == None`` → ``is None`` changes numpy/pandas element-wise comparisons; Ruff marks it
unsafe), I001 (import order changes nothing that runs), UP031/UP032 (rewriting %-formatting and ``.format`` into
f-strings changes style, not behaviour), NPY002 (the legacy ``np.random`` API still works; no fix exists).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

FIX_RULES: tuple[str, ...] = (
    "NPY001", "NPY201", "W605", "F632", "F541", "E703", "E401", "E713", "E714", "W291", "W293",
    "UP004", "UP009", "UP010", "UP012", "UP015", "UP018", "UP021", "UP024", "UP025", "UP034", "UP039",
)  # fmt: skip
EXTEND_SAFE: tuple[str, ...] = ("NPY201",)
DIAGNOSTIC_RULES: tuple[str, ...] = ("F821",)
COMMON = ("--isolated", "--no-cache", "--target-version", "py311")
LINE_LENGTH = 88
CHUNK = 500
MAX_BYTES = 2_000_000
_FILE_LINE = re.compile(r"^- (?P<file>s\d+\.py):$")
_COUNT_LINE = re.compile(r"^\s+(?P<n>\d+) × (?P<code>[A-Z]+[0-9]+)\b")


class RuffNotFoundError(RuntimeError):
    """Ruff is neither installed in this environment nor on PATH."""


def ruff_binary() -> str:
    """Path of the ruff executable: the one from the installed ``ruff`` package, else the one on PATH."""
    try:
        from ruff.__main__ import find_ruff_bin

        return os.fsdecode(find_ruff_bin())
    except (ImportError, FileNotFoundError):
        pass
    found = shutil.which("ruff")
    if found:
        return found
    raise RuffNotFoundError("ruff not found: install the 'ruff' Python package (pip install ruff) or put it on PATH")


@dataclass
class Diagnostics:
    undefined: list[str] = field(default_factory=list)  # F821 names, in order of first use
    syntax_errors: list[str] = field(default_factory=list)  # "row:col message"


def encodable(code: str) -> bytes | None:
    """The UTF-8 bytes Ruff would read, or None when Ruff should not see this snippet."""
    try:
        data = code.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return None if b"\x00" in data or len(data) > MAX_BYTES else data


def _scratch_dir() -> str | None:
    """/dev/shm when usable (a batch is thousands of small file operations), else the default temp folder."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


def _name(index: int) -> str:
    return f"s{index:06d}.py"


def _run(args: list[str], cwd: Path, files: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ruff_binary(), *args, *files],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=120 + len(files) // 5,
        check=False,
    )


Step = Callable[[Path, list[str]], dict[str, object]]


class RuffBatch:
    """A temporary folder with one file per snippet, over which Ruff steps run chunk by chunk.

    Use as a context manager; ``set`` updates a snippet between steps (only changed files are rewritten).
    """

    def __init__(self, codes: Sequence[str]) -> None:
        self.codes: list[str] = list(codes)
        self._on_disk: dict[int, str] = {}
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.failed: set[int] = set()  # snippets the last step failed on even alone (it left them unchanged)

    def __enter__(self) -> RuffBatch:
        ruff_binary()  # fail early and clearly when Ruff is missing
        self._tmp = tempfile.TemporaryDirectory(prefix="vinci-repair-", dir=_scratch_dir())
        for i, code in enumerate(self.codes):
            self.set(i, code)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    @property
    def root(self) -> Path:
        if self._tmp is None:
            raise RuntimeError("RuffBatch used outside its with-block")
        return Path(self._tmp.name)

    def set(self, i: int, code: str) -> None:
        self.codes[i] = code
        if self._on_disk.get(i) == code:
            return
        data = encodable(code)
        path = self.root / _name(i)
        if data is None:
            path.unlink(missing_ok=True)
            self._on_disk.pop(i, None)
        else:
            path.write_bytes(data)
            self._on_disk[i] = code

    def _over(self, indices: Iterable[int], step: Step, read_back: bool) -> dict[int, object]:
        """Run ``step`` over the files of ``indices`` (those on disk), ≤ CHUNK at a time; halve chunks that fail."""
        results: dict[int, object] = {}
        self.failed = set()
        chosen = [i for i in indices if i in self._on_disk]
        pending = [chosen[k : k + CHUNK] for k in range(0, len(chosen), CHUNK)]
        while pending:
            chunk = pending.pop(0)
            try:
                found = step(self.root, [_name(i) for i in chunk])
            except (subprocess.SubprocessError, OSError, ValueError) as exc:
                if len(chunk) > 1:
                    pending[:0] = [chunk[: len(chunk) // 2], chunk[len(chunk) // 2 :]]
                else:
                    log.warning("ruff failed on one snippet (%s); left unchanged", exc)
                    self.failed.add(chunk[0])
                    self._on_disk.pop(chunk[0], None)
                    self.set(chunk[0], self.codes[chunk[0]])  # undo anything a failed run half-wrote
                continue
            for i in chunk:
                if _name(i) in found:
                    results[i] = found[_name(i)]
                if read_back:
                    text = (self.root / _name(i)).read_bytes().decode("utf-8", "surrogateescape")
                    self.codes[i] = self._on_disk[i] = text
        return results

    def diagnose(self) -> list[Diagnostics]:
        """F821 names and syntax errors per snippet (empty for snippets Ruff did not see)."""
        results = self._over(range(len(self.codes)), _check_json, read_back=False)
        return [results.get(i, Diagnostics()) for i in range(len(self.codes))]  # type: ignore[misc]

    def fix(self) -> list[list[str]]:
        """Apply FIX_RULES; ``codes`` then holds the fixed texts. Returns the rule codes fixed per snippet."""
        results = self._over(range(len(self.codes)), _fix, read_back=True)
        return [results.get(i, []) for i in range(len(self.codes))]  # type: ignore[misc]

    def format(self, indices: Iterable[int] | None = None) -> list[bool]:
        """Format the given snippets (default: all); ``codes`` then holds the results. True where it worked."""
        chosen = list(range(len(self.codes)) if indices is None else indices)
        results = self._over(chosen, _format, read_back=True)
        ok = set(chosen) & set(self._on_disk) - self.failed
        return [i in ok and results.get(i) is not False for i in range(len(self.codes))]


def _check_json(root: Path, files: list[str]) -> dict[str, object]:
    rules = ",".join(DIAGNOSTIC_RULES)
    args = ["check", *COMMON, "--no-fix", "--exit-zero", "--output-format", "json", "--select", rules]
    done = _run(args, root, files)
    if done.returncode != 0:
        raise subprocess.SubprocessError(f"ruff check exited {done.returncode}: {done.stderr.strip()[:300]}")
    found: dict[str, Diagnostics] = {}
    for item in json.loads(done.stdout or "[]"):
        diag = found.setdefault(Path(item["filename"]).name, Diagnostics())
        if item.get("code") == "F821":
            match = re.search(r"`([^`]+)`", item.get("message", ""))
            if match and match.group(1) not in diag.undefined:
                diag.undefined.append(match.group(1))
        elif item.get("code") in (None, "invalid-syntax", "E999"):
            where = item.get("location") or {}
            diag.syntax_errors.append(f"{where.get('row')}:{where.get('column')} {item.get('message')}")
    return dict(found)


def diagnose(codes: Sequence[str]) -> list[Diagnostics]:
    """F821 names and syntax errors per snippet (empty for snippets Ruff did not see)."""
    with RuffBatch(codes) as batch:
        return batch.diagnose()


def _fix(root: Path, files: list[str]) -> dict[str, object]:
    safe = ", ".join(f"'{code}'" for code in EXTEND_SAFE)
    args = ["check", *COMMON, "--fix-only", "--show-fixes", "--select", ",".join(FIX_RULES)]
    done = _run([*args, "--config", f"lint.extend-safe-fixes = [{safe}]"], root, files)
    if done.returncode != 0:
        raise subprocess.SubprocessError(f"ruff check --fix exited {done.returncode}: {done.stderr.strip()[:300]}")
    fixed: dict[str, list[str]] = {}
    current = None
    for line in done.stdout.splitlines():
        if match := _FILE_LINE.match(line):
            current = fixed.setdefault(match.group("file"), [])
        elif (match := _COUNT_LINE.match(line)) and current is not None:
            current.append(match.group("code"))
        elif not line.strip():
            current = None
    return {name: sorted(codes, key=_rule_order) for name, codes in fixed.items()}


def _rule_order(code: str) -> tuple[int, str]:
    return (FIX_RULES.index(code) if code in FIX_RULES else len(FIX_RULES), code)


def fix(codes: Sequence[str]) -> list[tuple[str, list[str]]]:
    """(code after Ruff's fixes, rule codes fixed) per snippet; snippets Ruff cannot take come back as they were."""
    with RuffBatch(codes) as batch:
        rules = batch.fix()
        return list(zip(batch.codes, rules, strict=True))


def _format(root: Path, files: list[str]) -> dict[str, object]:
    done = _run(["format", *COMMON, "--line-length", str(LINE_LENGTH)], root, files)
    if done.returncode not in (0, 2):
        raise subprocess.SubprocessError(f"ruff format exited {done.returncode}: {done.stderr.strip()[:300]}")
    failed = set(re.findall(r"(s\d+\.py)", done.stderr))
    if done.returncode == 2 and not failed:
        raise subprocess.SubprocessError(f"ruff format failed: {done.stderr.strip()[:300]}")
    return {name: False for name in failed}


def format_codes(codes: Sequence[str]) -> list[str | None]:
    """Formatted code per snippet; None where Ruff did not see it or could not format it."""
    with RuffBatch(codes) as batch:
        done = batch.format()
        return [code if ok else None for code, ok in zip(batch.codes, done, strict=True)]
