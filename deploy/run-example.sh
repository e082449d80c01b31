#!/usr/bin/env bash
# The distributed example of docs/DEPLOYMENT.md on one machine, all on loopback:
# a static bundle server, two OPA replicas polling it for the signed bundle, and one stakegate
# decision service per replica. Ctrl-C stops everything. tests/test_deployment.py runs the same
# setup with free ports.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OPA="${OPA:-.tools/bin/opa}"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' EXIT

# 1. Bundle server: any static HTTP server that serves bundles/ works.
.venv/bin/python -m http.server 8888 --bind 127.0.0.1 --directory "$ROOT" >/tmp/bundle-server.log 2>&1 &
pids+=($!)

# 2. OPA replicas: each downloads bundles/stakegate-2.0.0.tar.gz (a TEST-SIGNED example),
#    verifies its signature with the key in deploy/opa-config.yaml, and polls every 10-20 s.
for port in 8281 8282; do
  GOGC=400 "$OPA" run --server --addr "127.0.0.1:$port" -c deploy/opa-config.yaml >"/tmp/opa-$port.log" 2>&1 &
  pids+=($!)
done
for port in 8281 8282; do
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/health?bundles" >/dev/null && break
    sleep 0.2
  done
  curl -sf "http://127.0.0.1:$port/health?bundles" >/dev/null || { echo "OPA :$port not ready" >&2; exit 1; }
  echo "OPA replica :$port has the bundle"
done

# 3. One decision from each replica, through the CLI. With --require-approval, stakegate
#    verifies the bundle and its approvals itself and requires the replica to report that
#    bundle's revision (the replica verified the signature with its own key). TEST keys here.
TRUST=(--policy bundles/stakegate-2.0.0.tar.gz --key tests/keys/stakegate-test-only.pub.pem
       --require-approval --reviewer-keys tests/keys/reviewers/)
for port in 8281 8282; do
  .venv/bin/stakegate check lotus-sg --registry examples/registry.yaml \
    --opa-url "http://127.0.0.1:$port" "${TRUST[@]}" --format text
done

# 4. One stakegate service per replica (a sidecar pair), each with its own audit log.
.venv/bin/stakegate serve --registry examples/registry.yaml --opa-url http://127.0.0.1:8281 \
  "${TRUST[@]}" --addr 127.0.0.1:8001 --audit-log /tmp/stakegate-8001.audit.log &
pids+=($!)
.venv/bin/stakegate serve --registry examples/registry.yaml --opa-url http://127.0.0.1:8282 \
  "${TRUST[@]}" --addr 127.0.0.1:8002 --audit-log /tmp/stakegate-8002.audit.log &
pids+=($!)
echo "stakegate on :8001 and :8002; try:"
echo "  curl -s -H 'content-type: application/json' -d '{\"entity\": \"lotus-sg\"}' http://127.0.0.1:8001/v1/decisions"
wait
