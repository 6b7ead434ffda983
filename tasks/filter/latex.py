"""LaTeX rule of the filter stage: every TikZ sample becomes a standalone TikZ document (VinciCoder §3.2.1).

``standalone_tikz(code) -> (document | None, changes, reason | None)``. The document is complete
(``\\documentclass[tikz,border=2pt]{standalone}``), so the render engine compiles it as it is; compiling, and
dropping failing or multi-page results, is the stage's job.

Decisions:

* A TikZ picture is a ``tikzpicture``, ``tikzcd``, ``circuitikz`` or ``forest`` environment not inside another
  one (all four draw with TikZ; standalone's ``tikz`` option makes each a page; nested pictures belong to their
  outer one). The inline ``\\tikz`` command (a symbol in running text) and ``pgfpicture`` are not pictures.
* Every picture is kept, in order. Several pictures compile to several pages and are dropped as ``multi_page``
  by the compile step, as in the paper; keeping only the first would invent a sample the source never drew.
* Snippet (no ``\\documentclass``, no ``\\begin{document}``): pictures become the body, definitions
  (``\\usepackage``, ``\\usetikzlibrary``, ``\\definecolor``, ``\\tikzset``, ``\\pgfplotsset``, ``\\newcommand``,
  ``\\def``, ... see ``DEFINITIONS``) the preamble; the rest (``\\centering``, figure, caption, prose) is dropped.
* Another class (article, minimal, beamer, or standalone without ``tikz``): the class becomes standalone with
  ``tikz`` (keeping a 10pt/11pt/12pt option, or standalone's own options), the preamble stays, and of the body
  only pictures and definitions stay: ``\\maketitle``, headings, prose and captions would be pages of their own.
  Changes: ``documentclass_to_standalone`` / ``added_tikz_option`` / ``added_documentclass`` (a body without a
  class), ``dropped_maketitle``, ``dropped_pagestyle``, ``dropped_text`` (any other body material).
* A document already ``\\documentclass[...tikz...]{standalone}`` keeps its text; only the preamble rules apply.
* Preamble rules: ``\\pagestyle``/``\\thispagestyle`` go (``fancy`` prints its header on the cropped page);
  geometry (with ``\\geometry``, ``\\newgeometry``, ...), showframe (draws a frame round the picture), fullpage
  and crop go (``dropped_package:NAME``); fancyhdr stays (harmless without the page style, and its
  ``\\fancyhead`` lines still compile). tikz-cd, forest, circuitikz and pgfplots (for ``axis``) are added when
  their environment is used and the package is not loaded (``added_package:NAME``).
* Comments (``%`` to the end of the line, not ``\\%``) are ignored when looking for anything; kept pictures,
  definitions and preambles are copied with their comments. ``\\verb`` and verbatim are not understood.
* Reasons, the first that applies: ``no_tikz``, ``unbalanced_picture`` (a picture that does not close, or
  closes another), ``shell_escape`` (``\\write18``, ``\\ShellEscape``, ``\\input|``, ``\\tikzexternalize``, gnuplot
  plots, minted/gnuplottex/pythontex/shellesc), ``external_input`` (``\\input``, ``\\include``,
  ``\\includegraphics`` and kin, listings or verbatim input, pgf images, data files read by pgfplots tables or
  ``plot file``), ``no_document_body`` (a class without ``\\begin{document}``).
* Idempotent: the output is a standalone ``tikz`` document the rules leave alone, so a second call returns it
  unchanged with no changes.
"""

from __future__ import annotations

import bisect
import re

