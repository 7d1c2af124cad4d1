# Bangkom: `make run` sets up and serves the demo; `make test` sets up and runs the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PORT ?= 5000
export LMS_TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres
export LMS_TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test test-sqlite test-postgres bench setup system-deps browser-deps translations lint clean

setup: system-deps $(VENV)/.installed translations

system-deps:
	@bash scripts/system-deps.sh

browser-deps:
	@bash scripts/browser-deps.sh

$(VENV)/.installed: pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Bangkom needs Python 3.11 or newer."; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	@touch $@

translations: $(VENV)/.installed
	@$(BIN)/pybabel compile --use-fuzzy -d translations >/dev/null

run: setup
	$(FLASK) db upgrade
	$(FLASK) demo seed
	@$(FLASK) certificates signer-chain >/dev/null
	@PORT=$(PORT) bash scripts/serve.sh

lint: $(VENV)/.installed
	$(BIN)/ruff check .

test: setup browser-deps lint test-sqlite test-postgres

test-sqlite:
	@echo "== Test suite on SQLite"
	@LMS_TEST_DB=sqlite $(BIN)/pytest -q -p no:cacheprovider $(PYTEST_ARGS) $$(bash scripts/redis-marker.sh)

test-postgres:
	@if $(BIN)/python scripts/pg_ready.py; then \
	  echo "== Test suite on PostgreSQL"; \
	  LMS_TEST_DB=postgresql $(BIN)/pytest -q -p no:cacheprovider $(PYTEST_ARGS) $$(bash scripts/redis-marker.sh); \
	elif [ "$$CI" = "true" ]; then \
	  echo "!! PostgreSQL at $$LMS_TEST_POSTGRES_URL does not answer: under CI that is a failure."; exit 1; \
	else \
	  echo ""; echo "!!!!!!!!!! SKIPPED: the PostgreSQL run (nothing answers at $$LMS_TEST_POSTGRES_URL) !!!!!!!!!!"; echo ""; \
	fi

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
