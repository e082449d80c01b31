"""How long ``stakegate changes`` takes on two large screenings, and how much memory it uses.

    .venv/bin/python bench/bench_changes.py --entities 1000000 --flips 10000

Writes two ``screen --format jsonl`` files of ``--entities`` decisions each, shaped like real
screenings (about 3% located in a restricted region, 5% denied or sent to review by ownership
with evidence paths, the rest allowed without reasons; names on every line), where exactly
``--flips`` entities change their decision (half allow -> deny, half deny -> allow), ``--gone``
disappear and as many appear. Then runs ``stakegate changes OLD NEW --format json --out FILE``
as a subprocess and prints the wall time and the peak resident memory of that process
(``ru_maxrss`` of the waited-for child), and checks that the report counts exactly the flips it
was given. The target: one million entities per file in under 30 s and under 2 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

STAKEGATE = Path(sys.executable).with_name("stakegate")
_POLICY = {"revision": "1.3.0+ef41c135d5", "method": "control", "threshold": 50, "comparison": ">"}
_ZERO = {"control": {"min": 0.0, "max": 0.0}, "look_through": {"min": 0.0, "max": 0.0}}


def _located(region: str) -> dict[str, Any]:
    return {
        "code": "restricted_jurisdiction",
        "severity": "deny",
        "field": "jurisdiction",
        "value": region,
        "region": region,
    }


def _owned(owner: str, entity: str, share: float) -> dict[str, Any]:
    edge = {"min": share, "max": share}
    return {
        "code": "restricted_ownership",
        "severity": "deny",
        "method": "control",
        "restricted_percent": edge | {"min_exclusive": False, "max_exclusive": False},
        "paths": [[owner, entity]],
        "evidence": [{"path": [owner, entity], "edges": [edge], "contribution": edge}],
    }


def _line(entity: str, outcome: str, reasons: list[dict[str, Any]]) -> str:
    doc = {
        "decision": outcome,
        "entity": entity,
        "name": f"Example Company {entity} (fictional)",
        "ownership": _ZERO,
        "policy": _POLICY,
        "reasons": reasons,
    }
    return json.dumps(doc, separators=(",", ":")) + "\n"


def _decision(rnd: random.Random, entity: str, sources: list[str]) -> tuple[str, list[Any]]:
    u = rnd.random()
    if u < 0.03:
        return "deny", [_located(rnd.choice(("CN", "RU", "KP", "IR")))]
    if u < 0.08:
        return "deny", [_owned(rnd.choice(sources), entity, round(rnd.uniform(51, 100), 2))]
    return "allow", []


def write_pair(n: int, flips: int, gone: int, workdir: Path, seed: int = 0) -> tuple[Path, Path]:
    """Two screenings of ``n`` entities with exactly ``flips`` flips and ``gone`` swapped out."""
    old_path, new_path = workdir / f"old-{n}.jsonl", workdir / f"new-{n}.jsonl"
    rnd = random.Random(seed)
    width = len(str(n))
    ids = [f"e{i:0{width}d}" for i in range(n)]
    sources = ids[: max(1, n // 100)]
    picked = rnd.sample(range(n), flips + gone)
    flipped, removed = set(picked[:flips]), set(picked[flips:])
    with old_path.open("w") as old, new_path.open("w") as new:
        for i, entity in enumerate(ids):
            outcome, reasons = _decision(rnd, entity, sources)
            if i in flipped:  # half allow -> deny, half deny -> allow
                before = "allow" if i % 2 else "deny"
                reasons = [_owned(rnd.choice(sources), entity, 60.0)]
                if before == "allow":
                    old.write(_line(entity, "allow", []))
                    new.write(_line(entity, "deny", reasons))
                else:
                    old.write(_line(entity, "deny", reasons))
                    new.write(_line(entity, "allow", []))
                continue
            old.write(_line(entity, outcome, reasons))
            if i in removed:
                new.write(_line(f"new-{entity}", outcome, reasons))  # one gone, one new
            else:
                new.write(_line(entity, outcome, reasons))
    return old_path, new_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entities", type=int, default=1_000_000)
    parser.add_argument("--flips", type=int, default=10_000)
    parser.add_argument("--gone", type=int, default=1_000)
    parser.add_argument("--workdir", type=Path, default=Path("build/bench-changes"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    old, new = write_pair(args.entities, args.flips, args.gone, args.workdir)
    size = (old.stat().st_size + new.stat().st_size) / 1e6
    print(f"wrote {args.entities:,} x 2 decisions ({size:,.0f} MB) in "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    report = args.workdir / "changes.json"
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(STAKEGATE), "changes", str(old), str(new), "--format", "json", "--out", str(report)],
        stderr=subprocess.PIPE,
        text=True,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    stderr = proc.stderr.read() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"stakegate changes failed:\n{stderr}")
    doc = json.loads(report.read_text())
    counted = sum(doc["impact"].values())
    summary = doc["summary"]
    ok = (counted, summary["appeared"], summary["disappeared"]) == (
        args.flips,
        args.gone,
        args.gone,
    )
    print(
        f"changes: {args.entities:,} entities, {counted:,} flips {doc['impact']}, "
        f"{summary['appeared']:,} appeared, {summary['disappeared']:,} disappeared: "
        f"{wall:.1f} s wall, {usage.ru_utime + usage.ru_stime:.1f} s CPU, peak RSS "
        f"{usage.ru_maxrss / 1024:,.0f} MiB; counts {'match' if ok else 'DO NOT MATCH'}"
    )
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
