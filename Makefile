# Two commands set everything up on a fresh machine with Python 3.11+:
#   make demo   — the offline demo (local fake VK API, no network)
#   make test   — ruff, mypy and the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/vemeter: pyproject.toml
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
	$(BIN)/pytest -q

bench: $(BIN)/vemeter
	$(BIN)/python bench/crawl_vk.py

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache
