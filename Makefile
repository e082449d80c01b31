# Every target installs what it needs first (scripts/setup.sh is idempotent and fast).
VENV := .venv/bin
OPA := .tools/bin/opa

.PHONY: setup demo test test-rego typecheck lint lint-rego check bench

setup:
	./scripts/setup.sh

demo: setup
	$(VENV)/stakegate screen --registry examples/registry.yaml --format table

test: setup
	$(VENV)/pytest

lint-rego: setup
	OPA=$(OPA) ./scripts/check_rego.sh

typecheck: setup
	$(VENV)/mypy

lint: setup
	$(VENV)/ruff check engine tests bench
	$(VENV)/ruff format --check engine tests bench

check: lint-rego lint typecheck test

bench: setup
	$(VENV)/python bench/bench_ownership.py
