# Suyang — the two commands of the README:
#   make demo   set up, build the demo county, write its report to out/, serve on :8000
#   make test   set up with test dependencies, run the whole suite on SQLite and PostgreSQL
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
RUNTIME_DEBS := fonts-wqy-microhei
TEST_DEBS := $(RUNTIME_DEBS) poppler-utils chromium postgresql redis-server
# pytest-xdist workers (the suite is CPU-bound; each worker builds its own demo county once)
PYTEST_WORKERS ?= 2
export DJANGO_ALLOW_ASYNC_UNSAFE := true

.PHONY: demo test lint test-sqlite test-postgres serve clean

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/activate
	$(PIP) install -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(VENV)/bin/activate
	$(PIP) install -q -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

demo: $(VENV)/.runtime
	scripts/system-deps.sh $(RUNTIME_DEBS)
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py demo
	$(PY) manage.py report --wave 2025 --out out/pingyin-2025-county-report.pdf
	@echo "Serving on http://127.0.0.1:8000 (Ctrl-C to stop)"
	$(PY) manage.py runserver 127.0.0.1:8000

serve: $(VENV)/.runtime
	$(PY) manage.py runserver 127.0.0.1:8000

test: $(VENV)/.dev
	scripts/system-deps.sh $(TEST_DEBS)
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

lint:
	@echo "== ruff and mypy (strict on scoring/) =="
	$(VENV)/bin/ruff check .
	$(PY) -m mypy

# The browser tests (tests/e2e) run once, in the PostgreSQL pass: they exercise the pages, not
# the database, and on SQLite the live server shares the test's in-memory connection.
test-sqlite:
	@echo "== test suite on SQLite (browser tests: see the PostgreSQL pass) =="
	env -u DATABASE_URL $(PY) -m pytest -q -n $(PYTEST_WORKERS) --ignore=tests/e2e

# tests/scoring (the estimation engine: numpy only, no database) ran in the SQLite pass.
test-postgres:
	@echo "== test suite on PostgreSQL (tests/scoring: see the SQLite pass) =="
	scripts/with-postgres.sh $(PY) -m pytest -q -n $(PYTEST_WORKERS) --ignore=tests/scoring

clean:
	rm -rf $(VENV) var out .pytest_cache
