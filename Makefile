# The two commands in the README: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# torch is pinned: a loose range pulls a multi-GB CUDA build (this one is a CPU wheel).
TORCH ?= torch==2.13.0

.PHONY: demo test lint install system bench clean

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(PY) examples/demo.py

# Prometheus and Alertmanager (Debian packages) for the alert-rule and end-to-end tests, and
# vmagent (scripts/install-vmagent.sh) that carries the collector's metrics into Prometheus;
# needs root. Not fatal: without them those tests are skipped and say so.
system:
	@{ command -v promtool && command -v chromium; } >/dev/null 2>&1 || { \
	  (apt-get update -qq && apt-get install -y -qq prometheus prometheus-alertmanager chromium) >/dev/null 2>&1 \
	  || echo "warning: could not install prometheus/prometheus-alertmanager/chromium; their tests will be skipped"; }
	@command -v vmagent >/dev/null 2>&1 || bash scripts/install-vmagent.sh >/dev/null 2>&1 \
	  || echo "warning: could not install vmagent; the end-to-end alerting test will be skipped"

# ruff (lint and format) and mypy, configured in pyproject.toml.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: install system lint
	$(PY) -m pytest -q

bench: install
	$(PY) benchmarks/overhead.py

clean:
	rm -rf $(VENV) .pytest_cache build src/*.egg-info
