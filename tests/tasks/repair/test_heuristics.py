"""Unit cases for every repair heuristic: fires when it should, leaves valid code alone, never edits strings."""

from __future__ import annotations

import ast

import pytest

from tasks.repair.fences import strip_fences
from tasks.repair.heuristics import (
    HEURISTICS,
    IMPORT_TABLE,
    deprecated_matplotlib,
    drop_show,
    missing_imports,
    mixed_tabs,
    py2_print,
    truncated_tail,
)
from tasks.repair.syntax import compiles

SCRIPT = 'import numpy as np\nimport matplotlib.pyplot as plt\n\nx = np.arange(3)\nplt.plot(x, x ** 2, label="sq")\n'
VALID = [
    SCRIPT,
    "",
    'print("hello")\nprint\n',  # bare `print` is a valid Python 3 expression statement
    "if True:\n\tx = 1\n\ty = 2\n",  # tabs only: consistent, valid
    's = """\n```python\nprint "x"\n```\n"""\n',
]


@pytest.mark.parametrize("fixer", [strip_fences, py2_print, mixed_tabs, truncated_tail])
@pytest.mark.parametrize("code", VALID)
def test_syntax_fixers_leave_valid_code_alone(fixer, code):
    assert fixer(code) is None


def test_heuristic_names_are_in_pipeline_order():
    assert HEURISTICS == (
        "strip_fences",
        "mixed_tabs",
        "py2_print",
        "truncated_tail",
        "missing_imports",
        "deprecated_matplotlib",
        "drop_show",
    )


# ----------------------------------------------------------------------------------------------- strip_fences
@pytest.mark.parametrize("tag", ["python", "py", "python3", "", "Python"])
def test_fence_with_prose(tag):
    answer = f"Here is the code:\n```{tag}\n{SCRIPT}```\nHope it helps!\n"
    assert strip_fences(answer) == SCRIPT


def test_fence_unterminated_and_glued():
    assert strip_fences(f"Sure:\n```python\n{SCRIPT}") == SCRIPT
    glued = SCRIPT.rstrip("\n") + "```\nEnjoy."
    assert strip_fences(f"Sure:\n```python\n{glued}") == SCRIPT


def test_fence_picks_longest_python_block_over_other_languages():
    answer = "Install:\n```bash\npip install numpy matplotlib\n```\nA first try:\n```python\nimport numpy as np\n```\n"
    answer += f"The full script:\n```python\n{SCRIPT}```\n"
    assert strip_fences(answer) == SCRIPT


def test_fence_prefers_a_block_that_compiles():
    broken = "import numpy as np\nimport matplotlib.pyplot as plt\nplt.plot(1, 2\nplt.title('x')\nplt.ylabel('y')\n"
    answer = f"Wrong:\n```python\n{broken}```\nFixed:\n```python\n{SCRIPT}```\n"
    assert strip_fences(answer) == SCRIPT


def test_prose_without_fences():
    assert strip_fences(f"Here is the script that draws the chart:\n\n{SCRIPT}\nLet me know if it works.\n") == SCRIPT


def test_short_prose_and_docstrings():
    assert strip_fences(f"Sure!\n{SCRIPT}") == SCRIPT
    docstring = '"""Plot the sales\nof 2020."""\nimport numpy as np\nx = (1,\n'
    assert strip_fences(docstring) is None  # dropping the docstring would not move the error


def test_prose_is_kept_when_cutting_does_not_help():
    code = "x = (1,\nThis is not prose but broken code that goes on\n"
    assert strip_fences(code) is None


# ----------------------------------------------------------------------------------------------- py2_print
@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('print "x"', 'print("x")'),
        ("print x, y", "print(x, y)"),
        ("print x,", 'print(x, end=" ")'),
        ('print >>sys.stderr, "a", x', 'print("a", x, file=sys.stderr)'),
        ("print >>f", "print(file=f)"),
        ('print "%d%%" % (x * 2)', 'print("%d%%" % (x * 2))'),
        ("print [x, y]", "print([x, y])"),
        ('print "a",; y = 1', 'print("a", end=" "); y = 1'),
        ('print "a"  # done', 'print("a")  # done'),
    ],
)
def test_py2_print_forms(line, expected):
    fixed = py2_print(f"import sys\nx = y = f = 1\n{line}\n")
    assert fixed == f"import sys\nx = y = f = 1\n{expected}\n"
    assert compiles(fixed)


def test_py2_print_blocks_bare_prints_and_strings():
    code = 'for i in range(2):\n    print i\n    print\nif i: print "done"\ns = "print x"\n# print x\nprint("ok")\n'
    fixed = py2_print(code)
    assert fixed == (
        'for i in range(2):\n    print(i)\n    print()\nif i: print("done")\ns = "print x"\n# print x\nprint("ok")\n'
    )


