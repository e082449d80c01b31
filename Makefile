# Every target installs what it needs first (scripts/setup.sh is idempotent and fast).
VENV := .venv/bin
OPA := .tools/bin/opa

.PHONY: setup demo test test-rego typecheck lint lint-rego check bench release-check

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

# Release review only (never part of `check`): does policies/stakegate/config/data.json hold the
# parameters of the latest approved release in bundles/? Trust comes from KEY and REVIEWER_KEYS
# (or STAKEGATE_BUNDLE_PUBLIC_KEY / STAKEGATE_REVIEWER_KEYS); nothing is trusted by default.
release-check: setup
	$(VENV)/stakegate bundle check-config $(if $(KEY),--key $(KEY)) \
		$(if $(REVIEWER_KEYS),--reviewer-keys $(REVIEWER_KEYS))

bench: setup
	$(VENV)/python bench/bench_ownership.py
