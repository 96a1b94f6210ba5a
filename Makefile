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

unit: $(STAMP)
	$(BIN)/pytest -q

# The suite with the wall clock a year ahead and a month back (Debian's faketime):
# it must pass on any date. The monotonic clock stays real (faking it hangs every
# timed wait in CPython); tests/faketime/sitecustomize.py explains the one shim,
# which tests/conftest.py applies.
# `make test` shifts the parts that read a calendar (the ILS simulator, engine,
# journal, gate, MQTT, CLI); `make dates-full` shifts the whole suite.
DATE_SHIFTS := +365d -30d
DATE_TESTS  := tests/integration tests/engine tests/unit/kiosk tests/unit/gates tests/unit/test_cli.py
FAKETIME    := FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f

dates: $(STAMP)
	@for shift in $(DATE_SHIFTS); do \
		echo "== the suite's calendar part with the clock moved $$shift"; \
		$(FAKETIME) "$$shift" $(BIN)/pytest -q -p no:cacheprovider $(DATE_TESTS) || exit 1; \
	done

dates-full: $(STAMP)
	@for shift in $(DATE_SHIFTS); do \
		echo "== the whole suite with the clock moved $$shift"; \
		$(FAKETIME) "$$shift" $(BIN)/pytest -q -p no:cacheprovider || exit 1; \
	done

test: lint unit dates

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .pytest_cache .ruff_cache
