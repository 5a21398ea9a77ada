# The two commands: `make demo` and `make test`. Each sets itself up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
JS_STAMP := node_modules/.installed-$(shell cat package-lock.json | cksum | cut -d' ' -f1)

.PHONY: demo test packages lint typecheck pytest pytest-postgres js clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

demo: $(STAMP)
	$(BIN)/carecall demo

test: $(STAMP) packages lint typecheck pytest pytest-postgres

# Chromium, PostgreSQL, Redis and coturn from Debian when missing (the tests use them for real).
packages:
	bash testsupport/debian-packages

lint: $(STAMP) $(JS_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	npx --no-install eslint --max-warnings=0 .

typecheck: $(STAMP) $(JS_STAMP)
	$(BIN)/mypy .
	npx --no-install tsc -p jsconfig.json

# ESLint and TypeScript (tsc --checkJs over the scripts' JSDoc types) at the versions
# package-lock.json pins, from npm's registry (or its cache); installed again only when the
# lockfile changes.
$(JS_STAMP): package-lock.json
	npm ci --no-audit --no-fund --prefer-offline
	@rm -f node_modules/.installed-*
	@touch $@

# The browser scripts' checks alone.
js: $(JS_STAMP)
	npx --no-install eslint --max-warnings=0 .
	npx --no-install tsc -p jsconfig.json

# The first pass always runs on SQLite, even when DATABASE_URL points at PostgreSQL.
pytest: $(STAMP) packages
	env -u DATABASE_URL $(BIN)/pytest -q -m "not postgresql"

# The suite again on PostgreSQL (a throwaway cluster when DATABASE_URL is not set); browser
# tests ran in the first pass.
pytest-postgres: $(STAMP) packages
	$(BIN)/python -m testsupport.postgres -- $(BIN)/pytest -q -m "not browser"

clean:
	rm -rf $(VENV) var node_modules
