# Charge Portal: `make run` starts the portal, `make test` runs every check.
PYTHON ?= python3.11
VENV   ?= .venv
BIN     = $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
FLASK   = $(BIN)/flask --app wsgi

.PHONY: run test lint typecheck translations extract-messages lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

translations: $(VENV)/.runtime
	$(BIN)/pybabel compile -d app/translations

## run: install, migrate, first administrator, demo data on an empty database, serve
run: $(VENV)/.runtime translations
	$(FLASK) db upgrade
	$(FLASK) users ensure-admin
	$(FLASK) demo load --if-empty
	FLASK_SCHEDULER_ENABLED=true $(FLASK) run --host $(HOST) --port $(PORT)

## test: install runtime + test requirements, lint, type-check, run the whole suite
## on TEST_WORKERS processes (pytest-xdist; 0 runs it in this process)
TEST_WORKERS ?= 2
test: $(VENV)/.dev translations lint typecheck
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/codespell app admin_views ocpp_server tests README.md

typecheck: $(VENV)/.dev
	$(BIN)/mypy

## extract-messages: refresh the message catalogue after changing UI strings
extract-messages: $(VENV)/.runtime
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o app/translations/messages.pot .
	$(BIN)/pybabel update -N -i app/translations/messages.pot -d app/translations

## lock: re-pin requirements*.txt from requirements*.in in a throw-away venv
lock:
	rm -rf /tmp/charge-portal-lock && $(PYTHON) -m venv /tmp/charge-portal-lock
	/tmp/charge-portal-lock/bin/pip install --quiet -r requirements.in
	(echo "# Pinned by 'make lock' from requirements.in. Python 3.11."; \
	 /tmp/charge-portal-lock/bin/pip freeze) > requirements.txt
	/tmp/charge-portal-lock/bin/pip install --quiet -r requirements-dev.in
	(echo "# Pinned by 'make lock' from requirements-dev.in (on top of requirements.txt)."; \
	 /tmp/charge-portal-lock/bin/pip freeze | grep -vxFf requirements.txt) > requirements-dev.txt

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
