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

.PHONY: report weekly report-preview
REPORTS := var/reports
PREVIEW := $(REPORTS)/preview

## weekly district reports (HTML + PDF) of the demo for its last complete week
report: surveil
	$(BIN)/surveil report --config $(CONFIG)

## reports, then e-mail them (needs the relay in [email]; the demo's: .venv/bin/python -m aiosmtpd -n -l localhost:8025)
weekly: report
	$(BIN)/surveil email --config $(CONFIG)

## phone-width full-page screenshots of the latest week's reports in var/reports/preview/: headless
## Chromium (Debian `chromium`, installed here if missing) lays the page out 375 px wide in a window
## 16,000 px tall (doubled until the page fits, up to 64,000), and the blank below the report is cut
## off. Without Chromium: the PDF's A4 pages through pdftoppm (*-a4-N.png): not a phone view, and it says so.
PREVIEW_HEIGHT := 16000
PREVIEW_MAX_HEIGHT := 64000

report-preview: report
	@mkdir -p $(PREVIEW); rm -f $(PREVIEW)/*.png; week=$$(ls -d $(REPORTS)/[0-9]*-W[0-9]* | sort | tail -1); \
	command -v chromium >/dev/null || { command -v apt-get >/dev/null && \
	  { SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO="sudo"; $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null; } || \
	  echo "report-preview: chromium not installed; using the PDF pages"; }; \
	for html in $$week/*.html; do \
	  name=$$(basename $$week)-$$(basename $$html .html); \
	  if command -v chromium >/dev/null; then \
	    height=$(PREVIEW_HEIGHT); while :; do \
	      profile=$$(mktemp -d); \
	      chromium --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
	        --disable-sync --no-first-run --user-data-dir=$$profile --hide-scrollbars \
	        --window-size=375,$$height --screenshot=$(PREVIEW)/$$name.png "file://$$(realpath $$html)" \
	        >/dev/null 2>&1; rm -rf $$profile; \
	      last=$$([ $$height -ge $(PREVIEW_MAX_HEIGHT) ] && echo last || echo more); \
	      $(BIN)/python tools/trim_preview.py $(PREVIEW)/$$name.png $$last && break; \
	      [ $$? -eq 3 ] || exit 1; height=$$((height * 2)); \
	    done; \
	  else pdftoppm -png -r 60 $${html%.html}.pdf $(PREVIEW)/$$name-a4 && \
	    echo "$(PREVIEW)/$$name-a4-*.png: the PDF's A4 pages, not a 375 px phone view"; fi; \
	done
