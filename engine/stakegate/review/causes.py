"""Why an entity flips between two policies: the changes that each, alone, flip it.

A policy release usually changes several things at once (a threshold, a region, a rule). For
every entity whose decision changes, the reviewer needs to know which of them is responsible.
Each change is applied alone to OLD (OLD with that one parameter of NEW, or OLD's parameters
with NEW's rules), written as a policy directory, and the changed entities are decided under it
by the real engine. A change is a cause of an entity's flip when, alone, it gives the entity
NEW's decision. When no single change does, the flip needs several changes together: ``causes``
then lists every change and ``combined`` is true.

Cost: one screening per change, and only of the entities that changed (the facts of the whole
registry are computed once per variant, because a parameter can change them; OPA decides only
the changed entities, in batches). With one change there is nothing to attribute and no extra
screening. More than ``MAX_CHANGES`` changes are refused rather than screened without bound.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from stakegate import settings
from stakegate.bundles.trust import Trust
from stakegate.errors import InputError, PolicyEvaluationError
from stakegate.policy.client import PolicyClient
from stakegate.policy.decision import Decision
from stakegate.policy.pipeline import Connection, Screener
from stakegate.policy.runtime import LocalOpa
from stakegate.registry.model import Registry
from stakegate.review.sources import RULES, PolicySource, write_policy

__all__ = [
    "MAX_CHANGES",
    "Attribution",
    "Screening",
    "attribute",
    "change_names",
    "decide_under",
    "open_policy",
]

# Most changes attributed (one screening each): config/data.json has seven parameters today.
MAX_CHANGES = 32
# Makes a screener of a registry as of a date, under regimes side by side (None: the default),
# on an open policy.
Screening = Callable[[Registry, date, Sequence[str] | None], Screener]


@dataclass(slots=True)
class Attribution:
    """Each change's decisions for the changed entities when applied alone to OLD."""

    changes: list[str]
    alone: dict[str, dict[str, str]] = field(default_factory=dict)
    not_alone: dict[str, str] = field(default_factory=dict)  # change -> why it cannot stand alone
    screenings: int = 0

    def causes(self, entity: str, after: str) -> tuple[list[str], bool]:
        """The changes that alone give ``entity`` the decision ``after``, and whether none does
        (then every change is listed and the flip is *combined*)."""
        if len(self.changes) == 1:
            return list(self.changes), False
        found = [c for c in self.changes if self.alone.get(c, {}).get(entity) == after]
        return (found, False) if found else (list(self.changes), True)

    def to_json(self) -> dict[str, Any]:
        return {
            "method": (
                "each change applied alone to OLD; the changed entities screened once per "
                "change with the real engine"
            ),
            "changes": self.changes,
            "screenings": self.screenings,
            "not_applicable_alone": dict(self.not_alone),
        }


def change_names(old: PolicySource, new: PolicySource) -> list[str]:
    """Every change from ``old`` to ``new``: changed parameters (sorted), then ``rego``."""
    before, after = old.config, new.config
    names = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    if old.rego != new.rego or old.rest() != new.rest():
        names.append(RULES)
    return names


def _variant(
    old: PolicySource, new: PolicySource, change: str
) -> tuple[dict[str, bytes], dict[str, Any]]:
    if change == RULES:
        return new.with_config(old.config)
    config = dict(old.config)
    if change in new.config:
        config[change] = new.config[change]
    else:
        config.pop(change, None)
    return old.with_config(config)


@contextmanager
def open_policy(policy: Path, public_key: Path | None = None) -> Iterator[Screening]:
    """A private OPA on ``policy`` (a bundle verified against ``public_key``, or a directory),
    and a factory of screeners on it: the one place the review starts a policy."""
    # A preview: a bundle not yet in effect is what a reviewer reads before it takes effect,
    # and the variants of a cause analysis are unsigned directories.
    with LocalOpa(policy, trust=Trust(public_key=public_key), preview=True) as opa:
        client = PolicyClient(opa.url)
        try:
            connection = Connection(client, opa.revision, opa)
            yield lambda registry, as_of, regimes: Screener(
                connection, registry, as_of, regimes=regimes
            )
        finally:
            client.close()


def decide_under(
    policy: Path,
    registry: Registry,
    as_of: date,
    entity_ids: Sequence[str],
    public_key: Path | None = None,
    regimes: Sequence[str] | None = None,
) -> dict[str, Decision]:
    """The decisions of ``entity_ids`` under ``policy`` (a bundle or directory), in batches."""
    with open_policy(policy, public_key) as screener_for:
        screener = screener_for(registry, as_of, regimes)
        size = settings.BATCH_SIZE
        found: dict[str, Decision] = {}
        for start in range(0, len(entity_ids), size):
            for decision in screener.decide(entity_ids[start : start + size]):
                found[decision["entity"]] = decision
        return found


def attribute(
    old: PolicySource,
    new: PolicySource,
    registry: Registry,
    as_of: date,
    entity_ids: Sequence[str],
    regimes: Sequence[str] | None = None,
) -> Attribution:
    """Apply each change alone to ``old`` and decide ``entity_ids`` under it (side by side
    under ``regimes`` when given, as the report compares)."""
    result = Attribution(change_names(old, new))
    if len(result.changes) > MAX_CHANGES:
        raise InputError(
            f"{new.path}: {len(result.changes)} changes against {old.path}; causes are "
            f"attributed for at most {MAX_CHANGES} (one screening each)"
        )
    if len(result.changes) < 2 or not entity_ids:
        return result
    for change in result.changes:
        rego, data = _variant(old, new, change)
        with tempfile.TemporaryDirectory(prefix="stakegate-variant-") as tmp:
            policy = write_policy(Path(tmp) / "policy", rego, data)
            try:
                decisions = decide_under(policy, registry, as_of, entity_ids, None, regimes)
            except PolicyEvaluationError as err:
                # e.g. new rules that need a parameter only NEW sets: not a cause on its own.
                result.not_alone[change] = str(err)
                continue
            finally:
                result.screenings += 1
        result.alone[change] = {e: d["decision"] for e, d in decisions.items()}
    return result
