"""The repair stage's promise, proved by rendering: corrupted ChartMimic scripts render again after repair.

Every corruption kind of `corruptions.py` is applied to two different real scripts from ../shared/data/charts;
the clean scripts, the corrupted copies and their repairs are all rendered in the sandbox. The render rate of
the repaired set must be at least 90 % of the clean set's (the issue's bar), and far above the corrupted set's.
"""

from __future__ import annotations

import random
import sys

import pytest

from renderers.engine import EngineConfig, RenderEngine
from renderers.result import RenderOptions
from tasks.repair.fix import repair_batch

PER_KIND = 2


@pytest.mark.slow  # ~35 s of renders; `make test-slow`
@pytest.mark.filterwarnings("ignore:invalid escape sequence:DeprecationWarning")
def test_repair_brings_the_render_rate_of_corrupted_charts_back(shared_data):
    corruptions = sys.modules["repair_test_corruptions"].CORRUPTIONS  # loaded by conftest.py
    scripts = {p.stem: p.read_text() for p in sorted((shared_data / "charts").glob("*.py"))}
    names = sorted(scripts)
    cases: list[tuple[str, str, str]] = []  # (script, kind, corrupted code)
    cursor = 0
    for kind, (function, _fixes, _breaks) in corruptions.items():
        found = 0
        while found < PER_KIND and cursor < 10 * len(names):
            name = names[(cursor * 7) % len(names)]  # spread over the sorted list
            cursor += 1
            corrupted = function(random.Random(f"proof:{name}:{kind}"), scripts[name])
            if corrupted is not None and corrupted != scripts[name]:
                cases.append((name, kind, corrupted))
                found += 1
        assert found == PER_KIND, kind
    used = sorted({name for name, _, _ in cases})
    repaired = [o.code for o in repair_batch([code for _, _, code in cases])]

    options = RenderOptions(timeout_s=60)
    with RenderEngine(EngineConfig(sandbox_workers=2)) as engine:
        jobs = [(scripts[n], "python", options) for n in used]
        jobs += [(code, "python", options) for _, _, code in cases]
        jobs += [(code, "python", options) for code in repaired]
        ok = [r.ok for r in engine.render_many(jobs)]
    clean_ok = dict(zip(used, ok[: len(used)], strict=True))
    corrupted_ok = ok[len(used) : len(used) + len(cases)]
    repaired_ok = ok[len(used) + len(cases) :]

    # the rate over the cases' own clean scripts (a script that never rendered cannot be repaired into one)
    clean_rate = sum(clean_ok[name] for name, _, _ in cases) / len(cases)
    corrupted_rate = sum(corrupted_ok) / len(cases)
    repaired_rate = sum(repaired_ok) / len(cases)
    failures = [(n, k) for (n, k, _), good, r in zip(cases, repaired_ok, repaired, strict=True) if not good]
    print(f"\nrender rate: clean {clean_rate:.1%}, corrupted {corrupted_rate:.1%}, repaired {repaired_rate:.1%}")
    print(f"repaired cases that do not render: {failures}")
    assert clean_rate > 0.9
    assert repaired_rate >= 0.9 * clean_rate, failures
    assert corrupted_rate < 0.6 * repaired_rate