PICTURES = ("tikzpicture", "tikzcd", "circuitikz", "forest")
CLASS_LINE = "\\documentclass[{options}]{{standalone}}"
BORDER = "border=2pt"
FONT_SIZES = frozenset({"10pt", "11pt", "12pt"})
DEFINITIONS = {  # definition command -> mandatory arguments (a bare control sequence counts as one)
    "usepackage": 1, "RequirePackage": 1, "usetikzlibrary": 1, "usepgfplotslibrary": 1, "usepgflibrary": 1,
    "tikzset": 1, "pgfplotsset": 1, "pgfkeys": 1, "definecolor": 3, "colorlet": 2, "newcommand": 2,
    "renewcommand": 2, "providecommand": 2, "DeclareMathOperator": 2, "newlength": 1, "setlength": 2,
    "pgfdeclarelayer": 1, "pgfsetlayers": 1, "pgfmathsetmacro": 2, "newcounter": 1, "setcounter": 2, "newif": 1,
    "newenvironment": 3, "renewenvironment": 3, "pgfplotscreateplotcyclelist": 2, "tikzstyle": 1,
    "def": 1, "gdef": 1, "edef": 1, "xdef": 1, "let": 2,
}  # fmt: skip
DROPPED_PACKAGES = frozenset({"geometry", "showframe", "fullpage", "crop"})
DROPPED_COMMANDS = {"pagestyle": "dropped_pagestyle", "thispagestyle": "dropped_pagestyle"}
GEOMETRY_COMMANDS = frozenset({"geometry", "newgeometry", "restoregeometry", "savegeometry", "loadgeometry"})
NEEDED = (("tikzcd", "tikz-cd"), ("forest", "forest"), ("circuitikz", "circuitikz"), ("axis", "pgfplots"))
SHELL = re.compile(  # bounded repeats keep every search linear on hostile input
    r"\\(?:immediate\s*)?write\s*18|\\ShellEscape\b|\\input\s*\{?\s*\||\\tikzexternalize|"
    r"\\addplot3?\s*(?:\+\s*)?(?:\[[^\]]{0,1000}\]\s*)?gnuplot|\bplot\s*(?:\[[^\]]{0,1000}\]\s*)?function\s*\{|"
    r"\\usepackage\s*(?:\[[^\]]{0,1000}\])?\s*\{[^}]{0,1000}\b(?:minted|gnuplottex|pythontex|shellesc)\b"
)
EXTERNAL = re.compile(
    r"\\(?:input|include|includegraphics|includepdf|includestandalone|includesvg|lstinputlisting|verbatiminput|"
    r"pgfimage|pgfdeclareimage)(?![A-Za-z@])|\bplot\s*(?:\[[^\]]{0,1000}\]\s*)?file\s*\{|"
    r"\\addplot3?[^;]{0,1000}?\bfile\s*\{"
)
TABLE_FILE = re.compile(
    r"(?:\\addplot3?\b[^;]{0,1000}?\btable|\\pgfplotstableread)\s*(?:\[[^\]]{0,1000}\]\s*)?\{([^{}]{0,1000})\}"
)
_COMMENT = re.compile(r"\\.|%[^\n]*", re.DOTALL)
_GROUPING = re.compile(r"\\.|[{}\[\]]", re.DOTALL)
_ENV = re.compile(r"\\(begin|end)\s*\{(" + "|".join(PICTURES) + r")\}")
_CLASS = re.compile(r"\\documentclass\s*(?:\[([^\]]{0,1000})\])?\s*\{([^}]{0,1000})\}")
_BEGIN_DOC = re.compile(r"\\begin\s*\{document\}")
_END_DOC = re.compile(r"\\end\s*\{document\}")
_COMMAND = re.compile(r"\\([A-Za-z@]+)")
_PACKAGES = re.compile(r"\\(?:usepackage|RequirePackage)\s*(?:\[[^\]]{0,1000}\])?\s*\{([^}]{0,1000})\}")
_TIKZ_LIBRARIES = re.compile(r"\\usetikzlibrary\s*\{([^}]{0,1000})\}")


def mask_comments(code: str) -> str:
    """`code` with every comment replaced by spaces (same length, so positions carry over)."""
    return _COMMENT.sub(lambda m: m.group() if m.group().startswith("\\") else " " * len(m.group()), code)


def group_ends(masked: str) -> dict[int, int]:
    """Where each ``{`` and ``[`` group of `masked` ends (index after its closer), in one linear pass. A ``[``
    group ends at the first ``]`` at its brace depth, as LaTeX reads optional arguments; groups that never close
    are absent."""
    ends: dict[int, int] = {}
    braces: list[int] = []
    brackets: dict[int, list[int]] = {}
    for match in _GROUPING.finditer(masked):
        ch, at = match.group(), match.start()
        if ch == "{":
            braces.append(at)
        elif ch == "}" and braces:
            brackets.pop(len(braces), None)
            ends[braces.pop()] = at + 1
        elif ch == "[":
            brackets.setdefault(len(braces), []).append(at)
        elif ch == "]":
            for opening in brackets.pop(len(braces), []):
                ends[opening] = at + 1
    return ends


def _skip_space(masked: str, at: int) -> int:
    while at < len(masked) and masked[at] in " \t\r\n":
        at += 1
    return at


