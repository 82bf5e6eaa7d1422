# Two commands on a fresh machine: `make run` and `make test`. Both use .venv.
# `make run` installs what running needs (no PyTorch); `make test` adds the `dev` extra
# (pytest, PyTorch as the oracle...). Each install has its own stamp, so either order works.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test test-strict test-gpu test-all lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUN_STAMP)

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(DEV_STAMP) $(RUN_STAMP)

run: $(RUN_STAMP)
	$(BIN)/neurona train

test: $(DEV_STAMP)
	$(BIN)/python -m pytest -q -n 2

# The suite with the 'gpu' device backed by neurona's strict CPU stand-in for CuPy: finds host/device mixing.
test-strict: $(DEV_STAMP)
	$(BIN)/python -m pytest -q -n 2 --device strict

# The suite on CuPy (every test skipped, with the reason, where CuPy or an NVIDIA GPU is missing).
test-gpu: $(DEV_STAMP)
	$(BIN)/python -m pytest -q --device gpu

test-all: $(DEV_STAMP)
	$(BIN)/python -m pytest -q -n 2 -m "slow or not slow"

lint: $(DEV_STAMP)
	$(BIN)/ruff check neurona tests benchmarks examples

bench: $(DEV_STAMP)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) .pytest_cache
