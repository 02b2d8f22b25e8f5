# Tend: the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_WORKERS ?= 2

.PHONY: run test lint format install clean-data screenshots messages

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,speech]"
	@touch $(STAMP)

install: $(STAMP)

## run: set everything up (first time) and serve the demo on http://$${TEND_HOST:-127.0.0.1}:$${TEND_PORT:-8000}
run: export TEND_ENVIRONMENT ?= development
run: install
	$(BIN)/tend migrate
	$(BIN)/tend programme load
	$(BIN)/tend demo --if-stale
	$(BIN)/tend audio build --background
	$(BIN)/tend logins
	$(BIN)/tend serve

## lint: ruff (lint and format) and mypy, as CI runs them
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app

## test: the whole suite, lint and type checks included
test: lint
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup

## screenshots: refresh docs/screenshots/ from the browser tests (tests alone write to a temp folder)
screenshots: install
	TEND_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -m browser -q

## messages: re-extract the interface's words and update every catalogue (docs/i18n.md)
messages: install
	$(BIN)/tend messages

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean-data:
	rm -rf var

.PHONY: bench
## bench: practice-log writes vs a bare FastAPI baseline, and the Today page (docs/benchmarks.md)
bench: install
	$(BIN)/python -m bench.run --engine sqlite
	$(BIN)/python -m bench.run --engine postgresql
