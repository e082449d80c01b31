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

Entities restricted by their own jurisdiction or headquarters (about 3% of a register, each a
deny that cost OPA ~340 µs decided whole) go the same way in restricted groups
(``input.restricted``, when the policy's view says it takes them): their facts differ only in
id and name, as long as nothing else restricted owns them (``RegistryFacts.restricted_member``).
The policy decides one stand-in per group and shares that decision, reasons and all, with every
member that has no exception, unless the decision names its member.

OPA compares two numbers of at most 15 significant digits as decimals, and any longer one
(most look-through bounds print with 16 or 17) with big-number arithmetic, about 2 µs per
comparison. For a policy that takes them (``PolicyView.batch_rounded``), a plain member's bounds
are therefore sent rounded outward to 15 digits (lower bounds down, upper bounds up), with the
exact bounds beside them: the policy's quiet check passes only below a threshold, so passing
for the wider bounds implies passing for the exact ones, and a member it does not pass is
decided on the exact bounds (``batch.facts``). The engine reports the exact bounds either way.
The rounding is one numpy pass over every entity (``OwnershipResult.sent_bounds``): done per
member in Python it cost more Python time than it saved OPA time (``decimal``: 6.7 µs a member;
numpy per batch, from the members' lists: about 2.4 µs). Which entities are plain members is
decided the same way, once for the registry (``policy/members.py``).

Which entities go in a group is only a guess made here from the facts; the policy decides each
member again and decides whole any member its shortcut does not allow. The answer is accepted
only when it accounts for every member, in member order, and every decision it yields passes
``verify_decisions``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from stakegate.errors import PolicyEvaluationError
from stakegate.policy.decision import Decision, verify_decisions
from stakegate.policy.facts import GroupKey, Member, RegistryFacts
from stakegate.policy.members import MemberPlan

__all__ = ["BATCH", "BatchRequest", "batch_request", "expand_answer"]

# The entrypoint that decides a batch in this form.
BATCH = "stakegate.batch.decisions"
_ANSWER_KEYS = frozenset({"entities", "groups"})


@dataclass(slots=True)
class BatchRequest:
    """One batch-form query: its body, and where each of its decisions goes back."""

    ids: list[str]
    body: bytes
    # Positions (in ``ids``) of the entities sent whole, in body order.
    singles: list[int] = field(default_factory=list)
    # Per group, in body order: the positions of its members and the members (as sent, but
    # with their exact bounds: see ``MemberPlan.groups``).
    groups: list[tuple[list[int], list[Member]]] = field(default_factory=list)
    # The same for restricted groups (``input.restricted``), when the policy takes them.
    restricted: list[tuple[list[int], list[Member]]] = field(default_factory=list)


def batch_request(
    facts: RegistryFacts,
    plan: MemberPlan,
    head: bytes,
    entity_ids: Sequence[str],
    encode: Callable[[Sequence[str]], list[bytes]],
    *,
    restricted: bool = False,
    rounded: bool = False,
    columns: bool = False,
) -> BatchRequest:
    """The batch-form query for ``entity_ids``; ``plan`` says which are plain members
    (``MemberPlan`` of ``facts``), ``head`` opens the input (``PolicyView.input_head``),
    ``encode`` gives the facts of entities sent whole (``Pipeline.encoded``, or facts encoded
    earlier). ``restricted``: the policy takes restricted groups
    (``PolicyView.batch_restricted``); else those entities are sent whole. ``rounded``: it
    takes members of seven (``PolicyView.batch_rounded``, see ``MemberPlan.groups``), and
    ``columns``: members as columns (``PolicyView.batch_columns``)."""
    ids = list(entity_ids)
    rows = np.fromiter(map(facts.index.__getitem__, ids), dtype=np.int64, count=len(ids))
    plain = plan.plain(rows)
    singles: list[int] = []
    barred: dict[GroupKey, tuple[list[int], list[Member]]] = {}
    for position in np.flatnonzero(~plain).tolist():
        found = facts.restricted_member(ids[position]) if restricted else None
        if found is None:
            singles.append(position)
            continue
        key, member = found
        slot = barred.setdefault(key, ([], []))
        slot[0].append(position)
        slot[1].append(member)
    grouped = plan.groups(ids, rows, np.flatnonzero(plain), rounded=rounded, columns=columns)
    whole = encode([ids[p] for p in singles]) if singles else []
    sent_groups = _groups(zip(grouped.keys, grouped.sent, strict=True))
    sent_barred = _groups((key, {"members": members}) for key, (_, members) in barred.items())
    body = b"".join(
        (
            head,
            b',"entities":[',
            b",".join(whole),
            b'],"groups":',
            orjson.dumps(sent_groups),
            b',"restricted":' + orjson.dumps(sent_barred) if restricted else b"",
            b"}}",
        )
    )
    return BatchRequest(ids, body, singles, grouped.groups, list(barred.values()))


def _groups(groups: Iterable[tuple[GroupKey, Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """Groups as the policy reads them: the facts their members share, and the members (as
    ``fields``: members, or columns)."""
    out: list[dict[str, Any]] = []
    for (kind, jurisdiction, headquarters), fields in groups:
        shared = {"type": kind}
        if jurisdiction is not None:
            shared["jurisdiction"] = jurisdiction
        if headquarters is not None:
            shared["headquarters"] = headquarters
        out.append({"facts": shared, **fields})
    return out


def expand_answer(
    raw: Any,
    request: BatchRequest,
    revision: str,
    as_of: str,
    names: Mapping[str, str],
) -> list[Decision]:
    """The decisions of ``request``, in its order, from OPA's batch-form answer; raises
    ``PolicyEvaluationError`` unless the answer accounts for every entity exactly once and
    every decision passes ``verify_decisions``. ``names``: of the entities sent whole (a
    member carries its own).

    A group's shared decision is verified once, completed for its first member; the other
    members' copies differ from that one only in what the engine itself supplies (the id, the
    name, and the bounds it sent), so they are not checked again."""
    if not isinstance(raw, dict) or not _ANSWER_KEYS <= set(raw) <= _ANSWER_KEYS | {"restricted"}:
        raise PolicyEvaluationError(
            f"batch answer is not {{entities, groups[, restricted]}}: {str(raw)[:200]}"
        )
    singles, groups, barred = raw["entities"], raw["groups"], raw.get("restricted", [])
    if not all(isinstance(part, list) for part in (singles, groups, barred)):
        raise PolicyEvaluationError("batch answer: entities, groups and restricted must be arrays")
    for kind, answered, sent in (
        ("groups", groups, request.groups),
        ("restricted groups", barred, request.restricted),
    ):
        if len(answered) != len(sent):
            raise PolicyEvaluationError(f"policy answered {len(answered)} {kind} for {len(sent)}")
    if len(singles) != len(request.singles):
        raise PolicyEvaluationError(
            f"policy returned {len(singles)} decisions for {len(request.singles)} entities"
        )
    ids = request.ids
    ordered: list[Any] = [None] * len(ids)
    # Decisions still to verify (OPA's own), by position.
    whole: dict[int, Any] = dict(zip(request.singles, singles, strict=True))
    named = dict(names)
    sent, answered = request.groups + request.restricted, groups + barred
    for (positions, members), answer in zip(sent, answered, strict=True):
        shared = _Shared(answer, revision, as_of)
        for position, member, doc in zip(positions, members, shared.split(members), strict=True):
            if doc is None:
                ordered[position] = shared.complete(member)
            else:
                whole[position] = doc
                if member[1] is not None:
                    named[member[0]] = member[1]
    checked = verify_decisions(
        list(whole.values()), [ids[p] for p in whole], revision, as_of, named
    )
    for position, decision in zip(whole, checked, strict=True):
        ordered[position] = decision
    return ordered


class _Shared:
    """One group's answer: which members share its decision, and that decision, verified."""

    __slots__ = ("answer", "as_of", "probe", "revision")

    def __init__(self, answer: Any, revision: str, as_of: str) -> None:
        keys = {"decision", "entities", "decisions"}
        if not isinstance(answer, dict) or set(answer) != keys:
            raise PolicyEvaluationError(
                f"group answer is not {{decision, entities, decisions}}: {str(answer)[:200]}"
            )
        if not isinstance(answer["entities"], list) or not isinstance(answer["decisions"], list):
            raise PolicyEvaluationError("group answer: entities and decisions must be arrays")
        self.answer, self.revision, self.as_of = answer, revision, as_of
        self.probe: Decision | None = None

    def split(self, members: list[Member]) -> list[Any]:
        """Per member, in member order: None when it shares the decision, else its own
        decision (unverified; its entity is checked against the member by verify_decisions)."""
        allowed, rest = self.answer["entities"], self.answer["decisions"]
        if len(allowed) + len(rest) != len(members):
            raise PolicyEvaluationError(
                f"group answer has {len(allowed) + len(rest)} decisions for {len(members)} members"
            )
        out: list[Any] = []
        a = r = 0
        for member in members:
            if a < len(allowed) and allowed[a] == member[0]:
                a += 1
                out.append(None)
            elif r < len(rest):
                out.append(rest[r])
                r += 1
            else:
                raise PolicyEvaluationError(
                    f"group answer does not account for member {member[0]!r} in order"
                )
        return out

    def complete(self, member: Member) -> Decision:
        """The shared decision for ``member``: verified with the first, copied for the rest."""
        entity_id = member[0]
        ownership = {  # keys in OPA's order
            "control": {"max": member[3], "min": member[2]},
            "look_through": {"max": member[5], "min": member[4]},
        }
        probe = self.probe
        if probe is None:
            shared = self.answer["decision"]
            if not isinstance(shared, dict) or {"entity", "ownership"} & set(shared):
                raise PolicyEvaluationError(f"group answer: the shared decision is {shared!r}")
            # A copy of its own: no object of one decision is another's.
            # Keys in OPA's order, as in every other decision.
            doc = {**shared, "entity": entity_id, "ownership": ownership}
            doc = orjson.loads(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS))
            names = {} if member[1] is None else {entity_id: member[1]}
            (probe,) = verify_decisions([doc], [entity_id], self.revision, self.as_of, names)
            if probe["reasons"]:  # copies would share the reasons' objects: check each alone
                return probe
            self.probe = probe
            return probe
        # The probe has no reasons, so it passed verify_decisions as a plain decision: exactly
        # these keys, in this order (OPA's, then the engine's).
        decision: dict[str, Any] = {
            "decision": probe["decision"],
            "entity": entity_id,
            "ownership": ownership,
            "policy": {**probe["policy"]},
            "reasons": [],
            "as_of": probe["as_of"],
        }
        if member[1] is not None:
            decision["name"] = member[1]
        return decision  # type: ignore[return-value]  # the probe's shape, verified
