# eventlake: the two commands are `make demo` (run the local stack) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint fmt bench bench-projections bench-dashboard bench-api bench-ingest bench-freshness clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## demo: create the venv, install, and run the whole local stack (Ctrl-C stops it)
demo: $(STAMP)
	$(BIN)/eventlake up

## test: create the venv, install, and run the whole suite
test: $(STAMP)
	bash scripts/system-deps.sh chromium fonts-noto-color-emoji postgresql
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## bench-projections: silver + every gold table for 10M events over 90 days, beside DuckDB
bench-projections: $(STAMP)
	$(BIN)/python -m bench.projections

## bench-dashboard: every page's queries at 10M events (cold and warm), beside the 300 ms of docs/service-levels.md
bench-dashboard: $(STAMP)
	$(BIN)/python -m bench.dashboard

## bench-api: every figure over HTTP from `eventlake api` at 10M events, beside the 300 ms budget
bench-api: $(STAMP)
	$(BIN)/python -m bench.api

## bench-freshness: the whole local stack at 20, 1,000 and 5,000 events/s and a late burst: event-to-gold latency, run queue
bench-freshness: $(STAMP)
	$(BIN)/python -m bench.freshness

## bench-ingest: 2M events through one ingester beside the raw consume rate; latency; peak RSS
bench-ingest: $(STAMP)
	$(BIN)/python -m bench.ingest

clean:
	rm -rf $(VENV) lakehouse .eventlake .dagster_home
