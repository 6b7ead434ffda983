"""The repair proof: parse rate and render rate before and after repair, per source.

The stage counts per row (as manifest counters named `repair.<metric>:<source>`); this module turns those
counts into the report the stage's Prefect artifact, `vinci stage repair` and `vinci repair` print (rates
in percent):

    source      rows  changed  parse_before_pct  parse_after_pct  proved  render_before_pct  render_after_pct
    chart2code   900      212              78.0             99.1     212               12.3              93.4

`proved` is the number of rows rendered twice (original and repaired). With `prove: changed` those are the
rows repair changed (unchanged rows render the same before and after), so the render rates describe what
repair did to the rows it touched; with `prove: all` they cover every row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

PREFIX = "repair."
METRICS = ("rows", "changed", "parse_before", "parse_after", "proved", "render_before", "render_after")


def counter_name(metric: str, source: str) -> str:
    return f"{PREFIX}{metric}:{source}"


def row_counts(source: str, *, changed: bool, parse_before: bool, parse_after: bool, proof: tuple | None):
    """Counter names one repaired row contributes (proof: (rendered before, rendered after) or None)."""
    names = [counter_name("rows", source)]
    flags = {"changed": changed, "parse_before": parse_before, "parse_after": parse_after}
    if proof is not None:
        flags.update(proved=True, render_before=proof[0], render_after=proof[1])
    names += [counter_name(metric, source) for metric, on in flags.items() if on]
    return names


def report_rows(counters: Mapping[str, int]) -> list[dict[str, Any]]:
    """One row per source, plus `all`: counts and rates in percent (None when there is nothing to rate)."""
    per: dict[str, Counter[str]] = {}
    for name, n in counters.items():
        if not name.startswith(PREFIX) or ":" not in name:
            continue
        metric, source = name[len(PREFIX) :].split(":", 1)
        if metric in METRICS:
            per.setdefault(source, Counter())[metric] += n
    if not per:
        return []
    total: Counter[str] = Counter()
    for c in per.values():
        total.update(c)
    return [_row(source, per[source]) for source in sorted(per)] + ([_row("all", total)] if len(per) > 1 else [])


def _pct(n: int, d: int) -> float | None:
    return round(100.0 * n / d, 1) if d else None


def _row(source: str, c: Counter[str]) -> dict[str, Any]:
    return {
        "source": source,
        "rows": c["rows"],
        "changed": c["changed"],
        "parse_before_pct": _pct(c["parse_before"], c["rows"]),
        "parse_after_pct": _pct(c["parse_after"], c["rows"]),
        "proved": c["proved"],
        "render_before_pct": _pct(c["render_before"], c["proved"]),
        "render_after_pct": _pct(c["render_after"], c["proved"]),
    }
