"""Data faults of a registry as of a day, and the registry view that leaves them out.

Faults are facts about the holdings that count on a day: two records of one holding that ended
and started again are history, two that overlap are a duplicate. ``registry_as_of`` therefore
keeps the records live on a day (every record when no day is given) and collects the faults
among them, each as a :class:`DataFault` naming its records: self-ownership, duplicate holdings
(two records of one interest type for one owner and owned entity, unless they say they are one
interest by a shared ``interest_id``), and owners of one entity whose minimum shares add up to
more than 100. Closed cycles are found with the graph (``policy.facts``).
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any, Final

from stakegate.registry.model import DataFault, Holding, InterestType, Registry, pair_shares

__all__ = ["FaultScan", "registry_as_of"]

# Owners listed when the shares of one entity add up to more than 100.
MAX_LISTED_OWNERS: Final = 10
# Owners' minimum shares of one entity may exceed 100 by this much (float noise) before it is a
# fault. Fixed, unlike the policy's percent_tolerance: this checks data, not a decision.
SUM_TOLERANCE: Final = 1e-9


def registry_as_of(registry: Registry, day: date | None, *, clean: bool = False) -> Registry:
    """``registry`` as of ``day``: the holdings live on it (all of them for None), less the
    faulty ones, and the faults. A registry without dated records gives the same holdings and
    faults on every day, so its existing view is reused. ``clean``: a ``FaultScan`` of all its
    records found none that can be a fault, so none is looked for."""
    records = registry.all_records
    if registry.records is not None and registry.dated is False:
        return Registry(
            registry.source, registry.entities, registry.holdings, registry.faults, records, day
        )
    live = records if day is None else [h for h in records if h.is_live(day)]
    holdings, faults = (list(live), []) if clean else _without_faults(live)
    dated = registry.dated if registry.dated is not None else any(h.is_dated for h in records)
    return Registry(registry.source, registry.entities, holdings, faults, records, day, dated)


class FaultScan:
    """Whether ownership records as read (mappings the record check passed) may hold a data
    fault, over all of them: a test that may err only towards "may".

    ``_without_faults`` costs a 1M register about 4 s in the process that builds the model; this
    scan runs where the records are checked (a forked child, ``registry.load``). It answers
    "may" for any record owning itself, any repeated (owner, owned, interest) key (or a hash
    collision of two keys, or a repeat that shares an ``interest_id``), and any owned entity
    whose owners' minimum shares, summed over records in record order as ``_oversubscribed``
    sums them, reach ``100 - SUM_TOLERANCE``.
    """

    __slots__ = ("_keys", "_totals", "may")

    def __init__(self) -> None:
        self._keys: set[int] = set()  # hashes of the keys: a tenth of the memory of the keys
        self._totals: dict[str, float] = {}
        self.may = False

    def add(self, records: list[dict[str, Any]]) -> None:
        keys, totals = self._keys, self._totals
        for rec in records:
            if self.may:
                return
            owner, owned = rec["owner"], rec["owned"]
            key = hash((owner, owned, rec.get("interest", "shares")))
            self.may = owner == owned or key in keys
            keys.add(key)
            percent = rec.get("percent")
            if percent is not None:
                low = percent["min"] if type(percent) is dict else percent
                totals[owned] = totals.get(owned, 0.0) + float(low)

    def may_have_faults(self) -> bool:
        return self.may or any(map(_suspect, self._totals.values()))


def _suspect(total: float) -> bool:
    """Whether owners' minimum shares summed plainly over records (an upper bound on the sum
    over pairs) may make an oversubscription fault: the one rule of ``_oversubscribed``'s
    first pass and of ``FaultScan``."""
    return total >= 100 - SUM_TOLERANCE


def _without_faults(records: list[Holding]) -> tuple[list[Holding], list[DataFault]]:
    """The records that count, and the faults of the ones that do not (and of the sums)."""
    holdings: list[Holding] = []
    faults: list[DataFault] = []
    edges: dict[tuple[str, str, InterestType], int] = {}
    append = holdings.append
    for holding in records:
        owner, owned = holding.owner, holding.owned
        if owner == owned:
            msg = f"an entity cannot own itself ({owner!r})"
            faults.append(DataFault("self_ownership", owned, (_label(holding),), msg))
            continue
        first = edges.setdefault((owner, owned, holding.interest), len(holdings))
        if first != len(holdings):
            fault = _duplicate(holdings[first], holding)
            if fault is not None:
                faults.append(fault)
            continue
        append(holding)
    return holdings, faults + _oversubscribed(holdings)


def _label(h: Holding) -> str:
    return f"ownership[{h.record}] ({h.owner} -> {h.owned})"


def _duplicate(first: Holding, again: Holding) -> DataFault | None:
    """None when ``again`` is ``first`` reported twice (same ``interest_id``); else a fault."""
    if first.interest_id is not None and first.interest_id == again.interest_id:
        return None
    msg = (
        f"duplicate holding, {again.owner!r} already owns {again.owned!r} at "
        f"ownership[{first.record}]; give one share (a band if uncertain), or the same "
        "interest_id if both records report one interest"
    )
    return DataFault("duplicate_holding", again.owned, (_label(first), _label(again)), msg)


def _oversubscribed(holdings: list[Holding]) -> list[DataFault]:
    """Owners of one entity whose minimum shares add up to more than 100 percent."""
    # A plain sum over records can only exceed the sum over pairs (a pair's records of other
    # interest types count once, by their larger bounds): it finds every suspect in one pass,
    # and the exact sum is taken for the suspects alone.
    totals: dict[str, float] = {}
    get = totals.get
    for h in holdings:
        if h.share is not None:
            totals[h.owned] = get(h.owned, 0.0) + h.share.min
    suspects = {k for k, v in totals.items() if _suspect(v)}
    if not suspects:
        return []
    by_owned: dict[str, list[Holding]] = {}
    for h in holdings:
        if h.owned in suspects and h.share is not None:
            by_owned.setdefault(h.owned, []).append(h)
    pairs = pair_shares([h for hs in by_owned.values() for h in hs], None)
    out = []
    for owned, hs in by_owned.items():
        owners = list(dict.fromkeys(h.owner for h in hs))
        shares = [pairs[o, owned] for o in owners]
        total = math.fsum(s.min for s in shares)
        exclusive = any(s.min_exclusive for s in shares)
        if total <= 100 + SUM_TOLERANCE and not (exclusive and total >= 100 - SUM_TOLERANCE):
            continue
        first = {h.owner: h for h in reversed(hs)}
        shown = owners[:MAX_LISTED_OWNERS]
        parts = ", ".join(
            f"{_label(first[o])} {'more than ' if s.min_exclusive else ''}{s.min:g}"
            for o, s in zip(shown, shares, strict=False)
        )
        if len(owners) > len(shown):
            parts += f", and {len(owners) - len(shown)} more"
        if total > 100 + SUM_TOLERANCE:
            held = f"at least {total:g} percent between them, more than 100"
        else:
            held = f"more than 100 percent between them ({total:g}, with exclusive bounds)"
        msg = f"owners of {owned!r} hold {held}: {parts}"
        records = tuple(_label(h) for h in hs)
        details = {"total_percent": total, "exclusive": exclusive}
        out.append(DataFault("oversubscribed", owned, records, msg, details))
    return out
