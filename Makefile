# The README's two commands: `make app` (set up, then run the app on the built-in demo) and
# `make test` (set up, then run the whole test suite). Windows users: see the plain pip lines in README.md.
PYTHON ?= python3
PIP := $(PYTHON) -m pip install --disable-pip-version-check -q

.PHONY: app test install install-test system-deps

app: install
	$(PYTHON) -m mesa_report.app.serve

# The suite runs on every core (pytest-xdist), a test file per worker so a file's fixtures are built once.
test: install-test
	$(PYTHON) -m pytest -n auto --dist loadfile

install:
	$(PIP) -r requirements.txt -e .

install-test: system-deps
	$(PIP) -r requirements-dev.txt -e .

# Debian packages the tests use: Chromium for the browser test, poppler for PDF pages.
system-deps:
	bash scripts/system_deps.sh
