# UMIC Atenció telemàtica. A newcomer needs two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app umic
PORT ?= 5000

.DEFAULT_GOAL := help
.PHONY: help setup run test test-days load-smoke lint format migrate upgrade translations-extract translations-init translations-update translations-compile clean

help: ## Show the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-22s %s\n", $$1, $$2}'

$(BIN)/activate:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the ical.js invitation checks will be skipped"; fi

setup: $(VENV)/.installed node_modules/.installed ## Create .venv and install everything

run: setup ## Migrate, load demo data, serve on http://127.0.0.1:$(PORT) with the mail worker
	@mkdir -p instance
	@# Links in e-mails and in the embedding snippet point at this server unless UMIC_BASE_URL says.
	@# Without a mail server of your own, e-mails stay readable at /admin/correu/.
	@export FLASK_DEBUG=1 UMIC_BASE_URL=$${UMIC_BASE_URL:-http://127.0.0.1:$(PORT)} \
		UMIC_MAIL_SUPPRESS_SEND=$${UMIC_MAIL_SUPPRESS_SEND:-true}; \
		$(FLASK) db upgrade && $(FLASK) demo load --if-empty || exit 1; \
		echo; \
		echo "  UMIC Atenció telemàtica: http://127.0.0.1:$(PORT)/reserva/"; \
		echo "  Book as a citizen, e.g.  http://127.0.0.1:$(PORT)/reserva/gelida/"; \
		echo "  Staff sign-in:           http://127.0.0.1:$(PORT)/entra"; \
		echo "    coordinator COORDINACIO / umic-demo  (reads every e-mail at /admin/correu/)"; \
		echo "    technician  OPSSVEGAVN  / umic-demo"; \
		echo; \
		trap 'kill 0' EXIT INT TERM; \
		$(FLASK) worker & \
		$(FLASK) run --host 127.0.0.1 --port $(PORT)

test: setup ## Lint, then the whole test suite (also on PostgreSQL when UMIC_TEST_DATABASE_URL is set)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

# The awkward moments `make test-days` puts the app's clock at (umic/clock.py): a Friday
# afternoon before a Monday holiday (6 Dec 2027, with 8 Dec that week), the Monday before
# the 8 December holiday, 23 December, the Saturday before each daylight-saving change,
# New Year's Eve at 23:30, a leap day, and an afternoon when today has one time left.
TEST_DAYS ?= 2027-12-03T17:45:00+01:00 2026-12-07T10:00:00+01:00 2026-12-23T17:30:00+01:00 \
	2027-03-27T12:00:00+01:00 2027-10-30T12:00:00+02:00 2026-12-31T23:30:00+01:00 \
	2028-02-29T10:00:00+01:00 2026-12-10T16:10:00+01:00

test-days: setup ## The tests without a browser or PDF drawing (SQLite) with the clock at each awkward moment
	@for moment in $(TEST_DAYS); do \
		echo "== the clock at $$moment"; \
		UMIC_TEST_NOW=$$moment UMIC_TEST_DATABASE_URL= $(BIN)/pytest -q -m "not browser and not pdf" \
			-p no:cacheprovider || exit 1; \
	done

# A short run of the load test of the booking journey (benchmarks/README.md): gunicorn with 2
# workers on a scratch PostgreSQL database of its own on 127.0.0.1, created and dropped;
# everyone wants the same day, so some times are taken and chosen again.
# A benchmark, not a test: never part of `make test`.
LOAD_SMOKE_DATABASE ?= postgresql+psycopg://postgres@127.0.0.1:5432/umic_load_smoke_$$$$
load-smoke: setup ## 20 citizens book for 30 s against gunicorn on PostgreSQL: no errors, no double booking
	$(BIN)/python benchmarks/load_journey.py --citizens 20 --ramp 10 --duration 30 --workers 2 \
		--same-day --database "$(LOAD_SMOKE_DATABASE)" --fresh --drop

lint: setup ## Ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup ## Format the code
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: setup ## Write a migration for model changes: make migrate m="what changed"
	FLASK_DEBUG=1 $(FLASK) db migrate -m "$(m)"

upgrade: setup ## Apply migrations to the configured database
	FLASK_DEBUG=1 $(FLASK) db upgrade

# Catalan is the source language: the msgids are Catalan, so there is no ca catalogue.
# The compiled .mo files are committed (pip install . and production need them); after
# editing a .po, run `make translations-compile` and commit both (a test checks they match).
BABEL_EXTRACT := $(BIN)/pybabel -q extract -F babel.cfg -k lazy_gettext -k _l -k N_ --add-location=file \
	--sort-by-file --project=umic --copyright-holder="Diputació de Barcelona"

translations-extract: setup ## Collect every translatable string into umic/translations/messages.pot
	@mkdir -p umic/translations
	$(BABEL_EXTRACT) -o umic/translations/messages.pot umic

translations-init: translations-extract ## Start a new language: make translations-init lang=fr
	@test -n "$(lang)" || { echo "Say which language: make translations-init lang=fr"; exit 1; }
	$(BIN)/pybabel init -i umic/translations/messages.pot -d umic/translations -l $(lang)
	@echo "Now translate umic/translations/$(lang)/LC_MESSAGES/messages.po, add \"$(lang)\" to LANGUAGES and run make translations-compile"

translations-update: translations-extract ## Merge new strings into each language's catalogue (then translate them)
	@for po in umic/translations/*/LC_MESSAGES/messages.po; do \
		lang=$$(basename $$(dirname $$(dirname $$po))); \
		$(BIN)/pybabel -q update -i umic/translations/messages.pot -d umic/translations -l $$lang --ignore-obsolete || exit 1; \
	done
	@echo "Untranslated or fuzzy strings fail tests/unit/test_catalogues.py: translate them, then make translations-compile"

translations-compile: setup ## Compile the catalogues (.po -> .mo); commit the .mo files too
	$(BIN)/pybabel compile -d umic/translations --statistics

clean: ## Remove the virtualenv, node_modules and caches (keeps instance/)
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache
