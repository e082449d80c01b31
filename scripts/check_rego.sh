#!/usr/bin/env bash
# Lint, type-check and test the Rego policy, as CI does: formatting, strict compile against the
# pinned capabilities, schema type checks, the test suite, and a coverage gate.
# Run from anywhere; OPA defaults to the project-local binary installed by scripts/setup.sh.
# Refresh the pinned capabilities only deliberately, when upgrading OPA:
#   .tools/bin/opa capabilities --current > build/opa-capabilities.json
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OPA="${OPA:-.tools/bin/opa}"
CAPABILITIES="build/opa-capabilities.json"
MIN_COVERAGE="${MIN_COVERAGE:-95}"

if ! command -v "$OPA" >/dev/null 2>&1; then
  echo "check_rego: OPA not found at $OPA; run ./scripts/setup.sh" >&2
  exit 1
fi
if [ ! -f "$CAPABILITIES" ]; then
  echo "check_rego: $CAPABILITIES is missing; generate it with:" >&2
  echo "  $OPA capabilities --current > $CAPABILITIES" >&2
  exit 1
fi

echo "== opa fmt"
unformatted="$("$OPA" fmt --list --fail policies/)" || {
  echo "check_rego: not formatted (fix with: $OPA fmt -w policies/):" >&2
  echo "$unformatted" >&2
  exit 1
}

echo "== opa check --strict --capabilities $CAPABILITIES"
"$OPA" check --strict --capabilities "$CAPABILITIES" policies/

echo "== opa check --strict --schema schemas/"
"$OPA" check --strict --schema schemas/ policies/

echo "== opa test"
"$OPA" test policies/ -v --timeout 60s

echo "== opa test --coverage (minimum ${MIN_COVERAGE}%)"
report="build/rego-coverage.json"
"$OPA" test policies/ --coverage --timeout 60s > "$report"
python3 - "$report" "$MIN_COVERAGE" <<'PY'
import json
import sys

path, minimum = sys.argv[1], float(sys.argv[2])
with open(path) as f:
    report = json.load(f)
for name, info in sorted(report.get("files", {}).items()):
    if not info:  # a file without rules, e.g. a package that only carries METADATA
        continue
    print(f"  {info.get('coverage', 0):6.2f}%  {name}")
    for span in info.get("not_covered", []):
        print(f"           not covered: lines {span['start']['row']}-{span['end']['row']}")
coverage = float(report.get("coverage", 0))
print(f"total coverage: {coverage:.2f}%")
if coverage < minimum:
    sys.exit(f"check_rego: coverage {coverage:.2f}% is below {minimum}% (report: {path})")
PY

echo "check_rego: ok"
