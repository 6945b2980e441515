# mediacache — the two commands you need are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt | cksum | cut -d' ' -f1)

.PHONY: install run test bench lint clean

install: $(STAMP)

$(STAMP): requirements.txt
	@scripts/system_packages.sh
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

## Serve on 127.0.0.1:$${PORT:-8000} with gunicorn (embedded default when nothing is configured).
run: install
	@PYTHON=$(BIN)/python scripts/run.sh

## The whole test suite; starts (and stops) its own Redis and S3 (moto) servers as needed.
test: install
	$(BIN)/python -m pytest

## The benchmark (never part of `make test`): needs wrk and ab (apache2-utils), installed here if missing.
bench: install
	@command -v wrk >/dev/null && command -v ab >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk apache2-utils)
	$(BIN)/python scripts/bench.py

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
