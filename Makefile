# dichvucong — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP_RUN  := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test

.PHONY: help run test test-fast lint bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt -e .
	@touch $@

$(STAMP_TEST): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	@touch $@ $(STAMP_RUN)

run: $(STAMP_RUN) ## start everything embedded (Temporal dev server + UI, worker, web app, demo data)
	$(BIN)/dichvucong dev

test: $(STAMP_TEST) ## run the whole test suite (time-skipping Temporal, dev server, Chromium)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP_TEST) ## only the fast tests (no dev server, no browser)
	$(BIN)/python -m pytest -m "not devserver and not browser" $(PYTEST_ARGS)

bench: $(STAMP_TEST) ## run the benchmark (not a test; writes bench-results.json)
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: $(STAMP_TEST) ## ruff
	$(BIN)/ruff check dichvucong tests

clean: ## remove the virtualenv and local state
	rm -rf $(VENV) var
