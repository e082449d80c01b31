"""How long both ownership methods take on registers of realistic shape, and how much memory.

    .venv/bin/python bench/bench_ownership.py --sizes 10000,100000,1000000

For each size: graph build time, compute time (both methods, all entities), evidence time for
every entity with a positive share, and the peak resident memory of the process so far
(``ru_maxrss``; sizes run in increasing order, so it is the peak of the largest size yet).
The target is one million entities and two million edges in under 20 s and 4 GB.
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import generate  # noqa: E402
from stakegate.ownership.compute import METHODS, compute_ownership  # noqa: E402
from stakegate.ownership.graph import OwnershipGraph  # noqa: E402
from stakegate.ownership.interval import Threshold  # noqa: E402


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(n: int, seed: int, evidence_limit: int, hub_cycles: bool) -> None:
    t0 = time.perf_counter()
    reg = generate(n, seed, hub_cycles)
    t1 = time.perf_counter()
    graph = OwnershipGraph.build(reg.ids, reg.edges)
    t2 = time.perf_counter()
    result = compute_ownership(graph, reg.status, Threshold(50))
    t3 = time.perf_counter()
    positive = [
        (x, method) for x in range(n) for method in METHODS if result.share(x, method).max > 0.0
    ]
    sample = positive if evidence_limit <= 0 else positive[:evidence_limit]
    paths = 0
    for x, method in sample:
        paths += len(result.evidence(x, method))
    t4 = time.perf_counter()
    comps = graph.components()
    denied = sum(1 for x in range(n) if Threshold(50).lower_crosses(result.control(x).min))
    print(
        f"n={n:>9,} edges={graph.edge_count:>9,} cyclic_components={sum(comps.cyclic):>6,} "
        f"generate={t1 - t0:6.2f}s build={t2 - t1:6.2f}s compute={t3 - t2:6.2f}s "
        f"evidence={t4 - t3:6.2f}s ({len(sample):,} of {len(positive):,} entity-methods, "
        f"{paths:,} paths) peak_rss={_peak_mib():,.0f}MiB control_denied={denied:,}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated entity counts")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--evidence-limit",
        type=int,
        default=0,
        help="compute evidence for at most this many entity-methods (0: all with a share)",
    )
    parser.add_argument(
        "--hub-cycles",
        action="store_true",
        help="let cross-holdings reach hubs: one large cyclic component (iterative solver)",
    )
    args = parser.parse_args(argv)
    for n in sorted(int(s) for s in args.sizes.split(",")):
        run(n, args.seed, args.evidence_limit, args.hub_cycles)
        gc.collect()
    return 0


if __name__ == "__main__":
    sys.exit(main())
