"""Corpus-level checks on the real ChartMimic scripts in ../shared/data/charts: corrupt, repair, compare.

* corrupted copies (of every other script) parse far less often than their repairs (≥ 95 % of repairs parse);
* each corruption triggers the fix meant for it, and invertible corruptions come back to the same AST;
* clean scripts pass through with their AST unchanged, except for deliberate API fixes;
* every defect the demo corpus injects (tasks/ingest/demo/chart_defects.py) is repaired;
* a few repaired scripts are actually run with matplotlib (Agg) to show the runtime fixes work.
"""

from __future__ import annotations

import ast
import json
import os
import random
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from tasks.ingest.demo import generate_sample
from tasks.ingest.demo.chart_defects import DEFECTS
from tasks.repair.fix import repair_batch

C = sys.modules["repair_test_corruptions"]  # loaded by conftest.py
pytestmark = pytest.mark.filterwarnings("ignore:invalid escape sequence:DeprecationWarning")  # ChartMimic's "\d"
# Fixes that may change the AST of a clean script on purpose (everything else must leave it as it was).
AST_CHANGING = {"deprecated_matplotlib", "missing_imports", "drop_show", "ruff:NPY001", "ruff:NPY201", "ruff:UP018"}
DEFECT_FIX = {
    "missing_import": "missing_imports",
    "markdown_fence": "strip_fences",
    "py2_print": "py2_print",
    "deprecated_style": "deprecated_matplotlib",
    "tabs_mixed": "mixed_tabs",
    "truncated": "truncated_tail",
}


def _dump(code: str) -> str:
    return ast.dump(ast.parse(code))


@pytest.fixture(scope="module")
def charts(shared_data) -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted((shared_data / "charts").glob("*.py"))}


@pytest.fixture(scope="module")
def clean_outcomes(charts):
    return dict(zip(charts, repair_batch(list(charts.values())), strict=True))


@pytest.fixture(scope="module")
def sample(charts) -> dict[str, str]:
    """Every other chart: the corrupted set stays large (~800 snippets) and the tests fast."""
    return dict(list(charts.items())[::2])


@pytest.fixture(scope="module")
def corrupted(sample):
    items = C.corrupt_all(sample)
    outcomes = repair_batch([code for _name, _kind, code in items])
    return list(zip(items, outcomes, strict=True))


def test_parse_rate_before_and_after(corrupted):
    breaking = [(item, o) for item, o in corrupted if C.CORRUPTIONS[item[1]][2]]
    before = sum(o.parse_ok_before for _item, o in breaking) / len(breaking)
    after = sum(o.parse_ok for _item, o in breaking) / len(breaking)
    overall = sum(o.parse_ok for _item, o in corrupted) / len(corrupted)
    print(f"\nsyntax-breaking corruptions: {len(breaking)}, parse before {before:.1%}, after {after:.1%}")
    print(f"all corruptions: {len(corrupted)}, parse after {overall:.1%}")
    assert len(breaking) > 400
    assert before < 0.3
    assert after >= 0.95 and overall >= 0.95
    assert all(o.parse_ok_before == o.parse_ok for (_n, kind, _c), o in corrupted if not C.CORRUPTIONS[kind][2])


def test_each_corruption_triggers_its_fix(corrupted):
    hits, totals = defaultdict(int), defaultdict(int)
    for (_name, kind, _code), outcome in corrupted:
        totals[kind] += 1
        hits[kind] += all(fix in outcome.fixes for fix in C.CORRUPTIONS[kind][1])
    assert set(totals) == set(C.CORRUPTIONS)
    for kind in totals:
        assert hits[kind] >= 0.95 * totals[kind], (kind, hits[kind], totals[kind])


def test_repaired_code_has_no_trace_of_the_damage(corrupted):
    for (name, kind, _code), outcome in corrupted:
        code = outcome.code
        assert "```" not in code and "\t" not in "".join(line[:4] for line in code.splitlines()), (name, kind)
        if kind == "old_seaborn_style":
            assert "seaborn-v0_8" in code and not any(f'"{old}"' in code for old in ("seaborn", "seaborn-whitegrid"))
        if kind == "numpy_removed":
            assert not any(old in code for old in ("np.Inf", "np.NaN", "np.product(", "np.float(", "np.float_(")), name
        if kind == "show_left":
            assert "plt.show()" not in code
        if kind == "py2_prints":
            assert "print " not in code.replace("print (", "print(")
        if kind == "drop_imports":
            assert "import numpy as np" in code or "np." not in code


def _without_imports(code: str) -> tuple[set[str], list[str]]:
    tree = ast.parse(code)
    imports = {ast.dump(n) for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)}
    return imports, [ast.dump(n) for n in tree.body if not isinstance(n, ast.Import | ast.ImportFrom)]


