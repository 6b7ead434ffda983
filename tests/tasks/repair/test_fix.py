"""repair_batch: the order fixes run in, what the outcome says, and that no snippet can break a batch."""

from __future__ import annotations

import pytest

from tasks.repair.fix import MAX_CHARS, RepairOutcome, repair_batch

OLD_SCRIPT = """Here is the code:
```python
x = np.linspace(0, 1, 5).astype(np.float)
plt.style.use('seaborn')
fig, ax = plt.subplots()
ax.boxplot([x, x], labels=['a', 'b']);
if True:
\tax.grid(b=True)
print "done"
plt.show()
```
"""


def test_full_pipeline_on_an_old_answer():
    [outcome] = repair_batch([OLD_SCRIPT])
    assert outcome.fixes == [
        "strip_fences",
        "py2_print",
        "missing_imports",
        "deprecated_matplotlib",
        "drop_show",
        "ruff:NPY001",
        "ruff:E703",
        "ruff:format",
    ]
    assert outcome.parse_ok and not outcome.parse_ok_before and outcome.error is None
    assert outcome.code == (
        "import numpy as np\n"
        "import matplotlib.pyplot as plt\n"
        "\n"
        "x = np.linspace(0, 1, 5).astype(float)\n"
        'plt.style.use("seaborn-v0_8")\n'
        "fig, ax = plt.subplots()\n"
        'ax.boxplot([x, x], tick_labels=["a", "b"])\n'
        "if True:\n"
        "    ax.grid(visible=True)\n"
        'print("done")\n'
    )


def test_valid_code_is_untouched_except_by_formatting():
    code = "import numpy as np\n\nx = np.ones(3)\n"
    assert repair_batch([code]) == [RepairOutcome(code=code, fixes=[], parse_ok=True, parse_ok_before=True)]
    [outcome] = repair_batch(["x=[1,2]\n"])
    assert outcome.code == "x = [1, 2]\n" and outcome.fixes == ["ruff:format"]


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "x = 1\x00\n",
        "s = '\ud800'\n",
        "x = (" * 300 + "\n",
        "(" * 20_000,
        "def f(:\n  pass\n",
        "\ufeffx = 1\n",
        "x = 1\r\ny = 2\r\n",
    ],
)
def test_bad_snippets_do_not_break_the_batch(bad):
    outcomes = repair_batch(["x=1\n", bad, "y = np.ones(2)\n"])
    assert outcomes[0].code == "x = 1\n" and outcomes[0].parse_ok
    assert outcomes[2].code == "import numpy as np\n\ny = np.ones(2)\n" and outcomes[2].parse_ok
    middle = outcomes[1]
    assert isinstance(middle.code, str)
    assert middle.parse_ok == (middle.error is None)


def test_nul_bytes_and_surrogates_report_why():
    outcomes = repair_batch(["x = 1\x00\n", "s = '\ud800'\n"])
    assert [o.parse_ok for o in outcomes] == [False, False]
    assert "null" in outcomes[0].error.lower()
    assert outcomes[1].error


def test_huge_snippet_is_left_alone():
    huge = "x = 1\n" * (MAX_CHARS // 6 + 10)
    [outcome] = repair_batch([huge])
    assert outcome.code is huge and not outcome.parse_ok and "too large" in outcome.error


def test_non_strings_and_unknown_heuristics():
    [outcome] = repair_batch([None])  # type: ignore[list-item]
    assert outcome.code == "" and not outcome.parse_ok and "not a string" in outcome.error
    with pytest.raises(ValueError, match="unknown heuristics"):
        repair_batch(["x = 1\n"], heuristics=("no_such_fix",))
    assert repair_batch([]) == []


def test_heuristics_can_be_chosen_and_ruff_switched_off():
    code = 'print "a"\nplt.show()\nx = np.float(1)\n'
    [outcome] = repair_batch([code], ruff=False, heuristics=("py2_print",))
    assert outcome.code == 'print("a")\nplt.show()\nx = np.float(1)\n' and outcome.fixes == ["py2_print"]
    [outcome] = repair_batch([code], ruff=False)
    assert outcome.fixes == ["py2_print", "missing_imports", "drop_show"]  # AST fallback for undefined names
    assert outcome.code == 'import numpy as np\nimport matplotlib.pyplot as plt\nprint("a")\nx = np.float(1)\n'


def test_unfixable_code_says_why():
    [outcome] = repair_batch(["def f(:\n    return 1\n" + "x = 1\n" * 40])
    assert not outcome.parse_ok and not outcome.parse_ok_before
    assert outcome.error.startswith("SyntaxError") and "line 1" in outcome.error


def test_deterministic():
    codes = [OLD_SCRIPT, "print 'x'\n", "a = (1,\n", "\tif x:\n"]
    assert repair_batch(codes) == repair_batch(list(codes))
