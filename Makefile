# The two commands of the README: `make demo` and `make test`.
# Both set up everything first (Debian packages, a virtualenv, pip) and are quick the second time.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint unit dates dates-full setup clean

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

# The suite again with the wall clock a year ahead and a month back (Debian's
# faketime): it must pass on any date. `make test` shifts every test directory that
# reads a calendar; the codecs, drivers, reader contracts and screens read none,
# and with them the three runs took 14 min 53 s on a two-core machine (the 15-minute
# guide). `make dates-full` shifts the whole suite. The monotonic clock stays real
# (faking it hangs every timed wait in CPython); tests/faketime/sitecustomize.py
# explains the one shim, which tests/conftest.py applies.
DATE_SHIFTS := +365d -30d
DATE_TESTS  := tests/integration tests/engine tests/unit/kiosk tests/unit/gates tests/unit/test_cli.py
SHIFTED     := FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f

dates: $(STAMP)
	@for shift in $(DATE_SHIFTS); do \
		echo "== the calendar-reading tests with the clock moved $$shift"; \
		$(SHIFTED) "$$shift" $(PYTEST) $(DATE_TESTS) || exit 1; \
	done

dates-full: $(STAMP)
	@for shift in $(DATE_SHIFTS); do \
		echo "== the whole suite with the clock moved $$shift"; \
		$(SHIFTED) "$$shift" $(PYTEST) || exit 1; \
	done

test: lint unit dates

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .pytest_cache .ruff_cache
