# The two commands: `make demo` runs the gateway on a sample network; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: demo test lint typecheck check-policies bench clean browser

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Demarc needs Python 3.11 or newer as $(PYTHON)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/demarc demo --dir .demo

# the console's browser tests drive Debian's Chromium (never a downloaded browser): installed
# here when missing, as root and without questions; elsewhere the tests fail and say why
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing Debian's chromium for the console's browser tests"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				chromium fonts-dejavu-core >/dev/null; \
		else \
			echo "the console's browser tests need Debian's chromium: apt-get install chromium"; \
			exit 1; \
		fi; }

test: $(STAMP) browser
	$(BIN)/demarc policy check policies
	$(BIN)/demarc policy test policies
	$(BIN)/ruff check gateway tests bench scripts
	$(BIN)/ruff format --check gateway tests bench scripts
	$(BIN)/mypy gateway
	$(BIN)/pytest --durations=15

lint: $(STAMP)
	$(BIN)/ruff check gateway tests bench scripts
	$(BIN)/ruff format --check gateway tests bench scripts

typecheck: $(STAMP)
	$(BIN)/mypy gateway

bench: $(STAMP)
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf .demo .pytest_cache .mypy_cache .ruff_cache
