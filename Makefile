# The exchange's commands. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PORT

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@touch $@ $(VENV)/.runtime

# Local settings: DJANGO_DEBUG=true and a fresh secret key, never overwritten
# (see exchange_site/env.py); real environment variables win over it.
.env: | $(BIN)/python
	$(BIN)/python -m exchange_site.env .env.example .env

# The browser libraries: the dashboard's charts and /api/docs' Swagger UI (package.json,
# pinned by package-lock.json); no install scripts run (swagger-ui-dist's would report usage).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts
	@touch $@

.PHONY: install
install: $(VENV)/.runtime node_modules/.installed .env ## Install what the exchange needs to run

.PHONY: install-dev
install-dev: $(VENV)/.dev node_modules/.installed .env ## Install the test, lint and benchmark tools too

.PHONY: run
run: install ## Run the whole exchange (server, sources, market, bots, dashboard) on PORT; Ctrl+C stops it
	$(BIN)/python manage.py migrate --no-input
	EXCHANGE_URL=$${EXCHANGE_URL:-http://127.0.0.1:$(PORT)} $(BIN)/honcho start --no-colour -f Procfile 2>&1 || true

.PHONY: scale
scale: install ## Run the scaled topology: Pushpin on PORT, 2 web workers, the engine once, Redis, PostgreSQL
	deploy/scale.sh 2>&1 || true

.PHONY: bench
bench: install-dev ## Measure fan-out, orders and backtests (bounded, a few minutes); figures on stdout
	$(BIN)/python benchmarks/run.py

.PHONY: test
test: install-dev ## Run the whole test suite
	$(BIN)/pytest

.PHONY: lint
lint: install-dev ## Check style and types (ruff, mypy)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

.PHONY: format
format: install-dev ## Format the code
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Production-like settings for the deploy check: DEBUG off, no local .env, a
# throwaway key as long as Django asks (50+ characters).
CHECK_ENV = EXCHANGE_ENV_FILE= DJANGO_DEBUG=false DJANGO_SECRET_KEY=check-only-$$(head -c 48 /dev/urandom | base64 | tr -d '\n')

.PHONY: check
check: lint ## What CI checks besides the tests: lint, types, migrations, Django's deploy checks
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(CHECK_ENV) $(BIN)/python manage.py check --deploy --fail-level WARNING

.PHONY: clean
clean: ## Remove the virtualenv, the local database and the local state (.exchange)
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm staticfiles .exchange
