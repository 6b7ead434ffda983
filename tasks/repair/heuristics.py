"""Text fixers for what Ruff cannot fix: each is ``name(code) -> str | None`` (None: did not apply, no change).

The three here are *syntax* fixes and act on code that fails to compile, so valid code is left alone:

* ``mixed_tabs``: tabs and spaces mixed in indentation (TabError / IndentationError). Leading tabs are expanded
  to the next multiple of a tab width: 8 (Python 2 semantics), 4 or 2. The width chosen is the one whose block
  structure agrees with the block headers; then the one that puts tabbed lines at the level of the
  space-indented statements and comments right next to them (see ``_indent_problems``); then, when both
  readings are valid programs, the width equal to the file's own indentation unit (a tab typed as "one level"
  in an editor set to 4, in a file indented by 4); last the Python 2 width 8.
* ``py2_print``: Python 2 print statements become calls, found with the tokenizer (so never inside strings or
  comments): ``print "x"``, ``print x, y``, ``print x,`` (end=" "), ``print >>f, x`` (file=f) and, when the file
  has other print statements, a bare ``print``. ``print >>f, x`` and ``print [x]`` parse in Python 3 (as a shift
  and a subscript) but always raise, so those two are converted in valid code too.
* ``truncated_tail``: a script cut off mid-statement. Keep as much as possible: a last line that stops inside a
  one-line string gets the string closed; otherwise drop 0..12 trailing lines, and on the last kept line try
  cutting back to a comma or an opening bracket; close the brackets still open, innermost first; keep the first
  candidate that compiles. A dangling block header is dropped along with its empty body. An unterminated
  triple-quoted string is cut away, never closed at the end (when its opening quote was the mistake, closing
  it would turn the rest of the script into a string).

The API-level fixers (``missing_imports``, ``deprecated_matplotlib``, ``drop_show``) live in
``tasks.repair.modernize`` and are re-exported here; ``HEURISTICS`` lists every name in pipeline order.
"""

from __future__ import annotations

import bisect
import re
import tokenize

from tasks.repair.fences import strip_fences
from tasks.repair.modernize import IMPORT_TABLE, deprecated_matplotlib, drop_show, missing_imports
from tasks.repair.syntax import Source, apply_edits, compiles, first_error, string_rows, tokens

__all__ = [
    "HEURISTICS",
    "IMPORT_TABLE",
    "SYNTAX_FIXERS",
    "deprecated_matplotlib",
    "drop_show",
    "missing_imports",
    "mixed_tabs",
    "py2_print",
    "strip_fences",
    "truncated_tail",
]

_COMPOUND = {"if", "elif", "else", "for", "while", "with", "try", "except", "finally", "def", "class", "async"}
_NOT_ARGUMENT = {"in", "is", "and", "or", "if", "else", "for"}
_OPENERS = {"(": ")", "[": "]", "{": "}"}
_LEADING = re.compile(r"^[ \t]*")
_STRING_PREFIXES = {"r", "u", "b", "f", "br", "rb", "fr", "rf"}


# --------------------------------------------------------------------------------------------- py2_print
def _print_statements(toks: list[tokenize.TokenInfo]) -> list[tuple[int, int]]:
    """(index of the ``print`` token, index one past the statement's last token) for statement-level prints."""
    found, depth, at_start, line_head, lambda_seen = [], 0, True, None, False
    for i, tok in enumerate(toks):
        if tok.type in (tokenize.NL, tokenize.COMMENT):
            continue
        if tok.type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            at_start, line_head, lambda_seen, depth = True, None, False, 0
            continue
        if at_start and line_head is None:
            line_head = tok.string
        if at_start and depth == 0 and tok.type == tokenize.NAME and tok.string == "print":
            end = _statement_end(toks, i + 1)
            if end is not None:
                found.append((i, end))
        at_start = False
        if tok.type == tokenize.OP:
            if tok.string in _OPENERS:
                depth += 1
            elif tok.string in (")", "]", "}"):
                depth = max(0, depth - 1)
            elif depth == 0 and tok.string == ";":
                at_start = True  # a new simple statement follows
            elif depth == 0 and tok.string == ":":
                at_start = line_head in _COMPOUND and not lambda_seen  # "if x: print y" has its body here
        elif tok.string == "lambda":
            lambda_seen = True
    return found


