"""Small, never-raising helpers shared by the repair heuristics: compile checks, best-effort tokens, AST edits.

Everything here must survive arbitrary input (NUL bytes, lone surrogates, absurd nesting), because one bad
snippet must never take a batch down: failures come back as values, not exceptions.
"""

from __future__ import annotations

import ast
import functools
import io
import tokenize
import warnings


@functools.lru_cache(maxsize=1024)
def first_error(code: str) -> SyntaxError | None:
    """The error that stops ``compile(code)``, or None when it compiles; other failures become SyntaxError.

    Cached: the pipeline asks the same question about the same text several times (treat the result as read-only).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(code, "<chart>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        return exc
    except (ValueError, UnicodeError, RecursionError, MemoryError, OverflowError) as exc:
        return SyntaxError(f"{type(exc).__name__}: {exc}")
    return None


def compiles(code: str) -> bool:
    return first_error(code) is None


def describe(error: SyntaxError) -> str:
    """One line: message and position, as people read them in tracebacks."""
    where = f" (line {error.lineno})" if error.lineno else ""
    return f"{type(error).__name__}: {error.msg or error}{where}"


@functools.lru_cache(maxsize=32)
def parse(code: str) -> ast.Module | None:
    """The module's AST or None; cached (several fixers look at the same text), so callers must not mutate it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(code)
    except (SyntaxError, ValueError, UnicodeError, RecursionError, MemoryError):
        return None


def tokens(code: str) -> tuple[list[tokenize.TokenInfo], Exception | None]:
    """Tokens up to the first tokenizer error (returned alongside, None when the whole text tokenized)."""
    out: list[tokenize.TokenInfo] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            out.append(tok)
    except (tokenize.TokenError, SyntaxError, ValueError) as exc:
        return out, exc
    return out, None


def string_rows(toks: list[tokenize.TokenInfo]) -> set[int]:
    """1-based rows that continue a multi-line string token (their text belongs to the string, not to code)."""
    rows: set[int] = set()
    for tok in toks:
        if tok.type == tokenize.STRING and tok.end[0] > tok.start[0]:
            rows.update(range(tok.start[0] + 1, tok.end[0] + 1))
    return rows


class Source:
    """A text with (row, col) ↔ offset conversions for both tokenize (str columns) and ast (UTF-8 byte columns)."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.lines = code.splitlines(keepends=True)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))

    def offset(self, row: int, col: int) -> int:
        """Offset of a tokenize position (1-based row, column in characters)."""
        if row - 1 >= len(self.lines):
            return len(self.code)
        return self.starts[row - 1] + col

    def ast_offset(self, row: int, byte_col: int) -> int:
        """Offset of an ast position (1-based row, column in UTF-8 bytes)."""
        if row - 1 >= len(self.lines):
            return len(self.code)
        line = self.lines[row - 1]
        chars = len(line.encode("utf-8", "surrogatepass")[:byte_col].decode("utf-8", "replace"))
        return self.starts[row - 1] + chars

    def span(self, node: ast.AST) -> tuple[int, int]:
        start = self.ast_offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end = self.ast_offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
        return start, end


def apply_edits(code: str, edits: list[tuple[int, int, str]]) -> str:
    """Replace ``code[start:end]`` by text for each edit, in order; an edit overlapping an earlier one is dropped."""
    out, last = [], 0
    for start, end, text in sorted(set(edits)):
        if start < last:
            continue
        out.append(code[last:start])
        out.append(text)
        last = end
    out.append(code[last:])
    return "".join(out)