def test_py2_print_multiline_argument():
    code = 'print "a", \\\n    "b"\nprint "c" % (1,\n  2)\n'
    fixed = py2_print(code)
    assert compiles(fixed)
    assert "print(" in fixed and '"c" % (1,\n  2))' in fixed


def test_py2_print_ignores_print_used_as_a_name():
    code = "print = log\nprint.x = 1\nx = (1,\n"  # does not compile, but nothing here is a print statement
    assert py2_print(code) is None


# ----------------------------------------------------------------------------------------------- mixed_tabs
def test_mixed_tabs_python2_width():
    code = "def f():\n        x = 1\n\ty = 2\n        return x + y\n"
    fixed = mixed_tabs(code)
    assert fixed == "def f():\n        x = 1\n        y = 2\n        return x + y\n"


def test_mixed_tabs_editor_width_4():
    code = "for i in range(3):\n    a = i\n\tb = i\n\tif b:\n\t\tc = 1\n"
    assert mixed_tabs(code) == "for i in range(3):\n    a = i\n    b = i\n    if b:\n        c = 1\n"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        # Both widths give valid programs; the statement right above the tab (no blank line) decides: width 8.
        (
            "for a in x:\n    for b in y:\n        f(b)\n        # then g\n\tg(b)\n\n    h(a)\n",
            "for a in x:\n    for b in y:\n        f(b)\n        # then g\n        g(b)\n\n    h(a)\n",
        ),
        # Here the line right below does (the block above ends at a blank line): width 4.
        (
            "for a in x:\n    for b in y:\n        f(b)\n\n\tg(a)\n    h(a)\n",
            "for a in x:\n    for b in y:\n        f(b)\n\n    g(a)\n    h(a)\n",
        ),
    ],
)
def test_mixed_tabs_ambiguous_widths(code, expected):
    assert mixed_tabs(code) == expected


def test_mixed_tabs_keeps_tabs_inside_strings():
    code = "if True:\n    x = 1\n\ty = '''\n\tkept\n'''\n"
    fixed = mixed_tabs(code)
    assert compiles(fixed)
    assert "\n\tkept\n" in fixed


# ----------------------------------------------------------------------------------------------- truncated_tail
@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("x = np.array([[1, 2],\n    [3, 4\n", "x = np.array([[1, 2],\n    [3, 4]])\n"),
        ('a = 1\nplt.plot(x, y, color="re', 'a = 1\nplt.plot(x, y, color="re")\n'),
        ("a = 1\nplt.title('Sales in 2020 by reg", "a = 1\nplt.title('Sales in 2020 by reg')\n"),
        ("a = 1\nplt.title(f'{a:", "a = 1\n"),  # an empty call would raise at run time: the line goes
        ("a = 1\nplt.plot(x, y, color=", "a = 1\nplt.plot(x, y,)\n"),
        ('a = 1\nax.set(title="a", xlabel=', 'a = 1\nax.set(title="a",)\n'),
        ("for i in x:\n    f(i)\nfor j in y:\n", "for i in x:\n    f(i)\n"),
        ("for i in x:\n    f(i)\n    if i:\n", "for i in x:\n    f(i)\n"),
        ('a = 1\ns = """abc\ndef\n', "a = 1\n"),
        ("a = 1\nb = a +", "a = 1\n"),
        ("d = {'k': [1, 2,\n", "d = {'k': [1, 2,]}\n"),
    ],
)
def test_truncated_tail(code, expected):
    assert truncated_tail(code) == expected


def test_truncated_tail_does_not_touch_mid_file_errors():
    code = "a = (1,\nb = 2\n" + "".join(f"c{i} = {i}\n" for i in range(30))
    assert truncated_tail(code) is None


# ----------------------------------------------------------------------------------------------- missing_imports
def test_missing_imports_from_names_and_fallback():
    code = '"""Doc."""\nfrom __future__ import annotations\n\nx = np.arange(3)\nplt.plot(x)\n'
    expected = (
        '"""Doc."""\nfrom __future__ import annotations\n\nimport numpy as np\nimport matplotlib.pyplot as plt\n'
        "x = np.arange(3)\nplt.plot(x)\n"
    )
    assert missing_imports(code, ["plt", "np"]) == expected
    assert missing_imports(code) == expected  # AST fallback finds the same names


def test_missing_imports_go_before_first_use():
    code = "# Part 1\nnp.random.seed(0)\nimport matplotlib.pyplot as plt\nplt.plot(np.ones(2))\n"
    assert missing_imports(code, ["np"]).startswith("# Part 1\nimport numpy as np\nnp.random.seed(0)\n")


