# SecureMail: `make run` runs the whole product locally, `make test` runs every test.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test check bench format clean

# Pick Python 3.12+ (pyenv's 3.13 through .python-version first, then what PATH has).
PYTHON_BIN := $(shell ./scripts/find-python)

$(STAMP): pyproject.toml
	@test -n "$(PYTHON_BIN)" || { echo "SecureMail needs Python 3.12 or newer (python3.13 / python3.12 not found)." >&2; exit 1; }
	@test -x $(PY) || $(PYTHON_BIN) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	DEBUG=$${DEBUG:-true} $(PY) manage.py runlocal

test: $(STAMP)
	./scripts/test

check: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/djlint securemail --lint
	$(VENV)/bin/mypy securemail
	$(VENV)/bin/lint-imports
	env -u DATABASE_URL DJANGO_SETTINGS_MODULE=securemail.settings_test $(PY) manage.py makemigrations --check --dry-run
	./scripts/check-deploy

bench: $(STAMP)
	$(PY) bench/run.py

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) var
