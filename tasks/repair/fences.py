"""Cut chart code out of an LLM answer: markdown fences and the prose around them.

Chart2Code-style corpora are full of model answers rather than scripts: "Here is the code:" followed by a fenced
block and "Hope it helps". This module recovers the script and nothing else. It is deliberately conservative:
text that already compiles is never touched, and prose is only cut when the rest then compiles (or at least
fails later than before).

Decisions:

* **Several fenced blocks**: the longest *python-looking* block that compiles wins, ties going to the last one
  (answers tend to end with the corrected version); when none compiles, the longest one. Blocks are never
  joined: the common multi-block answer is "original code ... fixed code", and joining two complete scripts
  draws every figure twice. Python-looking means the info string is empty, ``python``, ``py``, ``python3``,
  ``py3`` or ``ipython`` (any case); other languages (``bash``, ``text``, ``json`` ...) are used only when there
  is no python-looking block at all.
* **Unterminated final fence** (a truncated answer): the block runs to the end of the text; the truncated-tail
  heuristic deals with the cut-off code afterwards. A closing fence glued to the last code line
  (``plt.savefig("x.pdf")```​``) closes the block after that line.
* **No fences**: leading lines are dropped up to the first line that looks like code, trailing lines after
  the last line that looks like code; a cut is kept only if the code then parses better (see ``_better``).
"""

from __future__ import annotations

import re

from tasks.repair.syntax import first_error

FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})[ \t]*([\w+.#-]*)[^\n`]*$")
PYTHON_TAGS = {"", "python", "py", "python3", "py3", "ipython", "python2", "py2"}
_CODE_START = re.compile(
    r"^(import |from \S+ import |def |class |if |for |while |with |try:|@|#|print\b|"
    r"[A-Za-z_][\w.]*\s*(\[[^\]]*\]\s*)?(=|\+=|-=|\*=|/=|\()|[A-Za-z_]\w*\s*,\s*[A-Za-z_]\w*\s*=)"
)
_PROSE_WORD = re.compile(r"[A-Za-z][a-z']*")


def _blocks(lines: list[str]) -> list[tuple[str, list[str]]]:
    """Fenced blocks as (lower-cased info tag, body lines); a block left open runs to the end."""
    blocks: list[tuple[str, list[str]]] = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        marker, tag = match.group(1), match.group(2).lower()
        body: list[str] = []
        i += 1
        while i < len(lines):
            closing = FENCE.match(lines[i])
            same_kind = closing and closing.group(1)[0] == marker[0] and len(closing.group(1)) >= len(marker)
            if same_kind and not closing.group(2):
                break
            glued = lines[i].rstrip()
            if glued.endswith(marker) and glued[: -len(marker)].strip() and not glued.endswith(marker + marker[0]):
                body.append(glued[: -len(marker)])  # "plt.savefig('x.pdf')```": the fence closes after the code
                break
            body.append(lines[i])
            i += 1
        blocks.append((tag, body))
        i += 1
    return blocks


def _choose(blocks: list[tuple[str, list[str]]]) -> list[str] | None:
    pythonish = [body for tag, body in blocks if tag in PYTHON_TAGS and any(line.strip() for line in body)]
    pool = pythonish or [body for _tag, body in blocks if any(line.strip() for line in body)]
    if not pool:
        return None
    best: tuple[bool, int, int] | None = None
    chosen = None
    for index, body in enumerate(pool):
        key = (first_error("\n".join(body) + "\n") is None, sum(bool(line.strip()) for line in body), index)
        if best is None or key > best:
            best, chosen = key, body
    return chosen


def looks_like_code(line: str) -> bool:
    """A conservative guess that a line is Python rather than English prose."""
    stripped = line.strip()
    if not stripped:
        return False
    if _CODE_START.match(stripped) or line[:1] in (" ", "\t"):
        return True
    return stripped.endswith((")", "]", "}", ":")) and not _is_prose(stripped)


def _is_prose(stripped: str) -> bool:
    words = stripped.split()
    if len(words) < 3:
        return False
    wordlike = sum(bool(_PROSE_WORD.fullmatch(w.strip(".,:;!?()\"'"))) for w in words)
    return wordlike >= 0.6 * len(words)


def _better(candidate: str, original: str, dropped_head: int) -> bool:
    """The candidate compiles, or its first error (in original line numbers) comes later than before."""
    new_error = first_error(candidate)
    if new_error is None:
        return True
    old_error = first_error(original)
    if old_error is None:
        return False
    return (new_error.lineno or 0) + dropped_head > (old_error.lineno or 0)


def _strip_prose(code: str) -> str | None:
    lines = code.splitlines()
    head = next((i for i, line in enumerate(lines) if looks_like_code(line)), None)
    if head is None:
        return None
    tail = max(i for i, line in enumerate(lines) if looks_like_code(line))
    # Lines after the last code line are cut only when one of them reads as English.
    end = len(lines)
    if any(_is_prose(line.strip()) for line in lines[tail + 1 :]):
        end = tail + 1
    if head == 0 and end == len(lines):
        return None
    candidate = "\n".join(lines[head:end]).strip("\n") + "\n"
    return candidate if _better(candidate, code, head) else None


def strip_fences(code: str) -> str | None:
    """The script inside an LLM answer, or None when the text already compiles or nothing could be cut."""
    if first_error(code) is None:
        return None
    lines = code.splitlines()
    if any(FENCE.match(line) for line in lines):
        body = _choose(_blocks(lines))
        if body is None:
            return None
        candidate = "\n".join(body).strip("\n") + "\n"
        rest = _strip_prose(candidate)  # prose inside the block ("Output:" lines) is rare but cheap to check
        candidate = rest or candidate
        return candidate if candidate != code else None
    return _strip_prose(code)
