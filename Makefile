# Lockgate: `make run` serves on SQLite, `make test` runs the whole suite on SQLite and PostgreSQL.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime-installed
STAMP := $(VENV)/.dev-installed
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres
CHROMIUM ?= /usr/bin/chromium
# The SQLite run fails below this total line coverage (percent); raise it as coverage rises.
COVERAGE_FLOOR := 94
# The suites' temporary files (SQLite databases, data directories, warehouse files) live in
# memory where /dev/shm is: every SQLite commit syncs to disk, which costs milliseconds on a
# disk and nothing there. `make test TEST_TMP=` keeps them in the system's temporary directory
# instead. Only a failed test's files are kept after a run.
TEST_TMP ?= $(if $(wildcard /dev/shm),/dev/shm)
PYTEST := $(if $(TEST_TMP),TMPDIR=$(TEST_TMP)) $(BIN)/pytest -o tmp_path_retention_policy=failed

.PHONY: run test test-sqlite test-sqlite-first test-sqlite-last test-postgresql test-compiled test-slow lint typecheck bench fuzz docs clean compiled

$(RUNTIME): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[compiled]'
	touch $(RUNTIME)

# The evaluator compiled by mypyc into build/compiled, which the server prefers while it was
# built from the current source (docs/sdk.md §Compiled evaluator); rebuilt when it is stale.
# Without a C compiler or Python's headers the build fails and the Python evaluator serves.
compiled: $(RUNTIME)
	LOCKGATE_EVALUATOR=pure $(BIN)/python -m tools.compile_evaluator --check || LOCKGATE_EVALUATOR=pure $(BIN)/python -m tools.compile_evaluator || true

# Tests also need the dev tools and the official SDKs (PyPI and npm), and Debian's Chromium for
# the web console's browser tests (Playwright drives it; it never downloads a browser).
$(STAMP): $(RUNTIME) tests/js/package-lock.json
	test -x $(CHROMIUM) || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	cd tests/js && npm ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

run: $(RUNTIME) compiled
	$(BIN)/lockgate serve

# The suites run side by side, one core each, in four jobs. make starts the SQLite suite and the
# PostgreSQL suite; when the PostgreSQL suite (the shorter) ends, the compiled evaluator's tests
# take the core it freed, then a second SQLite process. The two SQLite processes share the
# suite's test modules out between them (tests/module_claims.py): the first walks them from the
# start, the second from the end, so neither core waits idle for the other. -O keeps each job's
# output whole. The SQLite processes keep their coverage data and the Console operations they
# validated in $(PARTS); `test` then checks the coverage floor and that every implemented
# operation was validated, over both.
PARTS := .test-parts
test: $(STAMP) lint typecheck
	rm -rf $(PARTS) .coverage
	$(MAKE) --no-print-directory -j2 -O test-sqlite-first test-postgresql test-compiled test-sqlite-last
	$(BIN)/coverage combine --quiet $(PARTS)/coverage.first $(PARTS)/coverage.last
	$(BIN)/coverage report --skip-covered --fail-under=$(COVERAGE_FLOOR)
	$(BIN)/python -m tests.contract.every_operation $(PARTS)/operations.first $(PARTS)/operations.last

# --durations: the slowest tests of each suite (and each process), in the log of every run.
SQLITE_SUITE := LOCKGATE_TEST_DB=sqlite $(PYTEST) -q -p no:cacheprovider --durations=25 -m "not slow" --cov=lockgate

# The whole SQLite suite in one process, with its coverage floor.
test-sqlite: $(STAMP)
	$(SQLITE_SUITE) --cov-report=term:skip-covered --cov-fail-under=$(COVERAGE_FLOOR)

# The SQLite suite's two processes in `make test`; its reports come after both.
test-sqlite-first test-sqlite-last: test-sqlite-%: $(STAMP)
	mkdir -p $(PARTS)
	COVERAGE_FILE=$(PARTS)/coverage.$* $(SQLITE_SUITE) --cov-report= --claim-modules=$(PARTS)/claims $(if $(filter last,$*),--claim-from-end) --validated-operations=$(PARTS)/operations.$*

# Tests marked database_free (no database at all) run in the SQLite suite only.
test-postgresql: $(STAMP)
	LOCKGATE_TEST_DB=postgresql LOCKGATE_TEST_PG_URL=$(PG_URL) $(PYTEST) -q -p no:cacheprovider --durations=25 -m "not slow and not database_free"

# The evaluation and differential tests once more, against the compiled evaluator (the other
# suites run its Python source, whose coverage they measure); fails if it cannot be built.
test-compiled: $(STAMP)
	LOCKGATE_EVALUATOR=pure $(BIN)/python -m tools.compile_evaluator --check || LOCKGATE_EVALUATOR=pure $(BIN)/python -m tools.compile_evaluator
	LOCKGATE_EVALUATOR=compiled LOCKGATE_TEST_DB=sqlite $(PYTEST) -q -p no:cacheprovider -m "not slow" tests/evaluation tests/compat

# Long statistical runs (A/A calibration) and the chaos run (two servers on PostgreSQL, one
# killed midway), left out of `make test`.
test-slow: $(STAMP)
	LOCKGATE_TEST_DB=sqlite LOCKGATE_TEST_PG_URL=$(PG_URL) $(BIN)/pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check src tests tools bench
	$(BIN)/ruff format --check src tests tools bench
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP) compiled
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	LOCKGATE_BENCH_PG_URL=$(PG_URL) $(BIN)/python -m bench

# Schemathesis against live servers on SQLite and PostgreSQL (tools/fuzz.py); not in `make test`.
fuzz: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,fuzz]'
	$(BIN)/python -m tools.fuzz $(FUZZ_ARGS)

docs: $(STAMP)
	$(BIN)/python tools/readme_operations.py

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache .coverage .fuzz $(PARTS)
