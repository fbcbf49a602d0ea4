# Two commands on a fresh machine: `make sandbox` (the whole flow, locally) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STACK ?= dev

.PHONY: venv test lint typecheck unit sandbox render check bench clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(BIN)/zizmor --offline --quiet .github/workflows

typecheck: venv
	$(BIN)/mypy

unit: venv
	$(BIN)/pytest -n 2 -q

test: lint typecheck unit

check: venv
	$(BIN)/python -m components check --stack $(STACK)

render: venv
	$(BIN)/python -m components render --stack $(STACK) --format markdown

sandbox: venv
	$(BIN)/python -m components sandbox

bench: venv
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
