# One command runs the app, one runs the tests (see README).
VENV ?= .venv
PY := $(VENV)/bin/python
export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/casino
export REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: run test install services db lint bench clean address pgbouncer replica run-scaled


$(VENV)/.installed: requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

install: $(VENV)/.installed

# PostgreSQL and Redis where DATABASE_URL and REDIS_URL point: installed from apt when missing,
# started when stopped, given the role and database the app needs; silent when all is up, one
# line saying what to do otherwise (scripts/ensure_services.py).
services:
	@bash scripts/ensure_services.sh

db: install services
	@$(PY) scripts/ensure_database.py
	$(PY) manage.py migrate --noinput
	$(PY) manage.py setup_groups

run: db
	$(PY) manage.py seed_demo
	$(PY) manage.py collectstatic --noinput -v 0
	@echo ""
	@echo "  Royal Django Casino: $$($(MAKE) -s address)   (admin: /admin/)"
	@echo "  Demo logins: staff / staff-demo-pass   alice, bob, carol / player-demo-pass"
	@echo ""
	$(VENV)/bin/honcho start -f Procfile -p $${PORT:-8000}

DB_NAME = $(lastword $(subst /, ,$(DATABASE_URL)))
PGBOUNCER_PORT ?= 6432
REPLICA_PORT ?= 5433

# PgBouncer in transaction pooling in front of the primary (issue 20); prints the DATABASE_URL to use.
pgbouncer: services
	@bash scripts/ensure_pgbouncer.sh
	@PGBOUNCER_PORT=$(PGBOUNCER_PORT) bash scripts/pgbouncer.sh start $(DB_NAME)

# A streaming read replica of the whole primary cluster (pg_basebackup); prints its URL.
replica: services
	@REPLICA_PORT=$(REPLICA_PORT) bash scripts/replica.sh create $(DB_NAME)

# `make run` on the issue 20 tier: web and workers through PgBouncer, migrations straight to the
# primary, the read-only pages from the replica. (Not `make run` with the pooler's URL:
# ensure_services would take the pooler's port for a PostgreSQL to provision.)
run-scaled: db pgbouncer replica
	$(PY) manage.py seed_demo
	$(PY) manage.py collectstatic --noinput -v 0
	@echo ""
	@echo "  Royal Django Casino via PgBouncer :$(PGBOUNCER_PORT) + replica :$(REPLICA_PORT): $$($(MAKE) -s address)"
	@echo ""
	DATABASE_URL=postgres://postgres@127.0.0.1:$(PGBOUNCER_PORT)/$(DB_NAME) \
	DIRECT_DATABASE_URL=$(DATABASE_URL) \
	REPLICA_DATABASE_URL=postgres://postgres@127.0.0.1:$(REPLICA_PORT)/$(DB_NAME) \
	$(VENV)/bin/honcho start -f Procfile -p $${PORT:-8000}

# The address `make run` serves and prints. honcho gives each Procfile process its own
# PORT counting up from a base (5000 by default), so `run` hands it this port as the base:
# the web process, first in the Procfile, listens on exactly the printed address.
address:
	@echo "http://127.0.0.1:$${PORT:-8000}/"

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

test: install services
	@bash scripts/ensure_chromium.sh
	@bash scripts/ensure_pgbouncer.sh
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(PY) manage.py makemigrations --check --dry-run >/dev/null || (echo "Missing migrations: run manage.py makemigrations" && exit 1)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

bench: install services
	$(PY) -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
