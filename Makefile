# Two commands on a fresh Debian machine (root or sudo): `make demo` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 180

# Bytecode caching on: tests start many Python processes, and compiling torch/transformers each time costs seconds.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: setup demo serve stop test test-slow test-reliability soak bench bench-render bench-dedup bench-reward bench-merge fidelity smoke-gpu lint format lock clean help

help:
	@echo "make demo       setup + the pipeline on the offline demo corpus, queries over it, the evaluation report"
	@echo "make serve      a local Prefect server on loopback, work pools, every deployment, workers"
	@echo "make stop       stop exactly what make serve started"
	@echo "make test       setup + lint + the test suite"
	@echo "make test-slow  the slow checks kept out of make test"
	@echo "make test-reliability  kill-and-resume with 5 seeds per stage, bad inputs (docs/RELIABILITY.md)"
	@echo "make soak       10 450 renders, 550 of them hostile: throughput vs a clean run, worker memory curve"
	@echo "make bench      ingest throughput ratios (see README, Performance)"
	@echo "make bench-render  render speed: engine vs naive and in-process baselines"
	@echo "make bench-dedup   near-duplicate search from 10k to 1M hashes; pHash batch vs imagehash"
	@echo "make bench-merge   peak memory of a backbone merge against the size of the models"
	@echo "make bench-reward  reward encoder tiles/s (SSIM, random DINOv2 sizes) and reward renders/s per language"
	@echo "make fidelity   render rate and pHash distance to the reference images of ../shared/data"
	@echo "make smoke-gpu  GPU only: real-size Qwen2.5-VL-7B / Qwen3-VL-8B SFT steps, random weights: tokens/s, memory"
	@echo "make setup      install system packages, mermaid and $(VENV) (idempotent)"
	@echo "make lint       ruff check + ruff format --check"
	@echo "make format     ruff format + ruff check --fix"
	@echo "make lock       re-resolve requirements/constraints.txt from pyproject.toml"

setup:
	@scripts/setup.sh

demo: setup
	$(BIN)/vinci pipeline --config configs/pipeline/demo.yaml
	$(BIN)/vinci query "SELECT domain, language, count(*) AS n, sum(CAST(render_ok AS INT)) AS rendered FROM render GROUP BY domain, language ORDER BY domain, language"
	$(BIN)/vinci query "SELECT rejected_by, reason, count(*) AS n FROM (SELECT rejected_by, reason FROM repair_rejected UNION ALL SELECT rejected_by, reason FROM filter_rejected UNION ALL SELECT rejected_by, reason FROM dedup_rejected) GROUP BY ALL ORDER BY rejected_by, n DESC"
	$(BIN)/vinci query "SELECT domain, task, count(*) AS n FROM (SELECT domain, task FROM dedup WHERE split = 'train' UNION ALL SELECT domain, task FROM drafts) GROUP BY ALL ORDER BY domain, task"
	$(BIN)/vinci query "SELECT run, step, count(*) AS rollouts, avg(reward) AS reward, avg(alignment) AS alignment, avg(CAST(render_ok AS INT)) AS exec_rate FROM read_ndjson('data/virl/*/rollouts.jsonl') GROUP BY run, step ORDER BY run, step"
	$(BIN)/vinci query "SELECT run, benchmark, language, count(*) AS n, avg(\"primary\") AS mean_score, avg(CAST(rendered AS INT)) AS rendered FROM eval GROUP BY ALL ORDER BY ALL"
	$(BIN)/vinci evaluate --recipe demo --local

serve: setup
	$(BIN)/python -m vinci.serve start

stop:
	$(BIN)/python -m vinci.serve stop

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format:
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: setup lint
	$(BIN)/python -m pytest -m "not slow" -q --durations=25

test-slow: setup
	$(BIN)/python -m pytest -m slow -q

test-reliability: setup
	VINCI_KILL_SEEDS=0,1,2,3,4 $(BIN)/python -m pytest tests/reliability -q --durations=10

soak: setup
	$(BIN)/python benchmarks/render_soak.py --renders 5500 --out data/soak

bench: setup
	$(BIN)/python scripts/bench_ingest.py --rows 100000 --shard-rows 2000

bench-render: setup
	$(BIN)/python benchmarks/render_bench.py

bench-dedup: setup
	$(BIN)/python benchmarks/dedup_bench.py

bench-reward: setup
	$(BIN)/python benchmarks/reward_bench.py

bench-merge: setup
	$(BIN)/python benchmarks/merge_memory.py

fidelity: setup
	$(BIN)/python benchmarks/render_fidelity.py

smoke-gpu: setup
	$(BIN)/python -m training.smoke --recipe qwen2.5-vl-7b --steps 6 --out smoke-qwen2.5-vl-7b.json
	$(BIN)/python -m training.smoke --recipe qwen3-vl-8b --steps 6 --out smoke-qwen3-vl-8b.json

lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --no-emit-package torch \
		--find-links /opt/wheels -o requirements/constraints.txt

clean:
	rm -rf data .pytest_cache .ruff_cache
