# Two commands on a fresh machine:
#   make demo   set up .venv, generate the sample company, load it, dbt build, print a summary
#   make test   set up .venv and run the whole test suite (what .ci/run calls)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.lock | cksum | cut -d' ' -f1)

# uv installs the same pinned lock as pip would, about 30 times faster (pinned itself)
UV_PIN := uv==0.13.9
UV := $(VENV)/bin/uv
# One pytest worker per core this process may use, at most 4 (each worker runs dbt and DuckDB,
# with their own memory); `make test TEST_WORKERS=1` runs the suite serially.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); [ "$$n" -gt 4 ] && n=4; echo $$n)
SPARK_STAMP := $(VENV)/.spark-$(shell cat requirements-spark.lock | cksum | cut -d' ' -f1)

.PHONY: setup setup-spark browser demo test lint clean

setup: $(STAMP)

$(STAMP): requirements.lock
	@echo "setting up $(VENV) with the pinned dependencies (log: $(VENV)/install.log)"
	@$(PYTHON) -m venv $(VENV)
	@{ $(PY) -m pip install --disable-pip-version-check $(UV_PIN) \
		&& $(UV) pip install --python $(PY) -r requirements.lock; } > $(VENV)/install.log 2>&1 \
		|| { tail -30 $(VENV)/install.log; echo "dependency install failed"; exit 1; }
	@rm -f $(VENV)/.installed-*; touch $@

# Optional: dbt-spark + pyspark (about 400 MB) for `--target spark`; the test suite's Spark lane
# needs it, the demo does not.
setup-spark: $(SPARK_STAMP)

$(SPARK_STAMP): $(STAMP) requirements-spark.lock
	@echo "adding the Spark extra to $(VENV) (log: $(VENV)/install-spark.log)"
	@$(UV) pip install --python $(PY) --no-deps -r requirements-spark.lock \
		> $(VENV)/install-spark.log 2>&1 \
		|| { tail -30 $(VENV)/install-spark.log; echo "Spark extra install failed"; exit 1; }
	@rm -f $(VENV)/.spark-*; touch $@

demo: setup
	$(PY) -m ingest demo

# The HTML report is tested in headless Chromium (Debian's package). Installed when missing and
# we may (root with apt-get, as in CI); otherwise that one test says why it skipped.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing chromium for the report test (log: $(VENV)/apt.log)"; \
			mkdir -p $(VENV); \
			{ apt-get update && apt-get install -y --no-install-recommends chromium; } > $(VENV)/apt.log 2>&1 \
				|| { tail -20 $(VENV)/apt.log; echo "chromium install failed"; exit 1; }; \
		else echo "chromium not found and cannot be installed here: the report browser test will skip"; fi; }

test: setup setup-spark browser
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

lint: setup
	$(PY) -m ruff check ingest
	$(VENV)/bin/sqlfluff lint models macros tests

clean:
	rm -rf target logs warehouse sample_data .pytest_cache