def test_missing_imports_ignores_unknown_and_bound_names():
    assert missing_imports("x = foo(1)\n", ["foo"]) is None
    assert missing_imports("import numpy as np\nnp.ones(2)\n") is None
    assert missing_imports("from pylab import *\nplot(np.ones(2))\n") is None  # a star import may bind np


def test_import_table_is_consistent():
    for name, statement in IMPORT_TABLE.items():
        tree = ast.parse(statement)
        bound = {a.asname or a.name.split(".")[0] for a in tree.body[0].names}
        assert name in bound, statement


# ----------------------------------------------------------------------------------------------- deprecated_matplotlib
@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("plt.style.use('seaborn')", "plt.style.use('seaborn-v0_8')"),
        ('plt.style.use(["seaborn-whitegrid", "ggplot"])', 'plt.style.use(["seaborn-v0_8-whitegrid", "ggplot"])'),
        ('with plt.style.context("seaborn-dark"):\n    pass', 'with plt.style.context("seaborn-v0_8-dark"):\n    pass'),
        ("ax.boxplot(d, labels=['a'], vert=True)", "ax.boxplot(d, tick_labels=['a'], vert=True)"),
        ("ax.grid(b=True, ls=':')", "ax.grid(visible=True, ls=':')"),
        ("plt.hist(d, normed=True)", "plt.hist(d, density=True)"),
        ("h = np.histogram(d, normed=True)", "h = np.histogram(d, density=True)"),
        ("c = plt.cm.get_cmap('viridis', 5)", "c = plt.get_cmap('viridis', 5)"),
        ("c = matplotlib.cm.get_cmap('jet')", "c = plt.get_cmap('jet')"),
        ("ax = plt.subplot(111, axisbg='w')", "ax = plt.subplot(111, facecolor='w')"),
        ("ax.set_axis_bgcolor('w')", "ax.set_facecolor('w')"),
        ("ax.w_xaxis.set_pane_color((1, 1, 1))", "ax.xaxis.set_pane_color((1, 1, 1))"),
        ("ax = fig.gca(projection='3d')", "ax = fig.add_subplot(projection='3d')"),
        ("ax = plt.gca(projection='3d')", "ax = plt.subplot(projection='3d')"),
        ("ax = plt.gcf().gca(projection='3d')", "ax = plt.gcf().add_subplot(projection='3d')"),
        ("x = 1\nplt.hold(True)", "x = 1\n"),
    ],
)
def test_deprecated_matplotlib(old, new):
    head = "import matplotlib\nimport matplotlib.pyplot as plt\nimport numpy as np\nfig = plt.figure()\n"
    assert deprecated_matplotlib(head + old + "\n") == head + new + ("\n" if not new.endswith("\n") else "")


def test_deprecated_matplotlib_adds_pyplot_for_get_cmap():
    fixed = deprecated_matplotlib("from matplotlib import cm\nc = cm.get_cmap('jet')\n")
    assert fixed == "import matplotlib.pyplot as plt\nfrom matplotlib import cm\nc = plt.get_cmap('jet')\n"


def test_deprecated_matplotlib_leaves_current_code_and_strings_alone():
    code = (
        "import matplotlib.pyplot as plt\nimport seaborn as sns\n"
        'plt.style.use("seaborn-v0_8")\nax.boxplot(d, tick_labels=["a"])\nax.pie(d, labels=["a"])\n'
        "s = \"plt.style.use('seaborn') labels= normed= get_cmap\"\nsns.boxplot(x=d, labels=1)\n"
    )
    assert deprecated_matplotlib(code) is None
    assert deprecated_matplotlib("ax.boxplot(d, labels=['a'], tick_labels=['b'])\n") is None
    assert deprecated_matplotlib("plt.style.use('seaborn'\n") is None  # does not parse


# ----------------------------------------------------------------------------------------------- drop_show
@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("plt.plot(x)\nplt.show()\n", "plt.plot(x)\n"),
        ("fig.show()  # display\nx = 1\n", "x = 1\n"),
        ("plt.plot(x); plt.show()\n", "plt.plot(x)\n"),
        ("plt.show(); x = 1\n", "x = 1\n"),
        ("plt.show();\n", ""),
        ('if __name__ == "__main__":\n    plt.show()\n', 'if __name__ == "__main__":\n    pass\n'),
        ("if x: plt.show()\nelse:\n    y = 1\n    plt.show(block=True)\n", "if x: pass\nelse:\n    y = 1\n"),
        ("def main():\n    plt.show()\n    plt.show()\n", "def main():\n    pass\n"),
        ("show()\n", ""),
    ],
)
def test_drop_show(code, expected):
    assert drop_show(code) == expected
    assert compiles(drop_show(code))


def test_drop_show_leaves_other_uses():
    code = 'x = plt.show\nlabel = "plt.show()"\nshown = fig.show() or 1\n# plt.show()\n'
    assert drop_show(code) is None
