# srb-surveil: the front door. Every target works from a clean checkout.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha256sum | cut -c1-12)
CONFIG ?= config/demo.toml

.PHONY: setup surveil demo test lint validate bench clean system-deps

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -n "$(PYTHON)" || { echo "make: Python 3.11 not found"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

demo: setup
	$(BIN)/surveil demo --config $(CONFIG)

## the nightly job on the embedded demo registry
surveil: demo
	$(BIN)/surveil run --config $(CONFIG)

## Debian packages the tests use (fonts for CJK charts, pdftotext); installed once
system-deps:
	@bash tools/system-deps.sh test

test: setup system-deps
	$(BIN)/python -m pytest -n 2 -p no:cacheprovider

lint: setup
	$(BIN)/ruff check .

## comparisons with R (surveillance, spc, spdep) and PyMC: outside `make test`
validate: setup
	@bash tools/system-deps.sh validate
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,validate]'
	$(BIN)/python -m validate

## speed and memory figures quoted in the issues' closing notes
bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var data/demo/births data/demo/areas.csv data/demo/adjacency.csv .pytest_cache .ruff_cache *.egg-info
