# The two commands of the README: `make demo` and `make test`.
# Both set up everything first (Debian packages, a virtualenv, pip) and are quick the second time.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint unit dates setup clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/apt-packages.txt scripts/bootstrap.sh
	scripts/bootstrap.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/muontra demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Four workers: most tests wait on sockets, child processes and simulated air time,
# so even two cores keep four busy (3.5 minutes for the suite here, 8 in one process).
PYTEST := $(BIN)/pytest -q -p no:cacheprovider -n 4

unit: $(STAMP)
	$(PYTEST)

# The whole suite again with the wall clock a year ahead and a month back (Debian's
# faketime): it must pass on any date. The monotonic clock stays real (faking it
# hangs every timed wait in CPython); tests/faketime/sitecustomize.py explains the
# one shim, which tests/conftest.py applies.
DATE_SHIFTS := +365d -30d

dates: $(STAMP)
	@for shift in $(DATE_SHIFTS); do \
		echo "== the suite with the clock moved $$shift"; \
		FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f "$$shift" $(PYTEST) || exit 1; \
	done

test: lint unit dates

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .pytest_cache .ruff_cache
