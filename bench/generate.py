"""Synthetic registers shaped like real ownership data, for benchmarks at any size.

Real registers are sparse and skewed: a few holding companies own many subsidiaries, groups
form long chains, a small share of companies hold each other, and a minority of shares are only
known as a band. ``generate`` draws such a register (seeded, so runs are comparable):

* about 2 owners per entity, owners drawn with a power-law bias towards early "hub" entities,
  and 30% of edges continuing a holding chain from the previous entity;
* about 1% cross-holdings (an entity holding a few percent of one of its owners, in its group);
* 3% of entities restricted (CN/RU/KP/IR), 0.5% with no jurisdiction (unknown);
* 10% of shares are bands ``{min, max}``;
* every entity's incoming shares sum below 100 (max bounds included), so no cycle is closed and
  the registry loader accepts it;
* with ``designations`` (e.g. 0.03), that share of entities is on a sanctions list (the lists the
  regimes name, a fifth of them on two lists), a tenth of those delisted before 2026, drawn from
  a separate random stream so the rest of the register is the same as without.

``python bench/generate.py 100000 out.json`` writes a native registry (JSON, or YAML when the
name ends in ``.yaml``/``.yml``) for end-to-end benchmarks.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stakegate.ownership.graph import Status
from stakegate.ownership.interval import Interval

RESTRICTED = ("CN", "RU", "KP", "IR", "RU-MOW")
LISTS = ("us_ofac_sdn", "eu_fsf", "gb_fcdo_sanctions", "us_bis_entity_list", "us_bis_meu_list")
CLEAR = ("SG", "GB", "US", "DE", "KY", "NL", "LU", "HK", "JP", "CH", "VG", "IE")


@dataclass
class Synthetic:
    """A generated register: parallel per-entity lists and ``(owner, owned, share)`` edges."""

    ids: list[str]
    jurisdiction: list[str | None]
    status: list[Status]
    edges: list[tuple[str, str, Interval]]
    designations: dict[int, list[dict[str, str]]] | None = None


def generate(
    n: int, seed: int = 0, hub_cycles: bool = False, designations: float = 0.0
) -> Synthetic:
    """A register of ``n`` entities and about ``2 n`` ownership edges."""
    rnd = random.Random(seed)
    width = len(str(n))
    ids = [f"e{i:0{width}d}" for i in range(n)]
    jurisdiction: list[str | None] = []
    status: list[Status] = []
    for _ in range(n):
        u = rnd.random()
        if u < 0.03:
            jurisdiction.append(rnd.choice(RESTRICTED))
            status.append(Status.RESTRICTED)
        elif u < 0.035:
            jurisdiction.append(None)
            status.append(Status.UNKNOWN)
        else:
            jurisdiction.append(rnd.choice(CLEAR))
            status.append(Status.CLEAR)
    edges: list[tuple[str, str, Interval]] = []
    room = [100.0] * n  # share of each entity not yet given to an owner
    for d in range(1, n):
        count = min(d, rnd.choice((1, 1, 2, 2, 2, 3, 3, 4)))
        owners: set[int] = set()
        if rnd.random() < 0.3:
            owners.add(d - 1)  # continue a holding chain
        while len(owners) < count:
            owners.add(int(d * rnd.random() ** 3))  # power law: early entities are hubs
        budget = rnd.uniform(20.0, 90.0)
        weights = [rnd.random() + 0.05 for _ in owners]
        scale = budget / sum(weights)
        for o, w in zip(sorted(owners), weights, strict=True):
            share = round(w * scale, 2)
            if share <= 0.0:
                continue
            room[d] -= share
            edges.append((ids[o], ids[d], _maybe_band(rnd, share)))
    # Cross-holdings, about 1% of entities: inside a group (an entity near its owner in the
    # numbering, as chains are), an entity takes a few percent of its owner. Cycles stay small,
    # as in real registers; ``hub_cycles`` also lets hubs be held back, which ties many groups
    # into one large component (a stress test for the iterative solver).
    holder_of: dict[int, int] = {}
    index = {x: i for i, x in enumerate(ids)}
    for owner, owned, _ in edges:
        o, d = index[owner], index[owned]
        if (hub_cycles or d - o <= 10) and rnd.random() < 0.035:
            holder_of.setdefault(o, d)
    for o, d in holder_of.items():
        share = round(min(5.0, room[o] - 1.0), 2)
        if share > 0.0:
            room[o] -= share
            edges.append((ids[d], ids[o], Interval.exact(share)))
    return Synthetic(ids, jurisdiction, status, edges, _designations(n, seed, designations))


def _designations(n: int, seed: int, share: float) -> dict[int, list[dict[str, str]]] | None:
    if share <= 0.0:
        return None
    rnd = random.Random(f"designations-{seed}")
    out: dict[int, list[dict[str, str]]] = {}
    for i in range(n):
        if rnd.random() >= share:
            continue
        lists = rnd.sample(LISTS, 2 if rnd.random() < 0.2 else 1)
        year = rnd.randint(2014, 2025)
        out[i] = []
        for name in lists:
            item = {"list": name, "since": f"{year}-{rnd.randint(1, 12):02d}-01"}
            if rnd.random() < 0.1:
                item["until"] = f"{year + 1}-06-30"
            out[i].append(item)
    return out


def _maybe_band(rnd: random.Random, share: float) -> Interval:
    if rnd.random() < 0.1:
        return Interval(round(share * rnd.uniform(0.5, 0.9), 2), share)
    return Interval.exact(share)


def registry_document(reg: Synthetic) -> dict[str, Any]:
    """The register in the native registry format (``schemas/registry.schema.json``)."""
    entities: list[dict[str, Any]] = []
    for i, entity_id in enumerate(reg.ids):
        record: dict[str, Any] = {"id": entity_id, "type": "company"}
        if reg.jurisdiction[i] is not None:
            record["jurisdiction"] = reg.jurisdiction[i]
        if reg.designations and i in reg.designations:
            record["designations"] = reg.designations[i]
        entities.append(record)
    ownership = [
        {
            "owner": owner,
            "owned": owned,
            "percent": share.min
            if share.min == share.max
            else {"min": share.min, "max": share.max},
        }
        for owner, owned, share in reg.edges
    ]
    return {"entities": entities, "ownership": ownership}


def write_registry(reg: Synthetic, path: Path) -> None:
    """Write the register as JSON, or YAML for a ``.yaml``/``.yml`` name."""
    doc = registry_document(reg)
    with path.open("w") as out:
        if path.suffix in (".yaml", ".yml"):
            import yaml

            dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
            yaml.dump(doc, out, Dumper=dumper, sort_keys=False)
        else:
            json.dump(doc, out, separators=(",", ":"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a synthetic registry file.")
    parser.add_argument("entities", type=int, help="number of entities")
    parser.add_argument("out", type=Path, help="output file (.json, .yaml or .yml)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hub-cycles", action="store_true", help="one large cyclic component")
    parser.add_argument(
        "--designations", type=float, default=0.0, help="share of entities on a list (0.03: 3%%)"
    )
    args = parser.parse_args(argv)
    reg = generate(args.entities, args.seed, args.hub_cycles, args.designations)
    write_registry(reg, args.out)
    print(f"{args.out}: {len(reg.ids)} entities, {len(reg.edges)} holdings", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
