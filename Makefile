# WattWitness: `make demo` runs the whole system on this machine; `make test` runs every test.
# Each target installs what it needs first, idempotently (stamp files), so both work on a fresh clone.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PY_STAMP := $(VENV)/.installed
STATIC := src/wattwitness/server/static
PYTEST_ARGS ?=

.PHONY: setup demo test test-python test-frontend test-firmware test-chainlink test-faults lint typecheck \
        frontend contracts chromium postgres-check clean

## ---- setup -------------------------------------------------------------------------------------

$(PY_STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q -U pip
	@# pip prints a warning per package for this machine's unused local index; keep the log readable.
	$(PIP) install -q -e '.[dev]' 2>&1 | grep -v '^WARNING: Location' ; exit $${PIPESTATUS[0]}
	@touch $@

# System packages the tests need: Chromium for the dashboard's browser tests, OpenSSL headers for the
# firmware's host build. Installed only when missing.
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)
	@test -f /usr/include/openssl/evp.h || (apt-get update -qq && apt-get install -y -qq libssl-dev >/dev/null)

frontend: $(STATIC)/index.html

# node_modules exactly as package-lock.json pins them; reinstalled only when the manifest or lock changes.
FRONTEND_STAMP := frontend/node_modules/.installed
$(FRONTEND_STAMP): frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.installed

$(STATIC)/index.html: $(FRONTEND_STAMP) $(shell find frontend/src frontend/index.html frontend/vite.config.ts frontend/tsconfig.json -type f 2>/dev/null)
	cd frontend && npm run build

contracts:
	cd contracts && npm ci --no-audit --no-fund --loglevel=error && npm run compile

setup: $(PY_STAMP) chromium frontend contracts

## ---- the two commands ---------------------------------------------------------------------------

demo: setup
	$(VENV)/bin/wattwitness demo

test: setup postgres-check lint typecheck test-python test-frontend test-firmware test-chainlink

## ---- pieces -------------------------------------------------------------------------------------

# PostgreSQL is a real dependency of the tests: fail loudly instead of skipping.
postgres-check:
	@$(PY) -c "import psycopg,os,sys; psycopg.connect(os.environ.get('WATTWITNESS_TEST_POSTGRES_URL','postgresql://postgres@127.0.0.1:5432/test'), connect_timeout=5).close()" \
	  || (echo "PostgreSQL on 127.0.0.1:5432 is not reachable; the tests need it" >&2; exit 1)

lint: $(PY_STAMP)
	$(VENV)/bin/ruff check src tests

typecheck: $(PY_STAMP)
	$(VENV)/bin/mypy

# The browser tests run in their own pytest process: Playwright's sync API keeps an event loop running in
# the main thread for as long as its browser lives, which other tests' asyncio.run() must not inherit.
test-python: $(PY_STAMP)
	$(PY) -m pytest -m "not faults" --ignore=tests/e2e $(PYTEST_ARGS)
	$(PY) -m pytest -m "not faults" tests/e2e $(PYTEST_ARGS)

test-frontend: $(FRONTEND_STAMP)
	cd frontend && npm run typecheck && npm test

# The Chainlink CRE workflow: typecheck and `bun test` on the SDK's test runtime (bun comes from npm).
CHAINLINK_STAMP := chainlink/node_modules/.installed

$(CHAINLINK_STAMP): chainlink/package-lock.json
	cd chainlink && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

test-chainlink: $(CHAINLINK_STAMP)
	cd chainlink && npm run typecheck && npm test

test-firmware: chromium
	$(MAKE) -C firmware/esp32/test

test-faults: setup postgres-check
	$(PY) -m pytest -m faults $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(STATIC) frontend/node_modules contracts/node_modules chainlink/node_modules firmware/esp32/test/build data
