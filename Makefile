# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
# uvicorn worker processes for `make run` (see docs/operations.md).
WORKERS ?= 1

.PHONY: run test lint bench clean

$(BIN)/portal: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

## make run: install, migrate, seed the demo practice if the database is empty, serve.
# The address the demo's sign-ins and mails point at follows HOST and PORT. Migrating and
# seeding (and printing the sign-ins) happen once, before `portal run` starts WORKERS workers.
run: export PORTAL_SERVER_PUBLIC_URL ?= http://$(HOST):$(PORT)
run: $(BIN)/portal
	$(BIN)/portal db migrate
	$(BIN)/portal demo --if-empty
	$(BIN)/portal run --host $(HOST) --port $(PORT) --workers $(WORKERS)

## make test: the whole suite, on SQLite and on a throwaway PostgreSQL, browser included.
test: $(BIN)/portal
	scripts/test.sh

lint: $(BIN)/portal
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

## make bench: the three small benches, then the large-practice load on SQLite and PostgreSQL
# with wrk against a bare-Litestar baseline (bench/run.py; ~10 min on 2 cores), written to bench/results/.
bench: $(BIN)/portal
	$(BIN)/python bench/page_weight.py
	$(BIN)/python bench/slots.py
	$(BIN)/python bench/statement_pdf.py
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var .pytest_cache
