#!/usr/bin/env bash
# Rebuilds the shipped example bundles in bundles/ from the current policies/: TEST-SIGNED
# examples (signed with the published key in tests/keys/, approved with the two published test
# reviewer keys), never releases. Run it last, once the policy of a change is final and committed
# (the build records the last commit of policies/, or 'uncommitted').
#
#   scripts/build_example_bundles.sh            # version 2.0.0
#   VERSION=2.1.0 scripts/build_example_bundles.sh
#
# It replaces every stakegate-*.tar.gz and approval in bundles/: examples may be rebuilt, a real
# release never is (`stakegate bundle build` refuses to change an existing version). Keep
# deploy/opa-config.yaml and tests/test_deployment.py pointing at the version built here.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VERSION="${VERSION:-2.0.0}"
EFFECTIVE_DATE="${EFFECTIVE_DATE:-2026-01-01}"
APPROVED_ON="${APPROVED_ON:-2026-11-30}"
KEYS=tests/keys
SG=.venv/bin/stakegate
BUNDLE="bundles/stakegate-${VERSION}.tar.gz"
NOTICE="TEST-SIGNED EXAMPLE: signed with the published test key in tests/keys/ and approved with published test reviewer keys; not a release"

[ -x "$SG" ] || { echo "build_example_bundles: run ./scripts/setup.sh first" >&2; exit 1; }
if [ -n "$(git status --porcelain -- policies/)" ]; then
  echo "build_example_bundles: warning: policies/ has uncommitted changes" >&2
fi

rm -f bundles/stakegate-*.tar.gz bundles/stakegate-*.approval.json
"$SG" bundle build --version "$VERSION" --out bundles/ \
  --signing-key "$KEYS/stakegate-test-only.key.pem" \
  --author "stakegate example build" \
  --effective-date "$EFFECTIVE_DATE" \
  --notice "$NOTICE" \
  --changelog "Example bundle of the default policy (restricted regions, ownership threshold, exceptions) as of its source commit."
"$SG" bundle approve "$BUNDLE" --key "$KEYS/stakegate-test-only.pub.pem" \
  --reviewer "Example Reviewer A (test key)" --reviewer-key "$KEYS/reviewer-ed25519.key.pem" \
  --date "$APPROVED_ON" --note "TEST APPROVAL of an example bundle (Ed25519 test reviewer key)" >/dev/null
"$SG" bundle approve "$BUNDLE" --key "$KEYS/stakegate-test-only.pub.pem" \
  --reviewer "Example Reviewer B (test key)" --reviewer-key "$KEYS/reviewer-rsa.key.pem" \
  --date "$APPROVED_ON" --note "TEST APPROVAL of an example bundle (RSA test reviewer key)" >/dev/null

cat > bundles/README.md <<README
# Example bundles (TEST-SIGNED, not releases)

Written by \`scripts/build_example_bundles.sh\`; do not edit. \`stakegate-${VERSION}.tar.gz\` is the
default policy built with \`stakegate bundle build\` (gate passed: see \`tests\` and \`coverage\`
in its metadata), signed with the **published test key** \`tests/keys/stakegate-test-only.key.pem\`,
and approved (\`stakegate-${VERSION}.approval.json\`) with the two **published test reviewer
keys** in \`tests/keys/\`. Its signed metadata says so (\`notice\`). Anyone can sign with these keys:
never trust them in production (no stakegate setting defaults to them).

    stakegate bundle verify ${BUNDLE} --key tests/keys/stakegate-test-only.pub.pem
    stakegate check lotus-sg --registry examples/registry.yaml --policy ${BUNDLE} \\
        --key tests/keys/stakegate-test-only.pub.pem --require-approval --reviewer-keys tests/keys/reviewers/
README
echo "build_example_bundles: built and approved $BUNDLE"
