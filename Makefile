# Jisr — the newcomer needs two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
export PORT

.PHONY: run test lint format i18n i18n-check bench bench-pages bench-web lock compose-check clean install install-dev

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "jisr: $(PYTHON) not found (Python 3.11 is required)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.lock
	touch $@

$(VENV)/.installed-dev: requirements-dev.lock $(VENV)/.installed-run
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

PO_FILES := $(wildcard crm/translations/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

crm/translations/%/LC_MESSAGES/messages.mo: crm/translations/%/LC_MESSAGES/messages.po $(VENV)/.installed-run
	$(BIN)/pybabel compile -i $< -o $@

install: $(VENV)/.installed-run node_modules/.package-lock.json $(MO_FILES)

install-dev: install $(VENV)/.installed-dev

## Start web + worker + beat on http://127.0.0.1:$(PORT) (embedded SQLite unless DATABASE_URL etc. are set).
run: install
	$(BIN)/python -m crm.devserver

## Debian's Chromium, which the browser tests drive through Playwright (never `playwright install`).
/usr/bin/chromium:
	@[ "$$(id -u)" = 0 ] || { echo "jisr: the browser tests need Debian's chromium: sudo apt-get install -y chromium" >&2; exit 1; }
	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium

## The fonts the PDFs are set in (Noto: Arabic and Latin scripts) and poppler's pdftotext, which the tests read PDFs with.
PDF_PACKAGES := /usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf /usr/bin/pdftotext
$(PDF_PACKAGES) &:
	@[ "$$(id -u)" = 0 ] || { echo "jisr: the PDF tests need Debian's fonts-noto-core and poppler-utils: sudo apt-get install -y fonts-noto-core poppler-utils" >&2; exit 1; }
	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends fonts-noto-core poppler-utils

## Debian's Dovecot, a real IMAP server the inbound-mail tests start on a port of their own.
/usr/sbin/dovecot:
	@[ "$$(id -u)" = 0 ] || { echo "jisr: the IMAP tests need Debian's dovecot-imapd: sudo apt-get install -y dovecot-imapd" >&2; exit 1; }
	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends dovecot-imapd

## Install what the tests need and run the whole suite (PostgreSQL/Redis suites too when DATABASE_URL/REDIS_URL are set).
test: install-dev /usr/bin/chromium $(PDF_PACKAGES) /usr/sbin/dovecot
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup --durations=30 $(PYTEST_ARGS); status=$$?; [ $$status -eq 5 ] && { echo "no tests ran" >&2; exit 1; }; exit $$status

lint: install-dev
	$(BIN)/ruff check crm workers tests migrations/env.py
	$(BIN)/ruff format --check crm workers tests migrations/env.py
	$(BIN)/mypy

## Digest benchmark: 100,000 leads, 1,000 subscriptions (BENCH_ARGS="--database-url postgresql://…" for PostgreSQL).
bench: install-dev
	$(BIN)/python -m tests.bench_digests $(BENCH_ARGS)

## Page benchmark: the lead list, search, pipeline, dashboard, exports and the API on 100,000 leads (BENCH_ARGS as for bench).
bench-pages: install-dev
	$(BIN)/python -m tests.bench_pages $(BENCH_ARGS)

## wrk, the load generator of the web benchmark, from Debian.
/usr/bin/wrk:
	@[ "$$(id -u)" = 0 ] || { echo "jisr: the web benchmark needs Debian's wrk: sudo apt-get install -y wrk" >&2; exit 1; }
	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wrk

## Web benchmark: gunicorn against a bare Flask + psycopg floor at 10k, 100k and 1M leads on PostgreSQL; writes BENCHMARKS.md
## (BENCH_ARGS="--quick", "--scales 10000,100000", "--seconds 15"; DATABASE_URL and REDIS_URL name the servers).
bench-web: install-dev /usr/bin/wrk
	$(BIN)/python -m tests.bench_web $(BENCH_ARGS)

format: install-dev
	$(BIN)/ruff check --fix crm workers tests
	$(BIN)/ruff format crm workers tests

## Extract strings and merge them into the Arabic and French catalogues.
i18n: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
		--project Jisr --copyright-holder Jisr -o crm/translations/messages.pot .
	$(BIN)/pybabel update -i crm/translations/messages.pot -d crm/translations \
		--ignore-obsolete --width 100
	$(BIN)/pybabel compile -d crm/translations --statistics

## Validate docker-compose.yml with the real Compose binary.
compose-check: install-dev
	$$($(BIN)/python -c "import compose, os; print(os.path.join(os.path.dirname(compose.__file__), 'docker-compose'))") \
		-f docker-compose.yml --env-file .env.example config -q

## Re-pin every dependency (after editing pyproject.toml): requirements.lock and requirements-dev.lock.
READ_DEPS = import sys, tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
	print("\n".join(p["dependencies"] if sys.argv[1] == "run" else p["optional-dependencies"]["dev"]))
lock: $(BIN)/python
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv && .lockenv/bin/pip install --quiet --upgrade pip
	.lockenv/bin/python -c '$(READ_DEPS)' run > .lockenv/run.txt
	.lockenv/bin/python -c '$(READ_DEPS)' dev > .lockenv/dev.txt
	.lockenv/bin/pip install --quiet -r .lockenv/run.txt
	.lockenv/bin/pip freeze | sort > requirements.lock
	.lockenv/bin/pip install --quiet -r .lockenv/dev.txt
	{ echo "-c requirements.lock"; .lockenv/bin/pip freeze | sort | grep -vxFf requirements.lock; } > requirements-dev.lock
	rm -rf .lockenv

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache $(MO_FILES)
