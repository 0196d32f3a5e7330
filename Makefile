# The only entry points. Every target sets itself up on a fresh machine when needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
PYTEST_ARGS ?=

.PHONY: setup system run test lab doctor lint bench clean

setup: $(STAMP)

# One pip resolver run for the whole dependency set (a split install once pulled a
# python-dateutil that breaks botocore).
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "labkit needs Python 3.11 or newer")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || \
	  { rm -rf $(VENV) && scripts/system-deps venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

# Debian packages the labs need (PostgreSQL, Prometheus); installs only what is missing.
system:
	@scripts/system-deps

run: setup system
	$(BIN)/labkit run

test: setup system
	$(BIN)/pytest $(PYTEST_ARGS)

lab: setup system
	$(BIN)/jupyter lab notebooks/

doctor: setup
	$(BIN)/labkit doctor

lint: setup
	$(BIN)/ruff check labkit tests bench labs notebooks

bench: setup
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	@test ! -x $(BIN)/labkit || $(BIN)/labkit clean
	rm -rf build .pytest_cache .ruff_cache
