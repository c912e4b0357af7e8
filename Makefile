# hookledger — every target installs what it needs first (a fresh clone needs only python3 >= 3.11).
PYTHON ?= python3
TOOLS  := .tools
UV     := $(TOOLS)/bin/uv
VENV   := .venv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install run test lint unit bench reliability clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==0.13.9

$(VENV)/.installed: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

install: $(VENV)/.installed

## Start the API and the projection workers (embedded PostgreSQL when DATABASE_URL is unset).
run: install
	$(VENV)/bin/hookledger run

## Lint, type-check, then the whole test suite against a real PostgreSQL.
test: lint
	$(VENV)/bin/pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

unit: install
	$(VENV)/bin/pytest tests/unit

bench: install
	$(VENV)/bin/python -m bench $(if $(FULL),--full --output bench/RESULTS-full.md,)

## The long fault runs (server and worker SIGKILLs, database crash, retry storm, forged flood).
reliability: install
	$(VENV)/bin/python -m tests.reliability

clean:
	rm -rf $(VENV) $(TOOLS) .mypy_cache .pytest_cache .ruff_cache
