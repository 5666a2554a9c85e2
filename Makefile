# The README's two commands: `make demo` and `make test`. Both build .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow lint imports typecheck bench docs clean system-deps

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m dunning demo

lint: $(STAMP)
	$(BIN)/ruff check src tests examples benchmarks
	$(BIN)/ruff format --check src tests examples benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

# The import contracts in pyproject.toml: stage layers, no circles, public faces only outside src/.
imports: $(STAMP)
	$(BIN)/lint-imports --no-cache

# System packages pip cannot bring (Debian's Chromium for the browser tests, PostgreSQL, fonts,
# libatomic1 for playwright's node): installed by the script (apt-get update first; root, or
# sudo -n) only when Chromium is missing. The browser tests fail, never skip, without them.
system-deps:
	@test -x /usr/bin/chromium || bash .ci/install-system-deps.sh

# The fast suite (CI profile of hypothesis); heavier runs are behind the `slow` marker.
test: $(STAMP) system-deps lint imports typecheck
	HYPOTHESIS_PROFILE=ci $(BIN)/python -m pytest -m "not slow" -q

# Everything, with the slow hypothesis profile (2,000 examples) and the `slow`-marked runs.
test-slow: $(STAMP) system-deps
	HYPOTHESIS_PROFILE=slow $(BIN)/python -m pytest -q

DOCS_STAMP := $(VENV)/.docs-installed

$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[docs]'
	touch $(DOCS_STAMP)

# Static documentation site in site/ (MkDocs).
docs: $(DOCS_STAMP)
	$(BIN)/mkdocs build --quiet

# A quick look at both benchmarks; see docs/performance.md for the full-size runs.
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_engine.py --quick
	$(BIN)/python benchmarks/bench_batch.py --accounts 2000

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