def _command_end(masked: str, ends: dict[int, int], name: str, at: int) -> int:
    """End of the definition command `name` whose arguments start at `at` (best effort, never before `at`)."""
    if name in ("def", "gdef", "edef", "xdef"):  # \def\name<parameters>{body}
        brace = masked.find("{", at, at + 200)
        return ends.get(brace, at) if brace >= 0 else at
    mandatory, end = DEFINITIONS[name], at
    while True:
        i = _skip_space(masked, end)
        ch = masked[i : i + 1]
        if ch == "[" or (ch == "{" and mandatory > 0):
            if i not in ends:
                return end
            end, mandatory = ends[i], mandatory - (ch == "{")
        elif ch == "\\" and mandatory > 0:
            cs = _COMMAND.match(masked, i)
            end, mandatory = (cs.end() if cs else i + 2), mandatory - 1
        elif ch and ch in "*=+" and name in ("tikzstyle", "let", "newcommand", "renewcommand", "providecommand"):
            end = i + 1  # \newcommand*, \let\a=\b, \tikzstyle{x}+=[...]
        else:
            return end


def _split(masked: str, start: int, stop: int, spans: list[tuple[int, int]]) -> tuple[list, list, list[str]]:
    """(definition spans, picture spans, dropped_* changes) of masked[start:stop]; a picture inside a definition
    (a ``\\newcommand`` holding a picture) stays with the definition."""
    ends = group_ends(masked)
    defs, rest, at = [], [], start
    pics = [p for p in spans if start <= p[0] < stop]
    starts = [p[0] for p in pics]
    for match in _COMMAND.finditer(masked, start, stop):
        if match.start() < at:
            continue
        rest.append(masked[at : match.start()])
        k = bisect.bisect_right(starts, match.start()) - 1
        name = match.group(1)
        if k >= 0 and match.start() < pics[k][1]:  # inside a picture: skip it whole
            at = pics[k][1]
        elif name in DEFINITIONS:
            at = min(max(_command_end(masked, ends, name, match.end()), match.end()), stop)
            defs.append((match.start(), at))
        else:
            rest.append(name if name in ("maketitle", "pagestyle", "thispagestyle") else "x")
            at = match.end()
    rest.append(masked[at:stop])
    dropped = []
    if {"pagestyle", "thispagestyle"} & set(rest):
        dropped.append("dropped_pagestyle")
    if "maketitle" in rest:
        dropped.append("dropped_maketitle")
    if "".join(part for part in rest if part not in ("maketitle", "pagestyle", "thispagestyle")).strip():
        dropped.append("dropped_text")
    def_starts = [s for s, _ in defs]
    pics = [p for p in pics if (k := bisect.bisect_right(def_starts, p[0]) - 1) < 0 or p[0] >= defs[k][1]]
    return defs, pics, dropped


def pictures(masked: str) -> list[tuple[int, int]] | None:
    """Spans of the outermost picture environments; None when they do not balance."""
    spans, stack, begin = [], [], 0
    for match in _ENV.finditer(masked):
        kind, env = match.groups()
        if kind == "begin":
            if not stack:
                begin = match.start()
            stack.append(env)
        elif not stack or stack.pop() != env:
            return None
        elif not stack:
            spans.append((begin, match.end()))
    return None if stack else spans


def _reason(masked: str, spans: list[tuple[int, int]] | None) -> str | None:
    if spans == []:
        return "no_tikz"
    if spans is None:
        return "unbalanced_picture"
    if SHELL.search(masked):
        return "shell_escape"
    if EXTERNAL.search(masked):
        return "external_input"
    for name in TABLE_FILE.findall(masked):  # a file name, not inline data or a macro holding a table
        if name.strip() and not name.strip().startswith("\\") and not re.search(r"\s", name.strip()):
            return "external_input"
    return None


def _edit(code: str, masked: str, edits: list[tuple[int, int, str]]) -> str:
    """`code` with each (start, end, replacement) applied; a line a removal leaves blank (or holding only a
    comment) goes entirely."""
    out, at = [], 0
    for start, end, new in sorted(edits):
        line_start = code.rfind("\n", 0, start) + 1
        line_end = code.find("\n", end)
        line_end = len(code) if line_end < 0 else line_end
        if not new and not masked[line_start:start].strip() and not masked[end:line_end].strip():
            start, end = line_start, min(line_end + 1, len(code))
        if start < at:
            continue
        out.append(code[at:start] + new)
        at = end
    out.append(code[at:])
    return "".join(out)


