# Two commands for a fresh machine: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SEEDS ?= ../shared/seeds

.PHONY: run test test-pg lint typecheck unit evidence bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "huiqi needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/huiqi serve

test: lint typecheck unit evidence

# The same suite with the store tests also run on a throwaway PostgreSQL server.
test-pg: $(STAMP)
	eval "$$(scripts/pg_test_server.sh start)" && trap 'scripts/pg_test_server.sh stop' EXIT && $(MAKE) test

# Matching speed (100,000 generated profiles against the catalog).
bench: $(STAMP)
	$(BIN)/python scripts/bench_match.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# ical.js (Thunderbird's iCalendar parser) for the feed tests, from the npm registry.
JS_STAMP := tests/js/node_modules/.installed-stamp
$(JS_STAMP): tests/js/package.json tests/js/package-lock.json
	@if command -v npm >/dev/null 2>&1; then cd tests/js && npm ci --no-audit --no-fund --silent && touch node_modules/.installed-stamp; \
	else echo "npm not found: the ical.js feed checks will say so"; fi

unit: $(STAMP) $(JS_STAMP)
	$(BIN)/pytest

# Every evidence quote must stand in its seed file; the seeds live beside the repository.
evidence: $(STAMP)
	@if [ -d "$(SEEDS)" ]; then $(BIN)/python scripts/check_evidence.py "$(SEEDS)"; \
	else echo "evidence: $(SEEDS) not found, quotes not checked"; fi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
