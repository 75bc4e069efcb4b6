# The two commands a newcomer types: `make demo` and `make test`.
# Both create .venv and install pinned dependencies themselves.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
OUT    ?= out/demo

.PHONY: demo test lint typecheck bench-quick clean install install-dev system-deps

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip setuptools wheel
	$(PIP) install torch==2.13.0
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed pyproject.toml
	$(PIP) install -e '.[dev]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## Main job: synthetic consortium -> federated training -> evaluation -> report.
demo: $(VENV)/.installed
	$(VENV)/bin/fedcredit demo --out $(OUT)

## System packages for the tests (Chromium, PostgreSQL, wrk from Debian), only when missing.
system-deps:
	bash .ci/system-deps

## Tests: installs dev extras and system packages; tests start their own services (Bolt server,
## PostgreSQL, Flower SuperLink/SuperNodes, HTTP servers, headless Chromium).
test: $(VENV)/.installed-dev system-deps
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(VENV)/.installed-dev
	$(PY) -m mypy

bench-quick: $(VENV)/.installed-dev
	for b in benchmarks/*.py; do $(PY) $$b --quick || exit 1; done

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
