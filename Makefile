# Shangou: `make demo` and `make test` do all set-up on a fresh clone (a .venv beside this file).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint typecheck pytest bench notebook clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/shangou validate scenarios/*.yaml
	$(BIN)/shangou network scenarios/shanghai_hangzhou.yaml --plot network_shanghai_hangzhou.png
	$(BIN)/shangou run scenarios/shanghai_hangzhou.yaml --out runs/demo-shanghai_hangzhou --force

lint: $(STAMP)
	$(BIN)/ruff check sim tests benchmarks tools
	$(BIN)/ruff format --check sim tests benchmarks tools

typecheck: $(STAMP)
	$(BIN)/mypy sim

# coverage of sim/ is reported and held to [tool.coverage.report] fail_under (pyproject.toml); it slows
# the suite (Python 3.11's line tracer), so `make pytest COV=` runs it without while iterating
# the suite runs on 2 worker processes (pytest-xdist; `make pytest XDIST=` runs it in one)
COV ?= --cov --cov-report=term
XDIST ?= -n 2
pytest: $(STAMP)
	$(BIN)/python -m pytest $(XDIST) $(COV)

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py
	$(BIN)/python benchmarks/bench_shard.py

# Jupyter for notebooks/ (the notebook extra: JupyterLab); SHANGOU_NB_WORKERS caps the worker processes
notebook: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,notebook]'
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