def test_invertible_corruptions_come_back_to_the_same_ast(corrupted, clean_outcomes):
    exact = {"fence_prose", "fence_two_blocks", "fence_unterminated", "prose_no_fence", "tabs_editor4", "tabs_python2"}
    exact.add("notebook_semicolons")
    checked = 0
    references = {name: _dump(outcome.code) for name, outcome in clean_outcomes.items()}
    for (name, kind, _code), outcome in corrupted:
        reference = clean_outcomes[name].code
        if kind in exact:
            assert _dump(outcome.code) == references[name], (name, kind)
        elif kind == "drop_imports":
            imports, rest = _without_imports(outcome.code)
            reference_imports, reference_rest = _without_imports(reference)
            assert rest == reference_rest and imports <= reference_imports, name  # unused imports stay lost
        elif kind == "show_left" and "__main__" not in outcome.code:
            assert _dump(outcome.code) == references[name], name
        else:
            continue
        checked += 1
    assert checked > 400


def test_clean_scripts_pass_through(charts, clean_outcomes):
    changed = []
    for name, code in charts.items():
        outcome = clean_outcomes[name]
        assert outcome.parse_ok_before and outcome.parse_ok, name
        if _dump(outcome.code) != _dump(code):
            assert AST_CHANGING & set(outcome.fixes), (name, outcome.fixes)
            changed.append(name)
        assert set(outcome.fixes) <= AST_CHANGING | {"ruff:format", "ruff:W605", "ruff:W291", "ruff:W293", "ruff:E703"}
    assert len(changed) <= 3, changed  # box_22: boxplot(labels=) -> tick_labels=, which matplotlib 3.11 requires


def test_demo_corpus_defects_are_all_repaired(sample):
    cases = []
    for name, code in sample.items():
        for defect, function in DEFECTS.items():
            spoiled = function(random.Random(f"{name}:{defect}"), code)
            if spoiled is not None and spoiled != code:
                cases.append((defect, spoiled))
    flawed = [generate_sample(7, i) for i in range(400)]
    cases += [(s.flaws[0], s.code) for s in flawed if s.language == "python" and set(s.flaws) & set(DEFECTS)]
    outcomes = repair_batch([code for _defect, code in cases])
    for (defect, _code), outcome in zip(cases, outcomes, strict=True):
        assert outcome.parse_ok, (defect, outcome.error)
        if defect == "tabs_mixed" and outcome.parse_ok_before:
            continue  # the tabs landed on continuation lines, where indentation does not matter
        assert DEFECT_FIX[defect] in outcome.fixes, (defect, outcome.fixes)
    assert len({defect for defect, _code in cases}) == len(DEFECTS)


OLD_STYLE = """I think this matches the figure:
```python
import matplotlib.pyplot as plt
plt.style.use('seaborn-darkgrid')
data = [np.random.RandomState(0).normal(size=50) for _ in range(3)]
fig = plt.figure()
ax = fig.gca(projection='3d') if False else fig.add_subplot(111, axisbg='white')
ax.set_axis_bgcolor('white')
ax.boxplot(data, labels=['a', 'b', 'c'])
ax.hist(data[0], normed=True, bins=np.int(10))
ax.grid(b=True)
colors = plt.cm.get_cmap('viridis', 3)
for i in range(3):
    ax.axhline(i, color=colors(i))
\tax.axhline(np.Inf if False else i + 0.5)
print "saving"
fig.savefig('old.png')
plt.show()
```
"""

RUNNER = """
import json, signal, sys, traceback
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
results = []
for code in json.load(open(sys.argv[1])):
    signal.alarm(30)
    try:
        exec(compile(code, "<chart>", "exec"), {"__name__": "__main__"})
        results.append(None)
    except BaseException as exc:
        results.append(f"{type(exc).__name__}: {exc}"[:200])
    finally:
        signal.alarm(0)
        plt.close("all")
print(json.dumps(results))
"""


def _run_scripts(codes: list[str], tmp_path: Path) -> list[str | None]:
    (tmp_path / "codes.json").write_text(json.dumps(codes))
    (tmp_path / "runner.py").write_text(RUNNER)
    env = {**os.environ, "MPLBACKEND": "Agg"}
    done = subprocess.run(
        [sys.executable, "runner.py", "codes.json"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_repaired_scripts_run(sample, corrupted, tmp_path):
    """Render: runtime breakage (old APIs, lost imports) fails before repair and runs after it."""
    simple = sorted(
        (len(code), name)
        for name, code in sample.items()
        if {n.split(".")[0] for n in _imported(code)} <= {"numpy", "matplotlib"}
    )
    chosen = {}
    for kind in ("drop_imports", "old_seaborn_style", "old_matplotlib_api", "numpy_removed"):
        by_name = {name: (code, o) for (name, k, code), o in corrupted if k == kind}
        name = next(n for _size, n in simple if n in by_name and by_name[n][1].parse_ok)
        chosen[kind] = by_name[name]
    [old] = repair_batch([OLD_STYLE])
    codes = [OLD_STYLE, old.code]
    for code, outcome in chosen.values():
        codes += [code, outcome.code]
    results = _run_scripts(codes, tmp_path)
    assert results[0] is not None and results[1] is None, results[:2]
    assert (tmp_path / "old.png").exists()
    for index, kind in enumerate(chosen, 1):
        before, after = results[2 * index], results[2 * index + 1]
        assert before is not None, kind  # the corruption really breaks the run
        assert after is None, (kind, after)  # the repair really fixes it


def _imported(code: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names