def _statement_end(toks: list[tokenize.TokenInfo], j: int) -> int | None:
    """One past the last token of a print *statement* whose first argument token is ``toks[j]``, else None."""
    if j >= len(toks):
        return j
    nxt = toks[j]
    terminal = nxt.type in (tokenize.NEWLINE, tokenize.ENDMARKER, tokenize.COMMENT) or nxt.string == ";"
    if terminal:
        return j
    spaced = nxt.start != toks[j - 1].end
    if nxt.type == tokenize.OP and not (nxt.string == ">>" or (spaced and nxt.string in ("[", "{"))):
        return None
    if nxt.type == tokenize.NAME and nxt.string in _NOT_ARGUMENT:
        return None
    depth, k = 0, j
    while k < len(toks):
        tok = toks[k]
        if tok.type in (tokenize.NEWLINE, tokenize.ENDMARKER) or (depth == 0 and tok.string == ";"):
            break
        if tok.type == tokenize.OP and tok.string in _OPENERS:
            depth += 1
        elif tok.type == tokenize.OP and tok.string in (")", "]", "}"):
            depth -= 1
        k += 1
    while k > j and toks[k - 1].type in (tokenize.COMMENT, tokenize.NL):
        k -= 1
    return k


def _print_call(src: Source, toks: list[tokenize.TokenInfo], start: int, end: int) -> tuple[int, int, str]:
    args = [t for t in toks[start + 1 : end] if t.type not in (tokenize.NL, tokenize.COMMENT)]
    first = src.offset(*toks[start].start)
    last = src.offset(*toks[end - 1].end) if end > start + 1 else src.offset(*toks[start].end)
    stream = None
    trailing = bool(args) and args[-1].string == "," and _depth_at(args, len(args) - 1) == 0
    if trailing:
        args = args[:-1]
    if args and args[0].string == ">>":
        comma = next((n for n in range(1, len(args)) if args[n].string == "," and _depth_at(args, n) == 0), None)
        stream_end = comma if comma is not None else len(args)
        if stream_end > 1:
            stream = src.code[src.offset(*args[1].start) : src.offset(*args[stream_end - 1].end)]
        args = args[stream_end + 1 :] if comma is not None else []
    pieces = [src.code[src.offset(*args[0].start) : src.offset(*args[-1].end)]] if args else []
    if stream:
        pieces.append(f"file={stream}")
    if trailing:
        pieces.append('end=" "')
    return first, last, "print(" + ", ".join(pieces) + ")"


def _runtime_only(print_tok: tokenize.TokenInfo, nxt: tokenize.TokenInfo) -> bool:
    return nxt.string == ">>" or (nxt.string == "[" and nxt.start != print_tok.end)


def _depth_at(toks: list[tokenize.TokenInfo], n: int) -> int:
    depth = 0
    for tok in toks[:n]:
        if tok.type == tokenize.OP and tok.string in _OPENERS:
            depth += 1
        elif tok.type == tokenize.OP and tok.string in (")", "]", "}"):
            depth -= 1
    return depth


def py2_print(code: str) -> str | None:
    """Python 2 print statements → print() calls.

    Only in code that does not compile, except for two forms that do compile in Python 3 but always fail at run
    time: ``print >>f, x`` (a shift of the print function) and ``print [x]`` (a subscript of it).
    """
    if "print" not in code:
        return None
    valid = compiles(code)
    toks, _ = tokens(code)
    src = Source(code)
    edits, bare = [], []
    for start, end in _print_statements(toks):
        if valid and not (end > start + 1 and _runtime_only(toks[start], toks[start + 1])):
            continue
        (bare if end == start + 1 else edits).append(_print_call(src, toks, start, end))
    if not edits:
        return None
    return apply_edits(code, edits + bare)


