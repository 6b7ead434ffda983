"""Ruff on batches: diagnostics, fixes with the codes that fired, formatting, chunking, bad input, missing Ruff."""

from __future__ import annotations

import sys

import pytest

from tasks.repair import ruff_fix

OLD_NUMPY = (
    "import numpy as np\n"
    "a = np.float(1) + np.int(2)\n"
    "b = [np.Inf, np.NaN, np.product([1, 2]), np.trapz([1, 2])]\n"
    'label = f"plain";\n'
    "if a == None: pass\n"
    "import mpl_toolkits.mplot3d\n"
)


def test_diagnose_reports_undefined_names_and_syntax_errors():
    diags = ruff_fix.diagnose(["x = np.ones(2)\nplt.plot(x)\nnp.zeros(1)\n", "x = (1,\n", "import os\n"])
    assert diags[0].undefined == ["np", "plt"]
    assert diags[1].syntax_errors and not diags[1].undefined
    assert diags[2] == ruff_fix.Diagnostics()


def test_fix_applies_the_rule_set_and_names_what_fired():
    [(code, rules)] = ruff_fix.fix([OLD_NUMPY])
    assert "a = float(1) + 2" in code  # NPY001 gives int(2), which UP018 then simplifies
    assert "b = [np.inf, np.nan, np.prod([1, 2]), np.trapezoid([1, 2])]" in code  # np.trapz: promoted unsafe fix
    assert 'label = "plain"\n' in code
    assert "if a == None" in code  # E711 is not in the set: element-wise comparisons would change
    assert "import mpl_toolkits.mplot3d" in code  # F401 is not in the set: side-effect import
    assert rules == ["NPY001", "NPY201", "F541", "E703", "UP018"]


def test_fix_leaves_unparsable_snippets_and_keeps_the_batch_going():
    codes = ["x = np.float(1\n", "import numpy as np\nx = np.float(1);\n", ""]
    results = ruff_fix.fix(codes)
    assert results[0] == (codes[0], [])
    assert results[1] == ("import numpy as np\nx = float(1)\n", ["NPY001", "E703"])
    assert results[2] == ("", [])


def test_format_skips_files_it_cannot_parse():
    out = ruff_fix.format_codes(["x=[1,2]\n", "print 'x'\n", "y =  {'a':1}\n"])
    assert out == ["x = [1, 2]\n", None, 'y = {"a": 1}\n']


def test_unencodable_snippets_are_not_given_to_ruff():
    codes = ["x = 1\x00\n", "s = '\ud800'\n", "x=1\n"]
    assert ruff_fix.format_codes(codes) == [None, None, "x = 1\n"]
    assert [code for code, _ in ruff_fix.fix(codes)] == codes


def test_chunks(monkeypatch):
    calls = []
    real = ruff_fix._run

    def counting(args, cwd, files):
        calls.append(len(files))
        return real(args, cwd, files)

    monkeypatch.setattr(ruff_fix, "CHUNK", 3)
    monkeypatch.setattr(ruff_fix, "_run", counting)
    codes = [f"import numpy as np\nx{i}=np.float({i})\n" for i in range(7)]
    results = ruff_fix.fix(codes)
    assert calls == [3, 3, 1]
    assert results == [(f"import numpy as np\nx{i}=float({i})\n", ["NPY001"]) for i in range(7)]


def test_a_failing_chunk_is_split_until_only_the_bad_snippet_is_left(monkeypatch):
    real = ruff_fix._run

    def flaky(args, cwd, files):
        if "s000002.py" in files:
            raise ruff_fix.subprocess.TimeoutExpired("ruff", 1)
        return real(args, cwd, files)

    monkeypatch.setattr(ruff_fix, "_run", flaky)
    out = ruff_fix.format_codes(["a=1\n", "b=2\n", "c=3\n", "d=4\n"])
    assert out == ["a = 1\n", "b = 2\n", None, "d = 4\n"]


def test_repo_configuration_does_not_leak_in(tmp_path, monkeypatch):
    config = '[tool.ruff]\nline-length = 20\n[tool.ruff.format]\nquote-style = "single"\n'
    (tmp_path / "pyproject.toml").write_text(config)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(ruff_fix, "_scratch_dir", lambda: str(tmp_path))  # the batch's files lie under that config
    assert ruff_fix.format_codes(['x = ["aaaaaaaa", "bbbbbbbbbb"]\n']) == ['x = ["aaaaaaaa", "bbbbbbbbbb"]\n']


def test_ruff_not_found(monkeypatch):
    monkeypatch.setitem(sys.modules, "ruff.__main__", None)  # the package's binary finder cannot be imported
    monkeypatch.setattr(ruff_fix.shutil, "which", lambda name: None)
    with pytest.raises(ruff_fix.RuffNotFoundError, match="pip install ruff"):
        ruff_fix.fix(["x = 1\n"])


def test_rule_table_is_documented():
    doc = ruff_fix.__doc__
    for code in ruff_fix.FIX_RULES:
        assert code in doc, code
