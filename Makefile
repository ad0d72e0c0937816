# OrgGuard. `make demo` and `make test` set everything up themselves.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: install demo test lint typecheck unit bench synth clean browser

install: $(STAMP)

$(STAMP): pyproject.toml package.json package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	npm ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

demo: install
	$(PY) deploy.py demo

# Under CI the browser test of the report needs Chromium: install it first (elsewhere that test skips without it).
test: install lint typecheck $(if $(CI),browser)
	$(PY) -m pytest -n 2 --dist loadgroup

unit: install
	$(PY) -m pytest tests/unit -q

browser:  # headless Chromium from Debian's packages, for tests/e2e/test_report_browser.py (needs root)
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium)

lint: install
	$(VENV)/bin/ruff check .

typecheck: install
	$(VENV)/bin/mypy handlers hub spoke stacksets sandbox commands reporting benchmarks deploy.py

bench: install  # c7n pins an older boto3: the benchmark installs it into build/c7n-venv itself
	$(PY) -m benchmarks

CONFIG ?= orgguard.toml
synth: install
	$(PY) deploy.py synth --config $(CONFIG) --out build/synth

clean:
	rm -rf build cdk.out demo-out .pytest_cache .mypy_cache .ruff_cache
