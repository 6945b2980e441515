# mediacache — the two commands you need are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# One stamp per requirements set and content: a changed file reinstalls, an unchanged one is skipped.
STAMP     := $(VENV)/.installed-runtime-$(shell cat requirements.txt | cksum | cut -d' ' -f1)
DEV_STAMP := $(VENV)/.installed-dev-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: install install-dev run edge test bench chaos lint clean

## The venv with the runtime requirements only (what `make run` and production need).
install: $(STAMP)

## The runtime requirements plus the test, lint and benchmark tools (requirements-dev.txt).
install-dev: $(DEV_STAMP)

$(STAMP): requirements.txt
	@scripts/system_packages.sh
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@rm -f $(VENV)/.installed-runtime-* $(VENV)/.installed-[0-9]*
	@touch $@

$(DEV_STAMP): $(STAMP) requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@rm -f $(VENV)/.installed-dev-*
	@touch $@

## Serve on 127.0.0.1:$${PORT:-8000} with gunicorn (embedded default when nothing is configured).
run: install
	@PYTHON=$(BIN)/python scripts/run.sh

## The production topology on one machine: nginx on 127.0.0.1:$${EDGE_PORT:-8080} in front of `make run`'s gunicorn.
edge: install
	@PYTHON=$(BIN)/python scripts/edge.sh

## The whole test suite; starts (and stops) its own Redis and S3 (moto) servers as needed.
test: install-dev
	$(BIN)/python -m pytest

## The benchmark (never part of `make test`): needs wrk and ab (apache2-utils), installed here if missing.
bench: install-dev
	@command -v wrk >/dev/null && command -v ab >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk apache2-utils)
	$(BIN)/python scripts/bench.py

## Load plus scheduled faults for $${CHAOS_SECONDS:-180} s (never part of `make test`): nginx, PostgreSQL,
## Redis Sentinel, moto, Celery, from Debian when missing; writes docs/reliability.md and bench/chaos.json.
chaos: install-dev
	@{ command -v nginx && command -v redis-server && command -v redis-cli && ls /usr/lib/postgresql/*/bin/initdb; } \
		>/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		nginx redis-server redis-tools postgresql)
	$(BIN)/python -m chaos

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
