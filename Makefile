# `make run`: install everything and serve on the embedded defaults (SQLite, in-process broker).
# `make test`: install the test dependencies, run the checks (`make check`) and the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000

.PHONY: run test check install install-test bench client web clean

run: install web
	$(BIN)/expense-tracker serve --port $(PORT)

test: install-test web check
	$(BIN)/python -m pytest

# The gates: formatting, lint and strict typing over every package (settings in pyproject.toml).
check: install-test
	$(BIN)/ruff format --check --quiet .
	$(BIN)/ruff check --quiet .
	$(BIN)/mypy

install: $(VENV)/.installed-run
	@scripts/system-packages.sh run

install-test: $(VENV)/.installed-test clients/typescript/node_modules/.installed
	@scripts/system-packages.sh test

# The TypeScript client's generator and type checker (the suite checks the committed client is
# current and type-checks its example); system packages first, for node and npm.
clients/typescript/node_modules/.installed: clients/typescript/package.json clients/typescript/package-lock.json
	@scripts/system-packages.sh test
	cd clients/typescript && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The reference web app (web/), built into web/dist, which the server serves at /app/. Without npm
# it is skipped with a word, and the server serves the API alone.
WEB_SOURCES := $(shell find web clients/typescript/src -path web/node_modules -prune -o -path web/dist -prune -o -type f -print 2>/dev/null)

web: web/dist/index.html

web/dist/index.html: web/node_modules/.installed $(WEB_SOURCES)
	@if [ ! -f web/package.json ]; then \
		echo "there is no web app in this checkout (web/): the server serves the API alone"; \
	elif command -v npm >/dev/null 2>&1; then \
		cd web && npm run --silent build; \
	else \
		echo "Node.js (npm) is not installed, so the web app is not built: the server serves the API alone"; \
	fi

web/node_modules/.installed: $(wildcard web/package.json web/package-lock.json)
	@if [ -f web/package.json ] && command -v npm >/dev/null 2>&1; then \
		cd web && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.installed; \
	fi

# Regenerate the TypeScript client from the documents the server serves (commit the result).
client: install-test
	$(BIN)/expense-tracker describe clients/typescript/api
	cd clients/typescript && npm run --silent generate

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-run: $(VENV)/bin/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install -q -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/bin/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $@ $(VENV)/.installed-run

bench: install
	$(BIN)/python bench/http_bench.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache clients/typescript/node_modules web/node_modules web/dist
