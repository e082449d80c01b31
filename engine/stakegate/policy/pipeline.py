"""The library entry points: connect to a policy, compute facts once, ask OPA in batches.

``check`` and ``screen`` are what the CLI (and services embedding stakegate) call. A decision
is only yielded after OPA answered for its whole batch and the answer was verified; any failure
raises, so a caller can never mistake a missing answer for an allow.
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from stakegate import settings
from stakegate.bundles.trust import Trust, check_remote_revision, check_sources, verify_for_loading
from stakegate.errors import InputError
from stakegate.logs import get_logger
from stakegate.policy.client import PolicyClient, PolicyParams
from stakegate.policy.decision import Decision, verify_decisions
from stakegate.policy.facts import DataFaultMode, RegistryFacts, compute_facts, registry_codes
from stakegate.policy.runtime import LocalOpa
from stakegate.registry.load import load_registry
from stakegate.registry.model import Registry

__all__ = ["Screener", "check", "connect", "screen"]

log = get_logger(__name__)

# OPA queries in flight while screening: one per core of a small machine. More only adds memory
# (each in-flight batch holds its facts document and its answer).
_IN_FLIGHT = 2


@contextmanager
def connect(
    policy: Path | None = None,
    opa_url: str | None = None,
    *,
    trust: Trust | None = None,
    as_of: date | None = None,
) -> Iterator[PolicyClient]:
    """A client for ``opa_url``, or for a private OPA started on ``policy`` (default policy),
    admitted by ``trust`` (default: ``Trust.from_settings()``) for decisions ``as_of``.

    With ``opa_url``, a ``policy`` bundle (required when approval is) is verified here and the
    remote OPA must report its revision before anything is decided.
    """
    trust = trust if trust is not None else Trust.from_settings()
    day = as_of or today()
    check_sources(policy, opa_url, trust)
    if opa_url:
        expected = verify_for_loading(policy, trust, day) if policy is not None else None
        client = PolicyClient(opa_url)
        try:
            if expected is not None:
                client.params()  # the first answer records the revision OPA reports
                check_remote_revision(opa_url, client.revision, expected)
            yield client
        finally:
            client.close()
        return
    with LocalOpa(policy or settings.DEFAULT_POLICY, trust=trust, as_of=day) as opa:
        client = PolicyClient(opa.url, fallback_revision=opa.revision)
        try:
            yield client
        finally:
            client.close()


def today() -> date:
    return datetime.now(UTC).date()


class Screener:
    """Decisions for the entities of one registry under one policy server."""

    __slots__ = ("as_of", "client", "facts", "params")

    def __init__(
        self,
        client: PolicyClient,
        registry: Registry,
        as_of: date | None = None,
        *,
        data_faults: DataFaultMode = "error",
    ):
        self.client = client
        self.as_of = as_of or today()
        self.params: PolicyParams = client.params()
        classification = client.classify(registry_codes(registry))
        self.facts: RegistryFacts = compute_facts(
            registry,
            classification,
            self.params.ownership_threshold,
            consolidation_share=self.params.consolidation_share,
            mode=data_faults,
        )
        log.info(
            "Facts computed",
            registry=registry.source,
            entities=len(registry.entities),
            restricted_codes=len(classification),
            policy_revision=client.revision,
        )

    def __repr__(self) -> str:
        return f"<Screener {self.facts!r} client={self.client!r}>"

    def decide(self, entity_ids: Sequence[str]) -> list[Decision]:
        """One OPA query for ``entity_ids``; verified decisions in the same order."""
        return self._verify(entity_ids, self.client.decisions(self._input(entity_ids)))

    def _input(self, entity_ids: Sequence[str]) -> dict[str, Any]:
        missing = [e for e in entity_ids if e not in self.facts.registry.entities]
        if missing:
            raise InputError(
                f"{self.facts.registry.source}: entity {missing[0]!r} is not in the registry"
            )
        return self.facts.input_document(entity_ids, self.as_of)

    def _verify(self, entity_ids: Sequence[str], raw: Sequence[dict[str, Any]]) -> list[Decision]:
        return verify_decisions(raw, entity_ids, self.client.revision or "unknown")

    def screen(
        self,
        batch_size: int | None = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> Iterator[Decision]:
        """Every entity of the registry, in file order, ``batch_size`` per OPA query."""
        size = batch_size or settings.BATCH_SIZE
        ids = list(self.facts.registry.entities)
        batches = [ids[start : start + size] for start in range(0, len(ids), size)]
        # OPA decides up to _IN_FLIGHT batches at once (one per core: OPA evaluates concurrent
        # queries in parallel) while this thread builds the facts of the next; the HTTP waits
        # release the GIL. Answers are taken in batch order, and a batch's decisions are yielded
        # only once its answer is verified: the first failure raises, and nothing after it is
        # yielded (queries not yet started are cancelled).
        pool = ThreadPoolExecutor(max_workers=_IN_FLIGHT, thread_name_prefix="stakegate-opa")
        pending: deque[tuple[list[str], Future[Sequence[dict[str, Any]]]]] = deque()
        # Everything alive when the screening starts (mostly the registry, its graph and the
        # ownership arrays, which outlive it) is frozen: otherwise every full collection that
        # the batch documents and answers trigger walks that whole heap again. The cyclic
        # collector skips frozen objects until the unfreeze below (reference counting still
        # frees as usual); a nested or concurrent screening ending first only unfreezes early.
        gc.freeze()
        try:
            for batch in batches:
                document = self._input(batch)
                while len(pending) >= _IN_FLIGHT:
                    yield from self._finish(*pending.popleft(), on_batch)
                pending.append((batch, pool.submit(self.client.decisions, document)))
            while pending:
                yield from self._finish(*pending.popleft(), on_batch)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            gc.unfreeze()

    def _finish(
        self,
        batch: list[str],
        answer: Future[Sequence[dict[str, Any]]],
        on_batch: Callable[[int], None] | None,
    ) -> Iterator[Decision]:
        yield from self._verify(batch, answer.result())
        if on_batch is not None:
            on_batch(len(batch))


def check(
    entity_id: str,
    registry: Path | str | Registry,
    *,
    policy: Path | None = None,
    opa_url: str | None = None,
    as_of: date | None = None,
    data_faults: DataFaultMode = "error",
    trust: Trust | None = None,
) -> Decision:
    """Decide one entity: the library form of ``stakegate check``."""
    loaded = registry if isinstance(registry, Registry) else load_registry(registry)
    if entity_id not in loaded.entities:
        raise InputError(f"{loaded.source}: entity {entity_id!r} is not in the registry")
    with connect(policy, opa_url, trust=trust, as_of=as_of) as client:
        return Screener(client, loaded, as_of, data_faults=data_faults).decide([entity_id])[0]


def screen(
    registry: Path | str | Registry,
    *,
    policy: Path | None = None,
    opa_url: str | None = None,
    as_of: date | None = None,
    data_faults: DataFaultMode = "error",
    trust: Trust | None = None,
) -> list[Decision]:
    """Decide every entity: the library form of ``stakegate screen``."""
    loaded = registry if isinstance(registry, Registry) else load_registry(registry)
    with connect(policy, opa_url, trust=trust, as_of=as_of) as client:
        return list(Screener(client, loaded, as_of, data_faults=data_faults).screen())
