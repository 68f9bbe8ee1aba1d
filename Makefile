# Two commands set everything up on a fresh machine with Python 3.11+:
#   make demo       — the offline demo (local fake VK API, no network)
#   make test       — ruff, mypy, import-linter and the whole test suite (what CI runs)
#   make test-fast  — the everyday loop: every test but the end-to-end ones (marker e2e)
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
# One worker per core (pytest-xdist); a module runs on one worker, so what its tests share
# (a crawled project, a built classifier) is built once.
PYTEST  = $(BIN)/pytest -n auto --dist loadscope

.PHONY: demo test test-fast lint bench clean

# setup.py builds the C counting loops (classifiers/_native.c) in place: a change rebuilds.
$(BIN)/vemeter: pyproject.toml setup.py classifiers/_native.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@

demo: $(BIN)/vemeter
	$(BIN)/vemeter demo

lint: $(BIN)/vemeter
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(PYTEST) -q --durations=15

test-fast: $(BIN)/vemeter
	$(PYTEST) -q -m "not e2e"

bench: $(BIN)/vemeter
	$(BIN)/python bench/crawl_vk.py

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache
