"""Standalone TikZ normalisation: real standalone files, snippets, other classes, reasons, idempotence, compiles."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tasks.filter.latex import mask_comments, pictures, standalone_tikz
from tasks.ingest.demo import generate_sample, kind_of

CLASS = "\\documentclass[tikz,border=2pt]{standalone}"
PICTURE = "\\begin{tikzpicture}\n\\draw (0,0) -- (1,1);\n\\end{tikzpicture}"


def doc(head: str, body: str = PICTURE) -> str:
    return f"{head}\n\\begin{{document}}\n{body}\n\\end{{document}}"


TWO = doc("\\documentclass{article}\n\\usepackage{tikz}", f"{PICTURE}\nText.\n{PICTURE}")


def normalised(code: str) -> tuple[str, list[str]]:
    out, changes, reason = standalone_tikz(code)
    assert reason is None and out is not None, reason
    assert standalone_tikz(out) == (out, [], None), "not idempotent"
    return out, changes


def test_real_standalone_files_pass_unchanged(shared_data: Path):
    files = sorted((shared_data / "tikz").glob("*.tex"))
    assert len(files) == 25
    for path in files:
        code = path.read_text(encoding="utf-8")
        assert standalone_tikz(code) == (code, [], None), path.name


def test_nested_pictures_are_part_of_their_outer_picture(shared_data: Path):
    code = (shared_data / "tikz" / "Multiplex_chain_GMHMM__multiplex_chain_gmhmm.tex").read_text(encoding="utf-8")
    assert code.count("\\begin{tikzpicture}") == 9
    assert len(pictures(mask_comments(code))) == 1


def test_snippet_is_wrapped_with_its_preamble_lines():
    code = (
        "\\usetikzlibrary{arrows.meta}\n\\usepackage{amsmath}\n\\definecolor{myblue}{RGB}{10,20,200}\n"
        "\\tikzset{\n  box/.style={draw, % a comment holding \\end{tikzpicture}\n    fill=myblue!20},\n}\n"
        "\\pgfplotsset{compat=1.18}\n\\begin{tikzpicture}[>=Stealth, scale=2]\n"
        "\\node[box] (a) {A}; % \\end{tikzpicture} in a comment is not an end\n\\end{tikzpicture}\n"
    )
    out, changes = normalised(code)
    assert changes == ["wrapped_snippet"]
    assert out == (
        f"{CLASS}\n\\usetikzlibrary{{arrows.meta}}\n\\usepackage{{amsmath}}\n\\definecolor{{myblue}}{{RGB}}{{10,20,200}}\n"
        "\\tikzset{\n  box/.style={draw, % a comment holding \\end{tikzpicture}\n    fill=myblue!20},\n}\n"
        "\\pgfplotsset{compat=1.18}\n\\begin{document}\n\\begin{tikzpicture}[>=Stealth, scale=2]\n"
        "\\node[box] (a) {A}; % \\end{tikzpicture} in a comment is not an end\n\\end{tikzpicture}\n\\end{document}\n"
    )


def test_snippet_in_a_figure_keeps_only_the_picture_and_definitions():
    code = (
        "\\begin{figure}[h]\n\\centering\n\\newcommand{\\R}[1][2]{\\draw (0,0) circle (#1);}\n"
        "\\def\\side#1{#1cm}\n\\tikzstyle{every node}=[draw]\n" + PICTURE + "\n\\caption{A figure}\n\\end{figure}\n"
    )
    out, changes = normalised(code)
    assert changes == ["wrapped_snippet", "dropped_text"]
    assert "\\newcommand{\\R}[1][2]{\\draw (0,0) circle (#1);}\n\\def\\side#1{#1cm}\n" in out
    assert "\\tikzstyle{every node}=[draw]\n\\begin{document}\n" + PICTURE + "\n\\end{document}\n" in out
    assert "caption" not in out and "figure" not in out and "centering" not in out


def test_article_becomes_standalone():
    code = (
        "% a paper\n\\documentclass[12pt,a4paper]{article}\n\\usepackage[margin=1in]{geometry}\n"
        "\\usepackage{tikz,fancyhdr}\n\\usepackage{amsmath, showframe}\n\\pagestyle{fancy}\\fancyhead[L]{Head}\n"
        "\\geometry{left=2cm}\n\\title{T}\n\\begin{document}\n\\maketitle\n\\section{Intro}\nSome text.\n"
        "\\tikzset{every node/.style={draw}}\n\\begin{center}\n" + PICTURE + "\n\\end{center}\n"
        "\\thispagestyle{empty}\n\\end{document}\n"
    )
    out, changes = normalised(code)
    assert changes == [
        "documentclass_to_standalone",
        "dropped_pagestyle",
        "dropped_maketitle",
        "dropped_text",
        "dropped_package:geometry",
        "dropped_package:showframe",
        "dropped_command:geometry",
    ]
    assert out == (
        "% a paper\n\\documentclass[12pt,tikz,border=2pt]{standalone}\n\\usepackage{tikz,fancyhdr}\n"
        "\\usepackage{amsmath}\n\\fancyhead[L]{Head}\n\\title{T}\n\\begin{document}\n"
        "\\tikzset{every node/.style={draw}}\n" + PICTURE + "\n\\end{document}\n"
    )


def test_every_picture_is_kept():
    out, _ = normalised(TWO)
    assert out.count("\\begin{tikzpicture}") == 2 and "Text." not in out


def test_other_classes_and_missing_class():
    out, changes = normalised(doc("\\documentclass{minimal}\n\\usepackage{tikz}"))
    assert changes == ["documentclass_to_standalone"] and out.startswith(CLASS + "\n\\usepackage{tikz}\n")
    out, changes = normalised(doc("\\documentclass[border=10pt]{standalone}"))
    assert changes == ["added_tikz_option"] and out.startswith("\\documentclass[tikz,border=10pt]{standalone}\n")
    out, changes = normalised(doc("\\usepackage{tikz}"))
    assert changes == ["added_documentclass"] and out.startswith(CLASS + "\n\\usepackage{tikz}\n")


@pytest.mark.parametrize(
    ("body", "package"),
    [
        ("\\begin{tikzcd} A \\arrow[r] & B \\end{tikzcd}", "tikz-cd"),
        ("\\begin{circuitikz} \\draw (0,0) to[R] (2,0); \\end{circuitikz}", "circuitikz"),
        ("\\begin{forest} [a [b] [c]] \\end{forest}", "forest"),
        (
            "\\begin{tikzpicture}\\begin{semilogyaxis}\\addplot {exp(x)};\\end{semilogyaxis}\\end{tikzpicture}",
            "pgfplots",
        ),
    ],
)
def test_other_tikz_environments_count_and_get_their_package(body, package):
    out, changes = normalised(body)
    assert changes == ["wrapped_snippet", f"added_package:{package}"]
    assert out.startswith(f"{CLASS}\n\\usepackage{{{package}}}\n")
    assert normalised(f"\\usepackage{{{package}}}\n{body}")[1] == ["wrapped_snippet"]


def test_tikz_cd_as_a_library_needs_no_package():
    assert normalised("\\usetikzlibrary{cd}\n\\begin{tikzcd} A \\end{tikzcd}")[1] == ["wrapped_snippet"]


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("\\documentclass{article}\\begin{document}Hello\\end{document}", "no_tikz"),
        ("\\tikz \\draw (0,0) -- (1,1);", "no_tikz"),
        ("% \\begin{tikzpicture}\\draw (0,0);\\end{tikzpicture}", "no_tikz"),
        (
            "\\documentclass{article}\n\\newcommand{\\p}{" + PICTURE + "}\n\\begin{document}\\p\\end{document}",
            "no_tikz",
        ),
        ("\\begin{tikzpicture}\\draw (0,0); % \\end{tikzpicture}", "unbalanced_picture"),
        ("\\begin{tikzpicture}\\draw (0,0);\\end{tikzcd}", "unbalanced_picture"),
        ("\\end{tikzpicture}", "unbalanced_picture"),
        ("\\immediate\\write18{rm -rf x}\n" + PICTURE, "shell_escape"),
        ("\\write 18{ls}" + PICTURE, "shell_escape"),
        ("\\usetikzlibrary{external}\\tikzexternalize\n" + PICTURE, "shell_escape"),
        ("\\begin{tikzpicture}\\draw plot[id=f] function{x**2};\\end{tikzpicture}", "shell_escape"),
        ("\\begin{tikzpicture}\\begin{axis}\\addplot gnuplot {x^2};\\end{axis}\\end{tikzpicture}", "shell_escape"),
        ("\\usepackage{minted}\n" + PICTURE, "shell_escape"),
        ("\\begin{tikzpicture}\\input{part}\\end{tikzpicture}", "external_input"),
        ("\\input preamble\n" + PICTURE, "external_input"),
        ("\\documentclass{article}\\begin{document}\\include{ch1}" + PICTURE + "\\end{document}", "external_input"),
        ("\\begin{tikzpicture}\\node {\\includegraphics{cat.png}};\\end{tikzpicture}", "external_input"),
        (
            "\\begin{tikzpicture}\\begin{axis}\\addplot table[x=a] {data.csv};\\end{axis}\\end{tikzpicture}",
            "external_input",
        ),
        ("\\pgfplotstableread{results.dat}\\tbl\n" + PICTURE, "external_input"),
        ("\\begin{tikzpicture}\\draw plot file {points.table};\\end{tikzpicture}", "external_input"),
        ("\\documentclass{article}\n\\usepackage{tikz}\n" + PICTURE, "no_document_body"),
    ],
)
def test_reasons(code, reason):
    assert standalone_tikz(code) == (None, [], reason)


@pytest.mark.parametrize(
    "code",
    [
        "% \\input{preamble}\n% \\write18{ls}\n" + PICTURE,  # in comments
        "\\begin{tikzpicture}\\node {50\\% off};\\end{tikzpicture}",  # \% is not a comment
        "\\begin{tikzpicture}\\begin{axis}\\addplot table {x y\n1 2\n2 4\n};\\end{axis}\\end{tikzpicture}",
        "\\pgfplotstableread{\na b\n1 2\n}\\tbl\n\\begin{tikzpicture}\\begin{axis}\\addplot table[x=a] {\\tbl};"
        "\\end{axis}\\end{tikzpicture}",
        "\\begin{tikzpicture}\\node {\\inputlength};\\end{tikzpicture}",  # not \input
    ],
)
def test_decided_exceptions_normalise(code):
    normalised(code)


def test_backslash_backslash_percent_starts_a_comment():
    comment = "% \\end{tikzpicture}"
    assert mask_comments(f"a \\\\{comment}\nb \\% c") == "a \\\\" + " " * len(comment) + "\nb \\% c"


def test_demo_latex_samples():
    kinds = {}
    for index in range(600):
        kind = kind_of(4, index)
        if kind.startswith("latex/"):
            out, changes, reason = standalone_tikz(generate_sample(4, index).code)
            kinds.setdefault(kind, set()).add(reason)
            if out is not None:
                assert standalone_tikz(out) == (out, [], None)
    assert kinds.pop("latex/table") == {"no_tikz"}  # tabulars in a standalone page: not TikZ
    assert set(kinds) == {"latex/tikz_diagram", "latex/tikz_plot", "latex/tikz_shapes", "latex/tikz_tree"}
    assert all(reasons == {None} for reasons in kinds.values())


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_normalised_documents_compile(shared_data: Path):
    from renderers.engine import EngineConfig, RenderEngine

    article = (
        "\\documentclass[12pt]{article}\n\\usepackage[margin=1in]{geometry}\n\\usepackage{tikz,fancyhdr}\n"
        "\\pagestyle{fancy}\\fancyhead[L]{HEADER}\n\\begin{document}\n\\maketitle\nSome text.\n"
        "\\begin{tikzpicture}\\node[draw] {A $\\alpha$};\\end{tikzpicture}\n\\end{document}\n"
    )
    snippet = '\\begin{tikzcd} A \\arrow[r, "f"] & B \\end{tikzcd}'
    real = (shared_data / "tikz" / "DNA__dna.tex").read_text(encoding="utf-8")
    codes = [normalised(code)[0] for code in (article, snippet, real, TWO)]
    with RenderEngine(EngineConfig(sandbox_workers=1)) as engine:
        results = [engine.render(code, "latex") for code in codes]
    for result in results[:3]:
        assert result.ok, result.error_message
    assert results[0].height < 60  # the cropped node only: no header, no title, no text
    assert results[3].error_kind == "multi_page"  # two pictures, two pages: dropped by the compile step
