"""What finding the flips of a service reload costs, on a synthetic registry.

    .venv/bin/python bench/bench_flips.py --entities 20000

Runs the decision service in-process (``DecisionService``, a private OPA on the shipped policy,
an audit log in a temporary directory) on a ``bench/generate.py`` registry and times:

* start-up: building the snapshot, and screening every entity's outcome (the baseline);
* a reload of the same file (same revision and date, identical facts: nothing is decided);
* a reload where ``--changed`` percent of the entities move to or from a restricted country
  (their facts change, and those of what they own: only those are decided);
* a reload under another policy revision (the policy with ``ownership_threshold`` 49): every
  entity is decided again, the cost a naive implementation pays on every reload.

Each line prints the wall time, the entities OPA decided for the flips, the flips found, and
the time spent deciding them (``stakegate_flip_screening_seconds``). The machine may be shared:
compare numbers from one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import CLEAR, RESTRICTED, generate, registry_document  # noqa: E402
from stakegate.service.config import ServiceConfig  # noqa: E402
from stakegate.service.core import DecisionService  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def _histogram_sum(service: DecisionService) -> float:
    value = service.metrics.registry.get_sample_value("stakegate_flip_screening_seconds_sum")
    return float(value or 0.0)


def _last_reload(log: Path) -> dict[str, Any]:
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    return next(line for line in reversed(lines) if line["type"] == "reload")


async def _reload(service: DecisionService, label: str, log: Path) -> None:
    spent = _histogram_sum(service)
    started = time.perf_counter()
    await service.reload(label)
    wall = time.perf_counter() - started
    record = _last_reload(log)
    print(
        f"{label:<34} {wall:7.2f} s wall  decided {record['decided']:>7}  "
        f"flips {record['flips']:>6}  deciding {_histogram_sum(service) - spent:6.2f} s"
    )


async def run(args: argparse.Namespace, work: Path) -> None:
    reg = generate(args.entities, seed=args.seed)
    doc = registry_document(reg)
    registry = work / "registry.json"
    registry.write_text(json.dumps(doc))
    policy = work / "policies"
    shutil.copytree(REPO / "policies", policy)
    log = work / "audit.log"
    service = DecisionService(
        ServiceConfig(registry=registry, policy=policy, audit_log=log, allow_anonymous=True)
    )
    started = time.perf_counter()
    await service.start()
    wall = time.perf_counter() - started
    print(
        f"{'start-up (snapshot + baseline)':<34} {wall:7.2f} s wall  decided "
        f"{args.entities:>7}  {'':12}  deciding {_histogram_sum(service):6.2f} s"
    )
    try:
        await _reload(service, "reload, file unchanged", log)
        rnd = random.Random(args.seed + 1)
        picked = rnd.sample(range(args.entities), max(1, args.entities * args.changed // 100))
        for i in picked:
            entity = doc["entities"][i]
            was = entity.get("jurisdiction")
            entity["jurisdiction"] = rnd.choice(CLEAR if was in RESTRICTED else RESTRICTED)
        registry.write_text(json.dumps(doc))
        await _reload(service, f"reload, {args.changed}% of entities moved", log)
        config = policy / "stakegate" / "config" / "data.json"
        params = json.loads(config.read_text())
        params["ownership_threshold"] = 49
        config.write_text(json.dumps(params, indent=2))
        await _reload(service, "reload, new policy revision", log)
    finally:
        await service.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=20_000)
    parser.add_argument("--changed", type=int, default=1, help="percent of entities moved")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-flips-") as tmp:
        asyncio.run(run(args, Path(tmp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
