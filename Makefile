# Two commands on a fresh machine: `make demo` and `make test`. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)

# One variable places every file the platform writes; the dbt profile reads the same one.
MILO_DATA_DIR ?= $(CURDIR)/data
override MILO_DATA_DIR := $(abspath $(MILO_DATA_DIR))
DAGSTER_HOME ?= $(MILO_DATA_DIR)/dagster
export MILO_DATA_DIR DAGSTER_HOME
# dbt writes no anonymous usage statistics and checks no versions online.
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DO_NOT_TRACK := 1

UI_PORT ?= 3000
DOCS_PORT ?= 8080
MANIFEST := dbt_project/target/manifest.json
DBT_INPUTS := $(shell find dbt_project/models dbt_project/macros dbt_project/tests seeds -type f 2>/dev/null) \
	dbt_project/dbt_project.yml dbt_project/profiles.yml

.PHONY: help install prepare demo test test-slow lint ui ui-check docs backfill bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# uv installs the locked set in seconds; plain pip is the fallback.
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv 2>/dev/null || true
	@if [ -x $(BIN)/uv ]; then \
		$(BIN)/uv pip install -q --python $(BIN)/python -r requirements.lock && \
		$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e . ; \
	else \
		$(BIN)/python -m pip install -q -r requirements.lock && $(BIN)/python -m pip install -q --no-deps -e . ; \
	fi
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)  ## create .venv with the locked dependency set

# The manifest dagster-dbt reads when definitions load: prepared here, never at import.
$(MANIFEST): $(STAMP) $(DBT_INPUTS)
	cd dbt_project && MILO_DATA_DIR=$$(mktemp -d) ../$(BIN)/dbt parse --quiet

prepare: $(MANIFEST)  ## the dbt manifest, the data folders and the Dagster instance (one-writer pool)
	@$(BIN)/milo env >/dev/null

demo: prepare  ## generate the synthetic deliveries if landing/ is empty, materialise everything, summarise
	$(BIN)/milo synth --if-empty
	$(BIN)/milo materialize
	@$(BIN)/milo summary
	@echo
	@echo "Data:        $(MILO_DATA_DIR)  (landing/, warehouse.duckdb, dagster/)"
	@echo "Dagster UI:  make ui    -> http://127.0.0.1:$(UI_PORT)"
	@echo "dbt docs:    make docs  -> http://127.0.0.1:$(DOCS_PORT)"

lint: prepare  ## ruff and sqlfluff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/milo dbt-sources --check
	$(BIN)/milo contract-doc --check
	@# the dbt templater compiles through the adapter, which may open the warehouse: give it a throwaway one
	cd dbt_project && MILO_DATA_DIR=$$(mktemp -d) ../$(BIN)/sqlfluff lint models --disable-progress-bar

test: lint  ## lint, then every test including end-to-end runs on a temporary MILO_DATA_DIR
	$(BIN)/python -m pytest -q

test-slow: prepare  ## the slow fault and load tests
	$(BIN)/python -m pytest -q -m slow

ui: prepare  ## the Dagster UI on 127.0.0.1 only
	@# dagster dev re-parses the dbt project on start: the venv's dbt must be on PATH
	env --default-signal=INT,TERM PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dagster dev -m orchestration.definitions -h 127.0.0.1 -p $(UI_PORT)

ui-check: prepare  ## open the UI and the dbt docs in headless Chromium, check them, screenshots in $(MILO_DATA_DIR)/reports/ui
	@test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium; }
	$(BIN)/python scripts/ui_check.py

docs: prepare  ## generate the dbt docs site (and a single static file) and serve it on 127.0.0.1
	cd dbt_project && ../$(BIN)/dbt docs generate --static --quiet
	@echo "static single file: dbt_project/target/static_index.html"
	cd dbt_project && ../$(BIN)/dbt docs serve --host 127.0.0.1 --port $(DOCS_PORT) --no-browser

backfill: prepare  ## re-materialise a month range: make backfill FROM=YYYY-MM TO=YYYY-MM
	@test -n "$(FROM)" -a -n "$(TO)" || { echo "usage: make backfill FROM=YYYY-MM TO=YYYY-MM"; exit 2; }
	$(BIN)/milo materialize --from $(FROM) --to $(TO)

bench: prepare  ## national-scale benchmark into docs/benchmarks.md (SCALE=0.02 for a quick one; not part of test)
	$(BIN)/python scripts/bench.py $(if $(SCALE),--scales $(SCALE))

clean:  ## remove the virtualenv and dbt artefacts (not the data)
	rm -rf $(VENV) dbt_project/target dbt_project/logs
