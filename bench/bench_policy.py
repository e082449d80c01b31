"""OPA's own cost per entity for ``data.stakegate.main.decisions``, on realistic facts.

    .venv/bin/python bench/bench_policy.py [--entities 10000] [--batches 2000,5000] [--policy DIR]

Builds the facts of a synthetic register (``generate.py``) with ``stakegate.facts``, exactly
as ``stakegate screen`` sends them, starts ``opa run --server`` on the policy, and POSTs batches
to ``/v1/data/stakegate/main/decisions?metrics=true``. For each batch size it prints OPA's
evaluation time per entity (``timer_rego_query_eval_ns``: no JSON parsing or transfer), the
server time per entity (``timer_server_handler_ns``: with decoding the input and encoding the
answer) and the client's round-trip per entity, each the median over ``--repeat`` requests.
A trivial comprehension over the same input (``--baseline``) gives the floor.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import generate, write_registry  # noqa: E402
from stakegate.policy.client import PolicyClient  # noqa: E402
from stakegate.policy.pipeline import Connection, Pipeline, today  # noqa: E402
from stakegate.policy.runtime import LocalOpa  # noqa: E402
from stakegate.registry.load import load_registry  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

# The floor: one trivial object per entity, built by a comprehension over the same input.
_BASELINE = """package stakegate_bench

decisions := [{"entity": e.id, "decision": "allow"} | some e in input.entities]
"""


def _facts_batches(n: int, seed: int, sizes: list[int], policy: Path) -> dict[int, bytes]:
    """One request body per batch size: the first ``size`` entities' facts, as JSON."""
    with tempfile.TemporaryDirectory(prefix="stakegate-bench-") as tmp:
        path = Path(tmp) / "register.json"
        write_registry(generate(n, seed), path)
        registry = load_registry(path)
    with LocalOpa(policy) as opa:
        client = PolicyClient(opa.url)
        view = Connection(client, opa.revision).view
        client.close()
    pipeline = Pipeline(view, registry, today())
    ids = list(registry.entities)
    return {size: pipeline.body(pipeline.encoded(ids[:size])) for size in sizes}


def _measure(url: str, body: bytes, repeat: int) -> tuple[float, float, float, int]:
    """Median eval, server and round-trip nanoseconds over ``repeat`` requests, and the count."""
    evals, handlers, walls = [], [], []
    count = 0
    with requests.Session() as session:
        for _ in range(repeat + 1):  # the first request warms OPA up and is not counted
            started = time.perf_counter_ns()
            response = session.post(url, data=body, params={"metrics": "true"}, timeout=600)
            wall = time.perf_counter_ns() - started
            response.raise_for_status()
            doc = response.json()
            if "result" not in doc:
                raise SystemExit(f"{url}: undefined result")
            count = len(doc["result"])
            metrics = doc["metrics"]
            evals.append(metrics["timer_rego_query_eval_ns"])
            handlers.append(metrics.get("timer_server_handler_ns", wall))
            walls.append(wall)
    return (
        statistics.median(evals[1:]),
        statistics.median(handlers[1:]),
        statistics.median(walls[1:]),
        count,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=10000, help="register size")
    parser.add_argument("--batches", default="2000,5000", help="comma-separated batch sizes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=5, help="timed requests per batch size")
    parser.add_argument("--policy", type=Path, default=REPO / "policies")
    parser.add_argument("--baseline", action="store_true", help="also time a trivial policy")
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.batches.split(","))
    if max(sizes) > args.entities:
        parser.error("a batch is larger than the register")
    bodies = _facts_batches(args.entities, args.seed, sizes, args.policy)
    targets = [("stakegate.main.decisions", args.policy)]
    baseline_dir = None
    if args.baseline:
        baseline_dir = tempfile.TemporaryDirectory(prefix="stakegate-bench-baseline-")
        Path(baseline_dir.name, "baseline.rego").write_text(_BASELINE)
        targets.append(("stakegate_bench.decisions", Path(baseline_dir.name)))
    try:
        for query, policy in targets:
            with LocalOpa(policy) as opa:
                url = f"{opa.url}/v1/data/{query.replace('.', '/')}"
                for size in sizes:
                    evaluated, handled, wall, count = _measure(url, bodies[size], args.repeat)
                    if count != size:
                        raise SystemExit(f"{query}: {count} decisions for {size} entities")
                    print(
                        f"{query:<26} batch={size:>5} eval={evaluated / size / 1e3:7.1f}us/entity "
                        f"server={handled / size / 1e3:7.1f}us/entity "
                        f"round_trip={wall / size / 1e3:7.1f}us/entity "
                        f"({len(bodies[size]) / size:,.0f} B/entity in)",
                        flush=True,
                    )
    finally:
        if baseline_dir is not None:
            baseline_dir.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
