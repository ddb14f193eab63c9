# OncoBoard: `make run` serves the embedded demo; `make test` runs ruff, mypy and the whole suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Tests talk to real servers; override these to point elsewhere.
TEST_DATABASE_URL ?= postgres://root@127.0.0.1:5432/test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: run demo-pacs test test-fast venv install-runtime install-test lint typecheck pytest services-check demo-db clean lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

venv: $(BIN)/python

# The locks pin every package with its hashes; --no-deps because the lock is the whole closure
# (scripts/lock_requirements.py explains the declared-but-unused dependencies it leaves out).
install-runtime: venv
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements.lock

install-test: venv
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements-train.lock

## Regenerate requirements.lock and requirements-train.lock after editing a requirements file.
lock: venv
	$(BIN)/pip install --quiet pip-tools
	$(BIN)/python scripts/lock_requirements.py

## The embedded default: SQLite, in-process jobs, demo patients, http://127.0.0.1:8000
run: install-runtime
	env -u REDIS_URL -u DATABASE_URL HTTPS=false $(BIN)/python manage.py migrate --no-input -v0
	env -u REDIS_URL -u DATABASE_URL HTTPS=false $(BIN)/python manage.py seed_demo
	env -u REDIS_URL -u DATABASE_URL HTTPS=false $(BIN)/python manage.py collectstatic --no-input -v0
	env -u REDIS_URL -u DATABASE_URL HTTPS=false $(BIN)/python manage.py runserver 127.0.0.1:8000 --noreload

## A local PACS (Debian's Orthanc) holding the demo imaging patient's studies, beside `make run`;
## it prints the PACS_* variables to start the app against it. Ctrl-C stops it.
demo-pacs: install-runtime
	env -u REDIS_URL -u DATABASE_URL HTTPS=false $(BIN)/python manage.py demo_pacs

services-check: install-test
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(BIN)/python scripts/check_services.py

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-test
	HTTPS=false $(BIN)/mypy oncology_ui inference benchmarks tests scripts manage.py

# Two pytest-xdist workers (one per core here; TEST_WORKERS=auto for more, 1 for a serial run)
# that steal work from each other, each with its own PostgreSQL and Redis database
# (tests/conftest.py). The whole suite, browser and slow tests included.
TEST_WORKERS ?= 2

pytest: install-test services-check
	HTTPS=false DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
		$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal --durations=15 $(PYTEST_ARGS)

## The quick loop while coding: no reinstall, no service check, no browser tests and none of the
## tests marked slow (real worker processes, backup drills, demo seeding); `make test` runs them all.
test-fast:
	HTTPS=false DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
		$(BIN)/python -m pytest -m "not browser and not slow" -n $(TEST_WORKERS) --dist worksteal \
		--durations=10 -q $(PYTEST_ARGS)

## Everything CI runs: lint, types, and the whole suite on PostgreSQL and Redis.
test: lint typecheck pytest

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache staticfiles
