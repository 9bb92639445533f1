# Two commands on a fresh machine with Python 3.10+ and make:
#   make demo   set up .venv, then release, grade the sample submissions, write feedback and grades.csv
#   make test   set up .venv, then run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup system demo test lint bench clean
setup: system $(VENV)/.installed

# bubblewrap is the OS sandbox `course grade` runs every learner's code in. As root on Debian or Ubuntu it
# is installed here; otherwise this says how to get it (`course check` works without it).
system:
	@command -v bwrap >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; \
	  else \
	    echo "note: grading needs bubblewrap, the OS sandbox for learners' code: sudo apt-get install bubblewrap"; \
	  fi; }

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
