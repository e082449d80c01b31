#!/usr/bin/env bash
# Lint, type-check and test the Rego policy: exactly the gate `stakegate bundle build` enforces
# before it signs anything (one implementation, engine/stakegate/bundles/gate.py):
# opa fmt, opa check --strict against the pinned capabilities and against schemas/, opa test,
# the coverage gate (STAKEGATE_REGO_MIN_COVERAGE, default 95) and parameter validation
# (data.stakegate.params.problems empty).
# OPA defaults to the project-local binary installed by scripts/setup.sh (override with OPA=...).
# Refresh the pinned capabilities only deliberately, when upgrading OPA:
#   .tools/bin/opa capabilities --current > build/opa-capabilities.json
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ -n "${OPA:-}" ]; then
  STAKEGATE_OPA_BINARY="$(command -v "$OPA" || echo "$OPA")"
  export STAKEGATE_OPA_BINARY
fi
if [ ! -x .venv/bin/stakegate ]; then
  echo "check_rego: .venv/bin/stakegate not found; run ./scripts/setup.sh" >&2
  exit 1
fi
exec .venv/bin/stakegate bundle gate --policy policies/
