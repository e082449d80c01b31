"""The batch form: how the engine asks OPA about many entities at once, and reads the answer.

Most entities of a register are clear and quiet: no faults, and ownership bounds that cannot
cross the threshold, so their facts differ only in id, name and four numbers. Sent one by one,
OPA spends most of a screening parsing, deciding and printing the same allow for each of them.
``data.stakegate.batch.decisions`` (policies/stakegate/batch) takes those entities compactly,
grouped by the facts they share (type, jurisdiction, headquarters), as members
``[id, name, control_min, control_max, look_through_min, look_through_max]``, and every other
entity whole. It answers, per group, the members its shortcut allows and the decision they share,
and the full decision of every other member. A member's facts are exactly what
``Pipeline.encoded`` would send for it, and the policy decides it as ``main.decisions`` would
(``tests/test_batch_form.py`` holds the two entrypoints equal on real OPA).

Which entities go in a group is only a guess made here from the facts; the policy decides each
member again and decides whole any member its shortcut does not allow. The answer is accepted
only when it accounts for every member, in member order, and every decision it yields passes
``verify_decisions``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson

from stakegate.errors import PolicyEvaluationError
from stakegate.policy.decision import Decision, verify_decisions
from stakegate.policy.facts import Member, RegistryFacts

__all__ = ["BATCH", "BatchRequest", "batch_request", "expand_answer"]

# The entrypoint that decides a batch in this form.
BATCH = "stakegate.batch.decisions"


@dataclass(slots=True)
class BatchRequest:
    """One batch-form query: its body, and where each of its decisions goes back."""

    ids: list[str]
    body: bytes
    # Positions (in ``ids``) of the entities sent whole, in body order.
    singles: list[int] = field(default_factory=list)
    # Per group, in body order: the positions of its members and the members as sent.
    groups: list[tuple[list[int], list[Member]]] = field(default_factory=list)


def batch_request(
    facts: RegistryFacts,
    as_of: date,
    entity_ids: Sequence[str],
    encode: Callable[[Sequence[str]], list[bytes]],
) -> BatchRequest:
    """The batch-form query for ``entity_ids``; ``encode`` gives the facts of entities sent
    whole (``Pipeline.encoded``, or facts encoded earlier)."""
    ids = list(entity_ids)
    singles: list[int] = []
    grouped: dict[tuple[str, str | None, str | None], tuple[list[int], list[Member]]] = {}
    member_of = facts.member
    for position, entity_id in enumerate(ids):
        found = member_of(entity_id)
        if found is None:
            singles.append(position)
            continue
        key, member = found
        slot = grouped.get(key)
        if slot is None:
            grouped[key] = ([position], [member])
        else:
            slot[0].append(position)
            slot[1].append(member)
    groups: list[dict[str, Any]] = []
    for (kind, jurisdiction, headquarters), (_, members) in grouped.items():
        shared: dict[str, str] = {"type": kind}
        if jurisdiction is not None:
            shared["jurisdiction"] = jurisdiction
        if headquarters is not None:
            shared["headquarters"] = headquarters
        groups.append({"facts": shared, "members": members})
    whole = encode([ids[p] for p in singles]) if singles else []
    body = b"".join(
        (
            b'{"input":{"as_of":"',
            as_of.isoformat().encode(),
            b'","entities":[',
            b",".join(whole),
            b'],"groups":',
            orjson.dumps(groups),
            b"}}",
        )
    )
    return BatchRequest(ids, body, singles, list(grouped.values()))


def expand_answer(
    raw: Any,
    request: BatchRequest,
    revision: str,
    as_of: str,
    names: Mapping[str, str],
) -> list[Decision]:
    """The decisions of ``request``, in its order, from OPA's batch-form answer; raises
    ``PolicyEvaluationError`` unless the answer accounts for every entity exactly once."""
    if not isinstance(raw, dict) or set(raw) != {"entities", "groups"}:
        raise PolicyEvaluationError(f"batch answer is not {{entities, groups}}: {str(raw)[:200]}")
    singles, groups = raw["entities"], raw["groups"]
    if not isinstance(singles, list) or not isinstance(groups, list):
        raise PolicyEvaluationError("batch answer: entities and groups must be arrays")
    if len(groups) != len(request.groups):
        raise PolicyEvaluationError(
            f"policy answered {len(groups)} groups for {len(request.groups)}"
        )
    ids = request.ids
    ordered: list[Any] = [None] * len(ids)
    for position, doc in zip(request.singles, _sized(singles, len(request.singles)), strict=True):
        ordered[position] = doc
    for (positions, members), answer in zip(request.groups, groups, strict=True):
        for position, doc in zip(positions, _members(answer, members), strict=True):
            ordered[position] = doc
    return verify_decisions(ordered, ids, revision, as_of, names)


def _sized(docs: list[Any], expected: int) -> list[Any]:
    if len(docs) != expected:
        raise PolicyEvaluationError(
            f"policy returned {len(docs)} decisions for {expected} entities"
        )
    return docs


def _members(answer: Any, members: list[Member]) -> list[Any]:
    """One decision per member, in member order, from a group's answer: the shared decision
    completed with the member's id and bounds for the members it lists, the full decisions
    in turn for the rest."""
    if not isinstance(answer, dict) or set(answer) != {"decision", "entities", "decisions"}:
        raise PolicyEvaluationError(f"group answer is not {{decision, entities, decisions}}: "
                                    f"{str(answer)[:200]}")  # fmt: skip
    shared, allowed, rest = answer["decision"], answer["entities"], answer["decisions"]
    if not isinstance(allowed, list) or not isinstance(rest, list):
        raise PolicyEvaluationError("group answer: entities and decisions must be arrays")
    if allowed and not (isinstance(shared, dict) and not {"entity", "ownership"} & set(shared)):
        raise PolicyEvaluationError(f"group answer: a shared decision is not one: {shared!r}")
    if len(allowed) + len(rest) != len(members):
        raise PolicyEvaluationError(
            f"group answer has {len(allowed) + len(rest)} decisions for {len(members)} members"
        )
    out: list[Any] = []
    a = r = 0
    for member in members:
        if a < len(allowed) and allowed[a] == member[0]:
            a += 1
            doc = dict(shared)
            doc["entity"] = member[0]
            doc["ownership"] = {
                "control": {"min": member[2], "max": member[3]},
                "look_through": {"min": member[4], "max": member[5]},
            }
            # Nothing mutable is shared between members' decisions.
            for key in ("policy", "reasons"):
                value = doc.get(key)
                if isinstance(value, dict | list):
                    doc[key] = value.copy()
            out.append(doc)
        elif r < len(rest):
            out.append(rest[r])  # its entity is checked against the member by verify_decisions
            r += 1
        else:
            raise PolicyEvaluationError(
                f"group answer does not account for member {member[0]!r} in order"
            )
    return out
