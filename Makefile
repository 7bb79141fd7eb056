# The two commands a fresh machine needs: `make demo` and `make test`. Both bootstrap .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test fuzz bench bench-day lint java clean

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' || \
		{ echo "parity needs Python 3.11 as '$(PYTHON)'; run: make PYTHON=/path/to/python3.11"; exit 2; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	@touch $@

java:
	@command -v java >/dev/null 2>&1 || { echo "java not found: Spark needs Java 17 (apt-get install openjdk-17-jre-headless)"; exit 2; }

demo: $(STAMP) java
	$(BIN)/python -m parity.demo

test: $(STAMP) java
	$(BIN)/ruff check parity tests bench
	$(BIN)/mypy --strict parity
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -q

# The whole fuzz corpus and every kill -9 point (make test runs a bounded sample of both).
fuzz: $(STAMP) java
	PARITY_FUZZ=full $(BIN)/python -m pytest -q -k "fuzz or kill or one_pass or corpus_agrees" tests

bench: $(STAMP) java
	$(BIN)/python -m bench

# A day at 3,300 events a minute (4.8M events): generate, stream --mode fast per feature, run --all (~25 min here).
bench-day: $(STAMP) java
	$(BIN)/python -m bench.day_bench

lint: $(STAMP)
	$(BIN)/parity lint

clean:
	rm -rf $(VENV) data reports/*/ spark-warehouse
