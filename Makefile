# The two commands of the README: `make demo` and `make test`.
# Both set up everything first (Debian packages, a virtualenv, pip) and are quick the second time.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint unit privilege dates dates-both dates-full setup clean

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
# The "ci" hypothesis profile (tests/conftest.py): the same examples every run.
PYTEST := $(BIN)/pytest -q -p no:cacheprovider -n 4 --hypothesis-profile=ci

unit: $(STAMP)
	$(PYTEST)

# Least privilege, proven (issue 15): every unit in systemd/ at systemd-analyze
# security exposure 2.5 or better (skipped, saying so, without systemd-analyze), the
# kiosk window deaf to escape keys with staff mode behind a PIN and a lockout, and
# no password or PIN on a command line. `make unit` runs them too; the redaction
# check (tests/redaction_plugin.py, loaded by tests/conftest.py) reads the logs of
# every test of every run, and fails the run if a demo patron's id, PIN or name is in one.
PRIVILEGE_TESTS := tests/integration/test_systemd_units.py tests/ui/test_lockdown.py \
                   tests/test_redaction.py

privilege: $(STAMP)
	$(PYTEST) $(PRIVILEGE_TESTS)

# The suite again with the wall clock a year ahead and a month back (Debian's
# faketime): it must pass on any date. `make test` runs every test directory that
# reads a calendar a year ahead (expiry, due dates, retention, a fixture's date that
# has passed), and the fast unit part of them a month back as well (a fixture's date
# that has not come yet). With both shifts over every calendar directory `make test`
# took 21 minutes on a two-core machine, over the 15-minute guide: `make dates-both`
# still does that, and `make dates-full` shifts the whole suite both ways. The
# monotonic clock stays real (faking it hangs every timed wait in CPython);
# tests/faketime/sitecustomize.py explains the one shim, which tests/conftest.py applies.
DATE_SHIFTS := +365d -30d
DATE_UNITS  := tests/unit/engine tests/unit/ilssim tests/unit/scenario tests/unit/kiosk \
               tests/unit/gates tests/unit/sorter tests/unit/test_cli.py
DATE_TESTS  := tests/integration tests/engine $(DATE_UNITS)
SHIFTED     := FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f

dates: $(STAMP)
	@echo "== the calendar-reading tests with the clock moved +365d"
	$(SHIFTED) +365d $(PYTEST) $(DATE_TESTS)
	@echo "== their unit part with the clock moved -30d"
	$(SHIFTED) -30d $(PYTEST) $(DATE_UNITS)

dates-both: $(STAMP)
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
