"""The drafts stage: refinement rows from specialists' imperfect first attempts (paper §3.2.2).

A two-phase stage (tasks/survey.py) with a prepare step:

    survey   per shard: id, domain and whether the row can take part (split, image, code, task=direct)
    decide   once: per domain, which rows train its specialist and which get drafts (tasks/drafts/roles.py)
    prepare  once: train the missing specialists, check the overlap rule (tasks/drafts/specialists.py)
    shards   per shard: the domain's specialist generates code for the drafted rows (batched, `transformers`
             or vLLM), each draft is rendered in the sandbox and scored against the target image
             (tasks/drafts/score.py); a draft that fails to render or scores below `threshold` is imperfect
             and becomes a `task=refine` row; a perfect draft is rejected as `perfect_draft`, an empty one as
             `empty_draft`

A refine row is the target row with `task=refine`, the draft in `draft_code` and inside `instruction`
(`training.prompts.refine_instruction`), the ground-truth `code` as the answer, `draft_model`, `draft_score`
(null when the draft did not render), and `meta.draft` (parent id, render status, extraction rule). Its id is
derived from the parent's (`source_id + "#refine"`), so it is stable and never collides with a direct row.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
from pydantic import Field, model_validator

from schemas.sample import sample_id
from tasks.derived import EngineStage, RenderingConfig
from tasks.drafts.roles import DRAFTED, SURVEY_FIELDS, assign_roles
from tasks.drafts.specialists import (
    SpecialistConfig,
    prepare_specialists,
    read_ids,
    read_specialists,
    trained_ids_file,
)
from tasks.stage import Rejection, Tally
from tasks.survey import read_decision
from training.generate import GenerationConfig

REFINE_SUFFIX = "#refine"


class DraftsConfig(RenderingConfig):
    """Specialists per domain, how rows are split between them and the drafts, and what counts as imperfect."""

    input: str = Field("dedup", min_length=1, description="stage whose rows are drafted (curated data)")
    specialists: dict[str, SpecialistConfig] = Field(min_length=1, description="domain -> its specialist")
    split: str = Field("train", description="only rows of this split train specialists or get drafts")
    train_fraction: float = Field(0.5, gt=0.0, lt=1.0, description="share of a domain's rows that trains it")
    own_subset_domains: list[str] = Field(
        default_factory=lambda: ["svg"], description="domains drafted from the specialist's own training rows"
    )
    max_drafts: int | None = Field(None, gt=0, description="drafts per domain at most")
    threshold: float = Field(0.9, ge=0.0, le=1.0, description="a draft scoring at least this is perfect (dropped)")
    generation: GenerationConfig = Field(default_factory=GenerationConfig)
    seed: int = 0

    @model_validator(mode="after")
    def _known_domains(self) -> DraftsConfig:
        from schemas.languages import DOMAINS

        unknown = sorted(set(self.specialists) - set(DOMAINS))
        if unknown:
            raise ValueError(f"unknown domain(s) {unknown}; domains: {', '.join(DOMAINS)}")
        return self


def refine_row(row: dict[str, Any], draft: str, model: str, score: float | None, meta: dict[str, Any]) -> dict:
    """The refine sample made of a target row and a draft of it."""
    from training.prompts import refine_instruction

    out = dict(row)
    out["source_id"] = f"{row['source_id']}{REFINE_SUFFIX}"
    out["id"] = sample_id(row["source"], out["source_id"])
    out["task"] = "refine"
    out["instruction"] = refine_instruction(row["language"], draft, key=out["id"])
    out["draft_code"] = draft
    out["draft_model"] = model
    out["draft_score"] = score
    base = json.loads(row["meta"]) if row.get("meta") else {}
    out["meta"] = json.dumps({**base, "draft": {"parent_id": row["id"], **meta}}, sort_keys=True)
    return out


class DraftsStage(EngineStage):
    name = "drafts"
    executor = "threads"  # one process: specialists stay loaded, the engine's pools render in parallel
    adds = ("drafts",)
    surveys = True
    code_modules = (
        "tasks.drafts",
        "tasks.derived",
        "tasks.survey",
        "schemas",
        "training.answers",
        "training.generate",
        "training.prompts",
    )
    config: DraftsConfig

    def __init__(self, config: DraftsConfig, root: str):
        super().__init__(config, root)
        self._generators: dict[str, Any] = {}
        self._own_trained: dict[str, set[str]] = {}
        self._gen_lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.update(_generators={}, _own_trained={})
        state.pop("_gen_lock", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._gen_lock = threading.Lock()

    def identity(self) -> dict[str, Any]:
        """Generation batch size and backend do not change the drafts' meaning; sampling settings do."""
        ident = super().identity()
        ident["generation"] = {k: v for k, v in ident["generation"].items() if k not in ("batch_size", "backend")}
        return ident

    def shard_specs(self, version) -> list[dict[str, Any]]:
        return [{**spec, "decision": version.uri} for spec in super().shard_specs(version)]

    # -- survey and decide --------------------------------------------------------------------------------
    def survey(self, spec: dict[str, Any]) -> pa.Table:
        rows = self.read_rows(spec, ["id", "domain", "task", "split", "code", "image"])
        eligible = [
            r.get("task") == "direct"
            and r.get("split") == self.config.split
            and bool((r.get("code") or "").strip())
            and bool((r.get("image") or {}).get("bytes"))
            for r in rows
        ]
        return pa.table(
            {
                "shard": [spec["index"]] * len(rows),
                "row": list(range(len(rows))),
                "id": [r["id"] for r in rows],
                "domain": [r["domain"] for r in rows],
                "eligible": eligible,
            },
            schema=pa.schema(SURVEY_FIELDS),
        )

    def decide(self, surveys: list[pa.Table]) -> pa.Table:
        domains = {}
        for domain, spec in self.config.specialists.items():
            ids_file = trained_ids_file(spec) if spec.checkpoint else None
            domains[domain] = {
                "own_subset": domain in self.config.own_subset_domains,
                "checkpoint": bool(spec.checkpoint),
                "trained_ids": read_ids(ids_file) if ids_file else None,
            }
        return assign_roles(
            pa.concat_tables(surveys) if surveys else pa.schema(SURVEY_FIELDS).empty_table(),  # an empty upstream
            domains,
            train_fraction=self.config.train_fraction,
            max_drafts=self.config.max_drafts,
            seed=self.config.seed,
        )

    # -- prepare: the specialists ---------------------------------------------------------------------------
    def prepare(self, plan) -> dict[str, Any]:
        src = self.source
        return prepare_specialists(
            read_decision(plan.uri),
            self.config.specialists,
            own_subset=set(self.config.own_subset_domains),
            source_ref=f"{src.stage}@{src.version}",
            split=self.config.split,
            root=self.root,
            version_uri=plan.uri,
        )

    def manifest_extra(self, plan) -> dict[str, Any]:
        return {"specialists": read_specialists(plan.uri), "threshold": self.config.threshold}

    # -- shards ---------------------------------------------------------------------------------------------
    def _generator(self, domain: str, checkpoint: str):
        from training.generate import make_generator
        from training.models import ModelSpec

        with self._gen_lock:
            if domain not in self._generators:
                spec = ModelSpec(path=checkpoint)
                self._generators[domain] = make_generator(spec, self.config.generation)
            return self._generators[domain]

    def _trained(self, domain: str, record: dict[str, Any]) -> set[str] | None:
        """Own-subset domains: the rows the specialist really trained on (only they get drafts)."""
        if domain not in self.config.own_subset_domains or not record.get("train_ids"):
            return None
        with self._gen_lock:
            if domain not in self._own_trained:
                self._own_trained[domain] = read_ids(record["train_ids"])
            return self._own_trained[domain]

    def process(self, spec: dict[str, Any]) -> Iterator[dict[str, Any] | Rejection | Tally]:
        mine = {d["row"]: d for d in read_decision(spec["decision"], spec["index"]).to_pylist()}
        records = read_specialists(spec["decision"])
        todo: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for i, row in enumerate(self.read_rows(spec)):
            if mine[i]["role"] not in DRAFTED:
                yield Tally("not_drafted")
                continue
            record = records.get(row["domain"], {})
            trained = self._trained(row["domain"], record)
            if not record.get("checkpoint") or (trained is not None and row["id"] not in trained):
                yield Tally("draft_skipped")
                continue
            todo[row["domain"]].append(row)
        for domain, rows in todo.items():
            yield from self._draft(domain, records[domain]["checkpoint"], rows)

    def _draft(self, domain: str, checkpoint: str, rows: list[dict[str, Any]]) -> Iterator[Any]:
        from tasks.drafts.score import similarity
        from training.answers import extract_code

        generator = self._generator(domain, checkpoint)
        answers = generator.generate([r["image"] for r in rows], [r["instruction"] for r in rows])
        extracted = [extract_code(a, r["language"]) for a, r in zip(answers, rows, strict=True)]
        jobs = [(e.code or "", r["language"], self.config.options) for e, r in zip(extracted, rows, strict=True)]
        results = self.engine.render_many(jobs)
        model = f"specialist-{domain}:{checkpoint}"
        for row, answer, ext, result in zip(rows, answers, extracted, results, strict=True):
            if not ext.code:
                yield Tally(f"drafts.empty:{domain}")
                yield Rejection("empty_draft", f"the {domain} specialist's answer has no code", row)
                continue
            score = None
            if result.ok and result.image is not None:
                score = similarity(row["image"]["bytes"], result.image)
            meta = {
                "render_ok": result.ok,
                "error_kind": result.error_kind,
                "extraction": ext.rule,
                "answer_chars": len(answer),
            }
            refine = refine_row(row, ext.code, model, score, meta)
            if score is not None and score >= self.config.threshold:
                yield Tally(f"drafts.perfect:{domain}")
                yield Rejection(
                    "perfect_draft", f"draft scores {score:.3f} >= threshold {self.config.threshold}", refine
                )
                continue
            yield Tally(f"drafts.imperfect:{domain}" if result.ok else f"drafts.render_failed:{domain}")
            yield refine

    def report(self, counters: dict[str, int]) -> list[dict[str, Any]]:
        from schemas.languages import DOMAINS

        rows = []
        for d in DOMAINS:
            failed = counters.get(f"drafts.render_failed:{d}", 0)
            imperfect = counters.get(f"drafts.imperfect:{d}", 0) + failed
            perfect = counters.get(f"drafts.perfect:{d}", 0)
            empty = counters.get(f"drafts.empty:{d}", 0)
            total = imperfect + perfect + empty
            if total:
                rows.append(
                    {
                        "domain": d,
                        "drafts": total,
                        "refine_rows": imperfect,
                        "render_failed": failed,
                        "perfect": perfect,
                        "empty": empty,
                        "imperfect_rate": round(imperfect / total, 3),
                    }
                )
        return rows
