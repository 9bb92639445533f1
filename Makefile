# Two commands on a fresh machine with Python 3.10+ and make:
#   make demo   set up .venv, then release, grade the sample submissions, write feedback and grades.csv
#   make test   set up .venv, then run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint bench clean
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

demo: setup
	$(BIN)/course demo

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .

bench: setup
	$(BIN)/python bench/run_all.py

clean:
	rm -rf submitted autograded feedback grading gradebook.db grades.csv .pytest_cache
