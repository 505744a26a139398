# neurolattice: `make serve` runs the app, `make test` runs the tests. Both set everything up.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: serve test test-core bench lint clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(INSTALLED)

serve: $(INSTALLED)
	$(VENV)/bin/neurolattice serve

test: $(INSTALLED)
	$(PY) -m pytest

bench: $(INSTALLED)
	$(PY) benchmarks/run_all.py

lint: $(INSTALLED)
	$(VENV)/bin/ruff check neurolattice_core app tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
