# The only entry points. Every target sets itself up on a fresh machine when needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
PYTEST_ARGS ?=
# make test: parallel workers (most tests wait on servers, not on the CPU); one module per worker,
# the longest modules first (tests/conftest.py: LONGEST_FIRST)
TEST_WORKERS ?= 4

.PHONY: setup system run test learner-path lab doctor lint bench soak clean

setup: $(STAMP)
	@# notebooks enter git without outputs (.gitattributes: *.ipynb filter=nbstrip)
	@! git rev-parse --git-dir >/dev/null 2>&1 || \
	  git config filter.nbstrip.clean "$(CURDIR)/$(BIN)/python -m labkit.nbstrip"

# One pip resolver run for the whole dependency set (a split install once pulled a
# python-dateutil that breaks botocore).
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "labkit needs Python 3.11 or newer")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || \
	  { rm -rf $(VENV) && scripts/system-deps venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# jsonschema[format-nongpl] (wanted by jupyter-events) brings rfc3987-syntax, which builds an
	@# Earley parser when jsonschema is imported: 1.2 s of CPU in every process that imports
	@# nbformat (pytest and its workers, papermill, labkit run, jupyter lab). Only jsonschema's IRI
	@# format checks use it, and nothing here checks an IRI.
	$(BIN)/python -m pip uninstall --quiet --yes rfc3987-syntax
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

# Debian packages the labs need (PostgreSQL, Prometheus); installs only what is missing.
system:
	@scripts/system-deps

run: setup system
	$(BIN)/labkit run

test: setup system
	@scripts/system-deps browser
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder $(PYTEST_ARGS)

# Every notebook top to bottom at its default parameters, cell by cell, with nbval.
learner-path: setup system
	LABKIT_HEADLESS=1 $(BIN)/pytest --nbval-lax -p no:cacheprovider notebooks/ $(PYTEST_ARGS)

# JupyterLab on 127.0.0.1:$(PORT) (as root too); ARGS go to jupyter, e.g. ARGS=--no-browser on a server.
PORT ?= 8888
ARGS ?=
lab: setup system
	@echo "JupyterLab on 127.0.0.1:$(PORT): open the http://127.0.0.1:$(PORT)/lab?token=... URL printed below."
	@echo "On a remote machine, first: ssh -L $(PORT):127.0.0.1:$(PORT) <that machine>   (then open the URL here)"
	$(BIN)/jupyter lab notebooks/ --ip=127.0.0.1 --port=$(PORT) --port-retries=0 \
	  $$(test "$$(id -u)" = 0 && echo --allow-root) $(ARGS)

doctor: setup
	$(BIN)/labkit doctor $(ARGS)

lint: setup
	$(BIN)/ruff check labkit tests bench labs notebooks

bench: setup
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

# Notebooks at once and again under CPU load; a cell past its budget dumps kernel and client stacks.
soak: setup system
	$(BIN)/python -m labkit.soak $(SOAK_ARGS)

clean:
	@test ! -x $(BIN)/labkit || $(BIN)/labkit clean
	rm -rf build .pytest_cache .ruff_cache
