"""The filter stage: domain rules that drop rows with a reason, and LaTeX normalised to standalone TikZ.

Rules, each with its thresholds in the stage config (`FilterConfig`):

- generic, every row: code present and not over-long; when the row has an image, its sides within bounds.
- web (`html` rows), the WebCode2M rule of the paper: the visible text is English (tasks/filter/langid.py),
  no hyperlinks and no embedded images (tasks/filter/web.py); markup too deep or wide to parse safely is
  `malformed_html`.
- latex (`latex` rows): TikZ code is rewritten as a standalone TikZ document (tasks/filter/latex.py; code it
  cannot rewrite safely is dropped with its reason, e.g. `shell_escape`, `external_input`), other LaTeX (tables,
  formulas) is kept as it is unless `require_tikz`; then every LaTeX row is compiled in the render sandbox, and
  compile failures (`compile_failed`) and multi-page outputs (`multi_page`) are dropped.

A dropped row goes to `rejected/` with the first rule it broke as `reason` and every broken rule in
`reason_detail`, so `SELECT reason, count(*) FROM filter_rejected GROUP BY reason` accounts for every drop.
Kept rows carry `filter_changes` (what was normalised) and, for web pages, `text_lang` / `text_lang_score`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import Field

from tasks.derived import EngineStage, RenderingConfig
from tasks.filter.rules import GenericRules, LatexRules, WebRules, generic_violations, web_verdict
from tasks.stage import Rejection, Tally


class FilterConfig(RenderingConfig):
    """Which dataset to filter, and the thresholds of every rule (render options: the LaTeX compile's)."""

    input: str = Field("repair", min_length=1, description="stage whose dataset is filtered")
    generic: GenericRules = Field(default_factory=GenericRules)
    web: WebRules = Field(default_factory=WebRules)
    latex: LatexRules = Field(default_factory=LatexRules)


class FilterStage(EngineStage):
    name = "filter"
    adds = ("filter",)
    code_modules = ("tasks.filter", "tasks.derived", "schemas")
    config: FilterConfig

    @property
    def executor(self) -> str:  # type: ignore[override]
        return "threads" if self._compiles else "processes"

    @property
    def _compiles(self) -> bool:
        return self.config.latex.enabled and self.config.latex.compile

    def process(self, spec: dict[str, Any]) -> Iterator[dict[str, Any] | Rejection | Tally]:
        cfg = self.config
        verdicts: list[tuple[dict[str, Any], list[tuple[str, str]]]] = []
        for row in self.read_rows(spec):
            out = {**row, "filter_changes": [], "text_lang": None, "text_lang_score": None}
            broken = generic_violations(out, cfg.generic)
            if not broken and cfg.web.enabled and row["language"] == "html":
                broken = web_verdict(out, cfg.web)
            if not broken and cfg.latex.enabled and row["language"] == "latex":
                broken = self._normalise_latex(out)
            verdicts.append((out, broken))
        self._compile([out for out, broken in verdicts if not broken and out["language"] == "latex"], verdicts)
        for out, broken in verdicts:
            if broken:
                yield Tally(f"dropped_{out['domain']}")
                yield Rejection(broken[0][0], "; ".join(f"{r}: {d}" if d else r for r, d in broken), out)
            else:
                yield out

    def _normalise_latex(self, out: dict[str, Any]) -> list[tuple[str, str]]:
        from tasks.filter.latex import standalone_tikz

        if not self.config.latex.standalone:
            return []
        document, changes, reason = standalone_tikz(out["code"])
        if reason == "no_tikz" and not self.config.latex.require_tikz:
            return []  # a table or formula: kept as it is, still compiled
        if document is None:
            return [(reason or "not_tikz", "")]
        out["code"] = document
        out["filter_changes"] = [f"latex_{c}" for c in changes]
        return []

    def _compile(self, rows: list[dict[str, Any]], verdicts: list) -> None:
        """Compile the surviving LaTeX rows in the sandbox; failures and multi-page outputs break the rule."""
        if not rows or not self._compiles:
            return
        results = self.engine.render_many([(row["code"], "latex", self.config.options) for row in rows])
        failed = {id(row): result for row, result in zip(rows, results, strict=True) if not result.ok}
        for out, broken in verdicts:
            result = failed.get(id(out))
            if result is None:
                continue
            message = (result.error_message or "").strip().splitlines()
            detail = f"{result.error_kind}: {message[0][:300] if message else ''}"
            broken.append(("multi_page" if result.error_kind == "multi_page" else "compile_failed", detail))