def _preamble_fixes(code: str, masked: str) -> tuple[str, list[str]]:
    """Apply the preamble rules (drops) to a preamble's text; returns the new text and the changes."""
    edits, changes, ends = [], [], group_ends(masked)
    for match in _PACKAGES.finditer(masked):
        names = [n.strip() for n in match.group(1).split(",")]
        dropped = [n for n in names if n in DROPPED_PACKAGES]
        if dropped:
            changes.extend(f"dropped_package:{n}" for n in dropped)
            kept = ",".join(n for n in names if n not in DROPPED_PACKAGES and n)
            edits.append((match.start(1), match.end(1), kept) if kept else (match.start(), match.end(), ""))
    for match in _COMMAND.finditer(masked):
        name = match.group(1)
        if name in DROPPED_COMMANDS or name in GEOMETRY_COMMANDS:
            end = match.end()
            i = _skip_space(masked, end)
            while i in ends:
                end, i = ends[i], _skip_space(masked, ends[i])
                if name in DROPPED_COMMANDS:
                    break
            edits.append((match.start(), end, ""))
            changes.append(DROPPED_COMMANDS.get(name, "dropped_command:geometry"))
    return _edit(code, masked, edits), list(dict.fromkeys(changes))


def _missing_packages(masked: str) -> list[str]:
    loaded = {n.strip() for group in _PACKAGES.findall(masked) for n in group.split(",")}
    libraries = {n.strip() for group in _TIKZ_LIBRARIES.findall(masked) for n in group.split(",")}
    missing = []
    for env, package in NEEDED:
        used = re.search(r"\\begin\s*\{(?:semilogx|semilogy|loglog)?" + env + r"\}", masked)
        if used and package not in loaded and not (package == "tikz-cd" and "cd" in libraries):
            missing.append(package)
    return missing


def _class_line(options: str | None, cls: str) -> tuple[str, str | None]:
    """The standalone class line for a document of class `cls`, and the change it is (None: unchanged)."""
    opts = [o.strip() for o in (options or "").split(",") if o.strip()]
    if cls.strip() == "standalone":
        if "tikz" in opts:
            return "", None
        return CLASS_LINE.format(options=",".join(["tikz", *opts])), "added_tikz_option"
    kept = [o for o in opts if o in FONT_SIZES]
    return CLASS_LINE.format(options=",".join([*kept, "tikz", BORDER])), "documentclass_to_standalone"


def standalone_tikz(code: str) -> tuple[str | None, list[str], str | None]:
    """(standalone TikZ document | None, changes applied, reason it cannot be one | None)."""
    masked = mask_comments(code)
    spans = pictures(masked)
    reason = _reason(masked, spans)
    if reason:
        return None, [], reason
    begin_doc, klass = _BEGIN_DOC.search(masked), _CLASS.search(masked)
    if begin_doc is None and klass is None:
        defs, pics, dropped = _split(masked, 0, len(masked), spans)
        preamble = "".join(f"\n{code[s:e].strip()}" for s, e in defs)
        body = "\n".join(code[s:e] for s, e in pics)
        text = (
            f"{CLASS_LINE.format(options='tikz,' + BORDER)}{preamble}\n\\begin{{document}}\n{body}\n\\end{{document}}\n"
        )
        return _fixes(text, ["wrapped_snippet", *dropped])
    if begin_doc is None or (klass and klass.start() > begin_doc.start()):
        return None, [], "no_document_body"
    line, change = _class_line(*(klass.groups() if klass else (None, "article")))
    if change is None:
        return _fixes(code, [])
    end_doc = _END_DOC.search(masked, begin_doc.end())
    defs, pics, dropped = _split(masked, begin_doc.end(), end_doc.start() if end_doc else len(masked), spans)
    if not pics:
        return None, [], "no_tikz"
    body = "\n".join(code[s:e] for s, e in sorted(defs + pics))
    head = (
        code[: klass.start()] + line + code[klass.end() : begin_doc.start()]
        if klass
        else line + "\n" + code[: begin_doc.start()]
    )
    text = f"{head}\\begin{{document}}\n{body}\n\\end{{document}}\n"
    return _fixes(text, ["added_documentclass" if klass is None else change, *dropped])


def _fixes(code: str, changes: list[str]) -> tuple[str, list[str], None]:
    """Preamble rules on a standalone ``tikz`` document; `changes` are those already made."""
    masked = mask_comments(code)
    begin_doc = _BEGIN_DOC.search(masked)
    cut = begin_doc.start() if begin_doc else len(code)
    preamble, fixes = _preamble_fixes(code[:cut], masked[:cut])
    klass = _CLASS.search(mask_comments(preamble))
    missing = _missing_packages(masked)
    if missing and klass:
        added = "".join(f"\n\\usepackage{{{package}}}" for package in missing)
        preamble = preamble[: klass.end()] + added + preamble[klass.end() :]
        fixes += [f"added_package:{package}" for package in missing]
    return preamble + code[cut:], list(dict.fromkeys([*changes, *fixes])), None
