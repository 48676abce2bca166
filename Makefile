# One target per thing a developer does. Everything installs itself on a fresh machine.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
EXTRAS  ?= providers,aws,gpu,infra,dev
PYTEST_ARGS ?=

.PHONY: help install sysdeps demo test unit lint fmt schema bench bench-local clean

help:
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort

DEMO_STAMP := $(VENV)/.installed-core

# The demo needs only the core (what a plain `pip install storyreel` gives); the tests need every extra.
# The host's pip installs into a venv made without pip (ensurepip alone takes ~8 s) and skips the
# bytecode (Python compiles what it imports): ~24 s instead of ~39 s on a fresh machine, no pip cache.
$(DEMO_STAMP): pyproject.toml
	$(PY) -m venv --without-pip $(VENV)
	$(PY) -m pip --python $(BIN)/python install -q --no-compile -e .
	touch $@

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# the CPU build of PyTorch first: any other version pulls gigabytes of CUDA wheels
	$(BIN)/pip install -q "torch==2.13.0"
	$(BIN)/pip install -q -e ".[$(EXTRAS)]"
	touch $@ $(DEMO_STAMP)

install: $(STAMP) ## create .venv and install storyreel with every extra

sysdeps: ## Debian packages the tests use (ffmpeg, espeak-ng, sox, chromium); apt-get as root
	@scripts/install-sysdeps.sh

demo: $(DEMO_STAMP) ## run the example brief through the full local pipeline (no keys, no network)
	$(BIN)/storyreel run examples/brief.wav --out runs

test: sysdeps $(STAMP) ## run the whole test suite
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

unit: sysdeps $(STAMP) ## the fast tests: no browser, state machine, synth, checkov, speech or diffusers (-m "not slow")
	$(BIN)/python -m pytest -n 2 -m "not slow" $(PYTEST_ARGS)

lint: $(STAMP) ## ruff (lint + format check), mypy ([tool.mypy]) and the import contracts ([tool.importlinter])
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python scripts/typecheck.py
	$(BIN)/python scripts/lint_imports.py

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

schema: $(STAMP) ## regenerate shared/schema/storyboard.schema.json from the models
	$(BIN)/python -m storyreel.shared.schema

bench-local: $(STAMP) sysdeps ## 60 s spoken brief through the local pipeline; table -> bench/results/
	$(BIN)/python bench/local_pipeline.py

bench-fresh-demo: ## `make demo` on a fresh clone with an empty pip cache (goal <= 40 s) -> bench/results/
	$(PY) bench/fresh_demo.py

bench: bench-local bench-pipeline bench-providers bench-bandit bench-virality bench-planner capacity bench-load bench-clips bench-web ## every CPU benchmark (GPU: make bench-gpu)

clean:
	rm -rf runs cdk.out .pytest_cache

# Each area keeps its own targets in mk/<area>.mk (benchmarks, synth, sam, ...).
include $(wildcard mk/*.mk)