# --------------------------------------------------------------------------------------------- mixed_tabs
def _indent_problems(code: str, tabbed: set[int]) -> tuple[int, int]:
    """(blocks that disagree with their headers, level jumps where tab-indented lines touch space-indented ones).

    The first counts an INDENT after a line not ending in ':' or a ':' line without INDENT (1000 for a dedent
    to no known level). The second breaks ties between tab widths that are both valid: a tab-indented line most
    likely sits at the level of the statement or comment line right next to it; across a blank line a level
    change is normal (blocks end there), so only lines without a blank line between them count.
    """
    toks, exc = tokens(code)
    problems = 1000 if isinstance(exc, IndentationError) else 0
    items: list[list] = []  # [first row, last row, column, follows a block header] per statement or comment line
    after_colon, prev, pending, first = False, None, True, True
    for tok in toks:
        if tok.type == tokenize.NL:
            continue
        if tok.type == tokenize.COMMENT:
            if pending and not tok.line[: tok.start[1]].strip():
                items.append([tok.start[0], tok.start[0], tok.start[1], after_colon])
            continue
        if tok.type == tokenize.NEWLINE:
            after_colon, pending, first = prev is not None and prev.string == ":", True, True
            if items:
                items[-1][1] = max(items[-1][1], tok.start[0])
            continue
        if first and tok.type != tokenize.ENDMARKER:
            problems += (tok.type == tokenize.INDENT) != after_colon
        first = False
        if pending and tok.type not in (tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER):
            items.append([tok.start[0], tok.start[0], tok.start[1], after_colon])
            pending = False
        prev = tok
    seams = sum(
        (a[0] in tabbed) != (b[0] in tabbed) and a[2] != b[2] and not b[3] and b[0] == a[1] + 1
        for a, b in zip(items, items[1:], strict=False)
    )
    return problems, seams


