# Two commands on a fresh machine: `make run` and `make test`; `make check` while working.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PG_VERSION = $(shell ls /etc/postgresql 2>/dev/null | head -n 1)

.PHONY: run test check install system-deps postgres bench lint clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# compat: the checkout goes on sys.path; no import hook to run in every command
	$(PY) -m pip install -q -e '.[dev]' --config-settings editable_mode=compat
	$(PY) -m compileall -q process_models simulations flows api >/dev/null
	touch $(STAMP)

install: $(STAMP)

# Debian packages the tests need: a CJK font for charts, chromium for browser tests.
system-deps:
	@missing=""; \
	for pkg in fonts-noto-cjk chromium; do \
	  dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# The local PostgreSQL (127.0.0.1:5432, database `test`) the store tests also run against.
postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || { \
	  echo "starting PostgreSQL"; \
	  pg_ctlcluster --skip-systemctl-redirect $(PG_VERSION) main start; \
	  for i in 1 2 3 4 5 6 7 8 9 10; do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; }

run: $(STAMP)
	$(VENV)/bin/onething catalog
	$(VENV)/bin/onething registry report demo --before demo --headline
	$(VENV)/bin/onething reform --catalog
	$(VENV)/bin/onething serve

# Every test, on two pytest-xdist workers (each with a PostgreSQL database of its own).
test: $(STAMP) system-deps postgres
	PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -q -n 2

# The fast tier: lint, then every test and doctest not marked slow (no PostgreSQL, Prefect,
# browser, Schemathesis or child process; the rule is in tests/conftest.py), each property
# test capped at a few Hypothesis examples (the `fast` profile; `make test` keeps every count),
# on two pytest-xdist workers (each collects everything, which two cores repay). Test modules
# keep their assertion-rewritten bytecode (PYTHONDONTWRITEBYTECODE cleared for the run): the
# rewrite is a fifth of the collection, paid again on every run without it.
check: $(STAMP) system-deps
	$(VENV)/bin/ruff check .
	PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -m "not slow" -q --hypothesis-profile fast -n 2

bench: $(STAMP)
	for b in bench/bench_*.py; do $(PY) $$b || exit 1; done

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) var .pytest_cache build *.egg-info
