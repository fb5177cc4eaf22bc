# PenguinFlow: `make run` runs it, `make test` runs every test (after ruff and the layer rules, lint-imports).
# Both install what they need first, the visual builder's packages and build included (frontend/, npm). `make test-engine` runs the engine's tests where Django is not installed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test test-engine lint install clean bench frontend

$(STAMP): pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

# Also the node packages (the builder's, the Zapier app's in integrations/zapier): npm ci only when a lock changed.
install: $(STAMP)
	$(VENV)/bin/python scripts/dev.py packages

run: $(STAMP)
	$(VENV)/bin/python scripts/dev.py run

test: $(STAMP)
	$(VENV)/bin/python scripts/dev.py test $(ARGS)

# The visual builder alone: npm ci when the lock changed, npm run build when its sources changed.
frontend: $(STAMP)
	$(VENV)/bin/python scripts/dev.py frontend

# Its own virtual environment (var/engine-venv, the engine's packages only): not the one above.
test-engine:
	$(PYTHON) scripts/dev.py test-engine $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-logo --no-cache

bench: $(STAMP)
	$(VENV)/bin/python manage.py bench $(SCENARIO) $(ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
