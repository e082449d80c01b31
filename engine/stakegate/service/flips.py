"""Which decisions flipped on a reload, computed without deciding the whole registry twice.

A decision depends only on the facts OPA is sent, the date and the policy. Each snapshot keeps
the outcome of every entity, one byte each in registry order (``Snapshot.outcomes``): at start-up
from a screening of every entity, on a reload from the old snapshot's outcomes wherever the new
one has the same known policy revision, the same date and byte-identical facts (their SHA-256),
and from OPA, through the new snapshot's ``Pipeline``, for every other entity. A new revision or
date (the day changed) decides every entity again; an unchanged registry decides none.

Entities decided go to OPA in chunks of ``opa_chunk``, one query at a time, so live decisions
keep most of OPA; any failure raises and the reload fails (the old snapshot keeps serving), so
flips are never silently missed. A flip keeps the new decision's reasons as canonical JSON bytes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson

from stakegate.policy.decision import Decision
from stakegate.service.snapshot import Snapshot

__all__ = [
    "OUTCOMES",
    "Comparison",
    "Flip",
    "change_records",
    "compare",
    "reload_info",
    "screen_outcomes",
]

# Outcome codes of ``Snapshot.outcomes``; 0 is "not decided".
_CODES: Final = {"allow": 1, "deny": 2, "review": 3}
OUTCOMES: Final = (None, "allow", "deny", "review")
# What a snapshot's revision is when a remote OPA names none (snapshot.build_snapshot).
UNKNOWN_REVISION: Final = "unknown"


@dataclass(frozen=True, slots=True)
class Flip:
    """An entity whose outcome differs between two snapshots; ``before`` is None for an entity
    new to the registry, ``after`` (and its reasons) None for one no longer in it."""

    entity: str
    before: str | None
    after: str | None
    reasons_after: bytes | None


@dataclass(frozen=True, slots=True)
class Comparison:
    """The new snapshot's outcomes, the flips, and how many entities OPA decided for them."""

    outcomes: bytearray
    flips: list[Flip]
    decided: int


async def _decide(snapshot: Snapshot, ids: Sequence[str], chunk: int) -> AsyncIterator[Decision]:
    """Verified decisions for ``ids``, in order, ``chunk`` per query, one query at a time."""
    pipeline = snapshot.pipeline
    for start in range(0, len(ids), chunk):
        batch = list(ids[start : start + chunk])
        query = pipeline.query(batch, snapshot.encoded)
        answer = await snapshot.opa.query(query.entrypoint, query.body)
        for decision in pipeline.verify(answer, query):
            yield decision


async def screen_outcomes(snapshot: Snapshot, chunk: int) -> bytearray:
    """The outcome of every entity of ``snapshot``, in registry order."""
    ids = list(snapshot.facts)
    outcomes = bytearray(len(ids))
    i = 0
    async for decision in _decide(snapshot, ids, chunk):
        outcomes[i] = _CODES[decision["decision"]]
        i += 1
    return outcomes


async def compare(old: Snapshot, new: Snapshot, chunk: int) -> Comparison:
    """The outcomes of ``new`` and the flips from ``old``, deciding only what may have changed."""
    before = old.outcomes
    if before is None:
        raise ValueError("the old snapshot has no outcomes")
    reuse = (
        old.revision == new.revision
        and old.revision != UNKNOWN_REVISION  # a remote OPA naming no revision may change
        and old.pipeline.as_of == new.pipeline.as_of
    )
    old_pos = {entity: i for i, entity in enumerate(old.facts)}
    ids = list(new.facts)
    outcomes = bytearray(len(ids))
    todo: list[int] = []
    todo_before: list[int] = []
    old_facts, new_facts = old.facts, new.facts
    for i, entity in enumerate(ids):
        j = old_pos.pop(entity, None)
        if reuse and j is not None and old_facts[entity].sha256 == new_facts[entity].sha256:
            outcomes[i] = before[j]
        else:
            todo.append(i)
            todo_before.append(before[j] if j is not None else 0)
    flips: list[Flip] = []
    n = 0
    async for decision in _decide(new, [ids[i] for i in todo], chunk):
        code = _CODES[decision["decision"]]
        outcomes[todo[n]] = code
        if code != todo_before[n]:
            reasons = orjson.dumps(decision["reasons"], option=orjson.OPT_SORT_KEYS)
            flips.append(
                Flip(decision["entity"], OUTCOMES[todo_before[n]], decision["decision"], reasons)
            )
        n += 1
    flips += [Flip(entity, OUTCOMES[before[j]], None, None) for entity, j in old_pos.items()]
    return Comparison(outcomes, flips, len(todo))


def change_records(
    flips: Sequence[Flip], first_seq: int, at: str, new: Snapshot
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The feed's changes (numbered from ``first_seq``) and the audit log's ``flip`` lines."""
    revision, as_of = new.revision, new.pipeline.as_of.isoformat()
    changes: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    for seq, flip in enumerate(flips, start=first_seq):
        reasons = orjson.Fragment(flip.reasons_after) if flip.reasons_after is not None else None
        changes.append(
            {
                "seq": seq,
                "entity": flip.entity,
                "before": flip.before,
                "after": flip.after,
                "reasons_after": reasons,
                "at": at,
                "revision": revision,
                "as_of": as_of,
            }
        )
        lines.append(
            {
                "type": "flip",
                "time": at,
                "change_seq": seq,
                "generation": new.generation,
                "entity": flip.entity,
                "before": flip.before,
                "after": flip.after,
                "reasons_after": reasons,
                "as_of": as_of,
                "policy_revision": revision,
            }
        )
    return changes, lines


def reload_info(reason: str, at: str, old: Snapshot | None, new: Snapshot) -> dict[str, Any]:
    """What a notification says about the reload its changes come from."""
    info: dict[str, Any] = {
        "generation": new.generation,
        "reason": reason,
        "at": at,
        "revision": new.revision,
        "as_of": new.pipeline.as_of.isoformat(),
    }
    if old is not None:
        info["previous"] = {
            "generation": old.generation,
            "revision": old.revision,
            "as_of": old.pipeline.as_of.isoformat(),
        }
    return info
