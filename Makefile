# Two commands on a fresh machine:
#   make demo   set up .venv, generate the sample company, load it, dbt build, print a summary
#   make test   set up .venv and run the whole test suite (what .ci/run calls)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.lock | cksum | cut -d' ' -f1)

.PHONY: setup demo test lint clean

setup: $(STAMP)

$(STAMP): requirements.lock
	@echo "setting up $(VENV) with the pinned dependencies (log: $(VENV)/install.log)"
	@$(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --disable-pip-version-check -r requirements.lock > $(VENV)/install.log 2>&1 \
		|| { tail -30 $(VENV)/install.log; echo "dependency install failed"; exit 1; }
	@rm -f $(VENV)/.installed-*; touch $@

demo: setup
	$(PY) -m ingest demo

test: setup
	$(PY) -m pytest

lint: setup
	$(PY) -m ruff check ingest
	$(VENV)/bin/sqlfluff lint models macros tests

clean:
	rm -rf target logs warehouse sample_data .pytest_cache
