# The two commands: `make run` and `make test`. Everything else is optional.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-fast bench lint format migrate sandbox clean lock

# requirements.lock is what production installs (the portal alone); requirements-dev.lock adds the
# local Stripe sandbox and the test tools, for `make run` and `make test`.
$(STAMP): requirements-dev.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	@touch $(STAMP)

## make run: the portal with demo data on SQLite + the local Stripe sandbox (prints URL and logins)
run: $(STAMP)
	$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/python manage.py run_portal

## make test: the whole suite (uses DATABASE_URL / REDIS_URL when set)
# Tests close connections after each request (the live server's request threads would keep theirs).
test: $(STAMP)
	DATABASE_CONN_MAX_AGE=0 $(BIN)/python -m pytest $(PYTEST_ARGS)

## make test-fast: without the slow suites
test-fast: $(STAMP)
	DATABASE_CONN_MAX_AGE=0 $(BIN)/python -m pytest -m "not slow and not e2e" $(PYTEST_ARGS)

## make bench: every benchmark; each prints one JSON line last
bench: $(STAMP)
	@for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrate: $(STAMP)
	$(BIN)/python manage.py migrate --noinput

sandbox: $(STAMP)
	$(BIN)/python -m stripe_sandbox --port $${STRIPE_SANDBOX_PORT:-12111} --state-file var/sandbox/state.json

## make lock: re-resolve both lock files from pyproject.toml (keeps current pins where they still fit)
lock: $(STAMP)
	$(BIN)/uv pip compile -q --python-version 3.11 --custom-compile-command "make lock" -o requirements.lock pyproject.toml
	$(BIN)/uv pip compile -q --python-version 3.11 --custom-compile-command "make lock" --extra sandbox --extra dev \
		-o requirements-dev.lock pyproject.toml

clean:
	rm -rf var/celery var/sandbox var/portal.sqlite3* var/demo_logins.json
