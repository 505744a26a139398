# neurolattice: `make serve` runs the app, `make test` runs the tests. Both set everything up.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: serve test bench lint clean clean-kernels chromium

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(INSTALLED)

serve: $(INSTALLED)
	$(VENV)/bin/neurolattice serve

test: $(INSTALLED) chromium
	$(PY) -m pytest

# The browser tests drive Debian's Chromium (Playwright's own browser download is not used).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "Chromium is missing: run 'sudo apt-get install chromium'"; exit 1; fi; }

bench: $(INSTALLED) chromium
	$(PY) benchmarks/run_all.py

lint: $(INSTALLED)
	$(VENV)/bin/ruff check neurolattice_core app tests benchmarks

# Numba checks a cached kernel against its own file only: after editing a kernel that kernels in
# other files call, drop the cache or they keep running the old code.
clean-kernels:
	find neurolattice_core -name '*.nbi' -delete -o -name '*.nbc' -delete

clean: clean-kernels
	rm -rf $(VENV) .pytest_cache build *.egg-info
