# MLOps Portal: `make run` for the portal with demo data, `make test` for the whole suite.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
RUN_DIR := var/run
HOST ?= 127.0.0.1
PORT ?= 8000
export DEBUG ?= true
export PORTAL_LOCAL_SECRET ?= true

.PHONY: run stop test venv test-deps services lint bench help

help:
	@echo "make run   - install, migrate, seed demo data, start redis/worker/beat/daphne on $(HOST):$(PORT)"
	@echo "make stop  - stop what 'make run' started"
	@echo "make test  - install test tools, start PostgreSQL and Redis if needed, run every test"

$(VENV)/.installed-base: requirements/base.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/base.txt
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed-base requirements/test.txt
	$(PY) -m pip install --quiet -r requirements/test.txt
	touch $@

venv: $(VENV)/.installed-base

run: $(VENV)/.installed-base
	@mkdir -p $(RUN_DIR)
	@bash scripts/ensure_redis.sh $(RUN_DIR)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@bash scripts/start_portal.sh $(RUN_DIR) $(HOST) $(PORT)

stop:
	@bash scripts/stop_portal.sh $(RUN_DIR)

test-deps: $(VENV)/.installed-test
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)
	@bash scripts/ensure_kubectl.sh >/dev/null

services:
	@bash scripts/ensure_test_services.sh

test: test-deps services
	$(PY) -m pytest

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: $(VENV)/.installed-test
	@ls bench/*.py