def _expand(code: str, inside: set[int], size: int) -> str:
    out = []
    for row, line in enumerate(code.splitlines(keepends=True), 1):
        lead = _LEADING.match(line).group()
        if "\t" in lead and row not in inside:
            column = 0
            for ch in lead:
                column = (column // size + 1) * size if ch == "\t" else column + 1
            line = " " * column + line[len(lead) :]
        out.append(line)
    return "".join(out)


def mixed_tabs(code: str) -> str | None:
    """Expand leading tabs where tabs and spaces are mixed, with the tab width (8, 4 or 2) that fits the file."""
    if "\t" not in code or compiles(code):
        return None
    # Which rows belong to multi-line strings does not depend on indentation, so tokenize a dedented copy.
    flat = "".join(line.lstrip(" \t") for line in code.splitlines(keepends=True))
    inside = string_rows(tokens(flat)[0])
    rows = enumerate(code.splitlines(), 1)
    leads = [_LEADING.match(line).group() for row, line in rows if row not in inside and line.strip()]
    if not any("\t" in lead for lead in leads) or not any(" " in lead for lead in leads):
        return None
    tabbed = {row for row, line in enumerate(code.splitlines(), 1) if "\t" in _LEADING.match(line).group()}
    unit = min((len(lead) for lead in leads if lead and "\t" not in lead), default=8)
    sizes = (8, 4, 2)
    candidates = [_expand(code, inside, size) for size in sizes]
    scores = [(*_indent_problems(candidates[n], tabbed), size != unit, n) for n, size in enumerate(sizes)]
    best = min(scores)
    return candidates[best[-1]] if candidates[best[-1]] != code and best[0] < 1000 else None


# --------------------------------------------------------------------------------------------- truncated_tail
def _looks_truncated(code: str, error: SyntaxError, exc: Exception | None) -> bool:
    if isinstance(exc, tokenize.TokenError):
        return True  # EOF inside brackets or inside a triple-quoted string
    message = str(error.msg or "")
    if any(hint in message for hint in ("was never closed", "unexpected EOF", "unterminated")):
        return True
    last = max((row for row, line in enumerate(code.splitlines(), 1) if line.strip()), default=0)
    return (error.lineno or 0) >= last - 1


_MISMATCH = ("", None)


def _bracket_states(toks: list[tokenize.TokenInfo], src: Source) -> tuple[list[int], list[tuple | None]]:
    """End offset of each token and the open-bracket stack after it, as a linked list of (closer, rest)."""
    ends, states, state = [], [], None
    for tok in toks:
        if state is not _MISMATCH and tok.type == tokenize.OP:
            if tok.string in _OPENERS:
                state = (_OPENERS[tok.string], state)
            elif tok.string in (")", "]", "}"):
                state = state[1] if state is not None and state[0] == tok.string else _MISMATCH
        ends.append(src.offset(*tok.end))
        states.append(state)
    return ends, states


def _closers(ends: list[int], states: list[tuple | None], end: int) -> str | None:
    """The closing brackets for the text up to offset ``end``, innermost first; None when brackets mismatch."""
    index = bisect.bisect_right(ends, end) - 1
    state = states[index] if index >= 0 else None
    if state is _MISMATCH:
        return None
    out = []
    while state is not None:
        out.append(state[0])
        state = state[1]
    return "".join(out)


def truncated_tail(code: str, max_drop: int = 12) -> str | None:
    """Repair a script cut off mid-statement; the result compiles, else None."""
    error = first_error(code)
    if error is None or isinstance(error, IndentationError) and "unindent" in str(error.msg):
        return None
    toks, exc = tokens(code)
    if not _looks_truncated(code, error, exc):
        return None
    src = Source(code)
    hard = len(code)  # nothing at or after this offset can be kept (an unterminated string starts there)
    # An unterminated triple-quoted string runs to the end; cut before it unless that loses most of the file.
    if isinstance(exc, tokenize.TokenError) and "string" in str(exc.args[0]) and exc.args[1][0] > len(src.lines) // 2:
        hard = src.offset(*exc.args[1])
    last_row = max((row for row, line in enumerate(src.lines, 1) if line.strip()), default=0)
    quotes = [t for t in toks if t.type == tokenize.ERRORTOKEN and t.string in ("'", '"') and t.start[0] == last_row]
    if quotes:
        at = toks.index(quotes[0])
        prefix = toks[at - 1] if at and toks[at - 1].end == quotes[0].start else None  # f"..., rb"...
        start = prefix.start if prefix and prefix.string.lower() in _STRING_PREFIXES else quotes[0].start
        hard = min(hard, src.offset(*start))
    toks = [t for t in toks if src.offset(*t.end) <= hard and t.type != tokenize.ERRORTOKEN]
    ends, states = _bracket_states(toks, src)
    strings = [(src.offset(*t.start), src.offset(*t.end)) for t in toks if t.type == tokenize.STRING]
    if quotes and hard <= src.offset(*quotes[0].start):
        # The last line stops inside a one-line string: close it and the brackets, keeping the text.
        closing = _closers(ends, states, hard)
        candidate = code.rstrip("\r\n") + quotes[0].string + (closing or "") + "\n"
        if closing is not None and compiles(candidate):
            return candidate
    text = code[:hard]
    rows = text.split("\n")
    for drop in range(min(max_drop, len(rows) - 1) + 1):
        kept = len("\n".join(rows[: len(rows) - drop]))
        if any(start < kept < stop for start, stop in strings):
            continue  # the cut would fall inside a multi-line string
        last_row = len(rows) - drop
        cuts = [
            src.offset(*t.end)
            for t in toks
            if t.start[0] == last_row and t.type == tokenize.OP and (t.string == "," or t.string in _OPENERS)
        ]
        for end in [kept, *reversed(cuts[-4:])]:
            closing = _closers(ends, states, end)
            if closing is None:
                continue
            head = code[:end].rstrip()
            head = head[:-1].rstrip() if head.endswith("\\") else head
            if head.endswith("(") and closing.startswith(")"):
                continue  # `ax.set_xlabel(` -> `ax.set_xlabel()` parses but usually raises; drop the line instead
            candidate = head + closing + "\n"
            if candidate.strip() and compiles(candidate):
                return candidate if candidate != code else None
    return None


SYNTAX_FIXERS = {"mixed_tabs": mixed_tabs, "py2_print": py2_print, "truncated_tail": truncated_tail}
HEURISTICS = ("strip_fences", *SYNTAX_FIXERS, "missing_imports", "deprecated_matplotlib", "drop_show")
