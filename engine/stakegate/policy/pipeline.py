"""The one pipeline from data to decision, for the CLI, the library, the service and the review.

``connect`` gives a client of one OPA (a private one started on a policy, or a running one) and
the policy view it serves, read once. ``Pipeline`` computes the facts of one registry under that
view as of one date, encodes the request body of any batch of its entities, and verifies OPA's
answer: one decision per entity, in order, schema-valid, from the revision the facts were
computed under. ``Screener`` drives it over HTTP in batches (the CLI and the library); the
service drives the same ``Pipeline`` over its asynchronous client. Nothing else builds facts,
request bodies or decisions.

A decision is only handed out after OPA answered for its whole batch and the answer was
verified; any failure raises, so a caller can never mistake a missing answer for an allow.
"""

from __future__ import annotations

import difflib
import gc
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import orjson

from stakegate import settings
from stakegate.bundles.trust import Trust, check_remote_revision, check_sources, verify_for_loading
from stakegate.errors import InputError, PolicyChangedError, PolicyEvaluationError
from stakegate.heap import collector_paused
from stakegate.logs import get_logger
from stakegate.policy.batch import BATCH, batch_request, expand_answer
from stakegate.policy.client import Answer, PolicyClient
from stakegate.policy.decision import Decision, verify_decisions
from stakegate.policy.facts import DataFaultMode, RegistryFacts, compute_facts
from stakegate.policy.members import MemberPlan
from stakegate.policy.query import DECISIONS, Query, request_body
from stakegate.policy.regime_facts import RegimeFacts
from stakegate.policy.regimes import resolve_regimes
from stakegate.policy.runtime import LocalOpa
from stakegate.policy.side_by_side import SIDE_BY_SIDE, side_by_side_body, verify_side_by_side
from stakegate.policy.view import VIEW_QUERY, PolicyView
from stakegate.registry.faults import registry_as_of
from stakegate.registry.load import load_registry
from stakegate.registry.model import Registry

__all__ = [
    "DECISIONS",
    "Connection",
    "Pipeline",
    "Query",
    "Screener",
    "check",
    "did_you_mean",
    "require_entities",
    "connect",
    "screen",
    "today",
]

log = get_logger(__name__)

# OPA queries in flight while screening: one per core of a small machine. More only adds memory
# (each in-flight batch holds its request body and its answer).
_IN_FLIGHT = 2
# Registries larger than this get no "did you mean" hint for an unknown id (difflib is linear
# with a large constant).
_HINT_LIMIT = 200_000


def today() -> date:
    return datetime.now(UTC).date()


class Connection:
    """A client of one OPA and the policy view it serves, read once when connecting."""

    __slots__ = ("client", "opa", "reported_revision", "view")

    def __init__(self, client: PolicyClient, fallback_revision: str, opa: LocalOpa | None = None):
        self.client = client
        self.opa = opa
        answer = client.read(VIEW_QUERY)
        # What OPA itself says it serves (None when it names no bundle revision).
        self.reported_revision = answer.revision
        self.view = PolicyView.from_answer(answer, fallback_revision)

    def __repr__(self) -> str:
        return f"<Connection {self.client.url} revision={self.view.revision!r}>"


@contextmanager
def connect(
    policy: Path | None = None,
    opa_url: str | None = None,
    *,
    trust: Trust | None = None,
    as_of: date | None = None,
) -> Iterator[Connection]:
    """A connection to ``opa_url``, or to a private OPA started on ``policy`` (default: the
    shipped policy), admitted by ``trust`` (default: ``Trust.from_settings()``) for decisions
    as of ``as_of``; closed, and the private OPA stopped, when the block ends.

    With ``opa_url``, a ``policy`` bundle (required when approval is) is verified here, and the
    remote OPA must report that bundle's revision before anything is decided.
    """
    settings.require_valid()
    trust = trust if trust is not None else Trust.from_settings()
    day = as_of or today()
    check_sources(policy, opa_url, trust)
    if opa_url:
        expected = verify_for_loading(policy, trust, day) if policy is not None else None
        client = PolicyClient(opa_url)
        try:
            connection = Connection(client, "unknown")
            if expected is not None:
                check_remote_revision(opa_url, connection.reported_revision, expected)
            yield connection
        finally:
            client.close()
        return
    with LocalOpa(policy or settings.DEFAULT_POLICY, trust=trust, as_of=day) as opa:
        client = PolicyClient(opa.url)
        try:
            yield Connection(client, opa.revision, opa)
        finally:
            client.close()


class Pipeline:
    """The facts of one registry under one policy view, as of one date; for any batch of its
    entities, the request body and the verification of OPA's answer.

    With ``regimes`` (names of the view's regimes, or ``["all"]``), facts are computed under
    each of them too and decisions come from the side-by-side entrypoint (docs/regimes.md)."""

    __slots__ = ("as_of", "facts", "head", "plan", "regimes", "view")

    def __init__(
        self,
        view: PolicyView,
        registry: Registry,
        as_of: date,
        *,
        data_faults: DataFaultMode = "error",
        regimes: Sequence[str] | None = None,
    ) -> None:
        self.view = view
        self.as_of = as_of
        self.head = view.input_head(as_of)  # every query's input opens with it
        # Checked before the (long) facts computation.
        asked = resolve_regimes(regimes, view.regimes) if regimes is not None else None
        self.regimes: RegimeFacts | None = None
        with collector_paused():  # millions of acyclic objects (stakegate.heap)
            # The holdings and designations that count on the day decided for, and their faults.
            dated = registry_as_of(registry, as_of)
            self.facts: RegistryFacts = compute_facts(dated, view, mode=data_faults)
            if asked is not None:
                self.regimes = RegimeFacts.compute(self.facts, view, asked, as_of, data_faults)
            # Which entities the batch form sends as plain members: here, not in the first
            # query (1M: about 0.9 s).
            self.plan = MemberPlan(self.facts) if view.batch_form and asked is None else None

    def __repr__(self) -> str:
        return f"<Pipeline {self.facts!r} as_of={self.as_of} revision={self.view.revision!r}>"

    @property
    def registry(self) -> Registry:
        return self.facts.registry

    def query(
        self,
        entity_ids: Sequence[str],
        encode: Callable[[Sequence[str]], list[bytes]] | None = None,
    ) -> Query:
        """The query that decides ``entity_ids``: side by side with ``regimes``, else the batch
        form, or entity by entity for a policy built before it. ``encode`` gives facts encoded
        earlier (default: ``encoded``)."""
        encode = encode or self.encoded
        ids = list(entity_ids)
        if self.regimes is not None:
            return Query(SIDE_BY_SIDE, self.body(encode(ids)), ids)
        if not self.view.batch_form:
            return Query(DECISIONS, self.body(encode(ids)), ids)
        view = self.view
        assert self.plan is not None  # made for every batch-form policy without regimes
        batch = batch_request(
            self.facts,
            self.plan,
            self.head,
            ids,
            encode,
            restricted=view.batch_restricted,
            rounded=view.batch_rounded,
            columns=view.batch_columns,
        )
        return Query(BATCH, batch.body, ids, batch)

    def encoded(self, entity_ids: Sequence[str]) -> list[bytes]:
        """The facts of ``entity_ids`` as JSON, built by construction, not re-validated (see
        ``RegistryFacts.encoded``); side by side, each extended by its regimes' facts. The facts
        schema is the contract, held to by property tests (``tests/test_schemas.py``); the
        policy checks the facts again and fails closed (``invalid_facts``: review)."""
        if self.regimes is None:
            return self.facts.encoded(entity_ids)
        out: list[bytes] = []
        for entity_id in entity_ids:
            doc = self.facts.entity_facts(entity_id)
            self.regimes.extend(doc, entity_id)
            out.append(orjson.dumps(doc))
        return out

    def body(self, entities: Iterable[bytes]) -> bytes:
        if self.regimes is not None:
            return side_by_side_body(self.head, self.regimes.names, entities)
        return request_body(self.head, entities)

    def verify(self, answer: Answer, query: Query) -> list[Decision]:
        """Accept OPA's answer to ``query`` only as one valid decision per entity, in order,
        from the policy revision the facts were computed under."""
        revision = self.view.answered_revision(answer)
        if revision != self.view.revision:
            raise PolicyChangedError(
                f"OPA now serves policy revision {revision!r}; the facts were computed under "
                f"{self.view.revision!r}"
            )
        raw, entity_ids, batch = answer.result, query.ids, query.batch
        entities = self.registry.entities
        # In the batch form only the entities sent whole need a name: members carry theirs.
        named = entity_ids if batch is None else [entity_ids[p] for p in batch.singles]
        names = {e: n for e in named if (n := entities[e].name) is not None}
        if batch is not None:
            return expand_answer(raw, batch, revision, self.as_of.isoformat(), names)
        if query.entrypoint == SIDE_BY_SIDE and self.regimes is not None:
            return verify_side_by_side(
                raw, entity_ids, self.regimes.names, revision, self.as_of.isoformat(), names
            )
        if not isinstance(raw, list):
            raise PolicyEvaluationError(f"decisions are not an array: {str(raw)[:200]}")
        return verify_decisions(raw, entity_ids, revision, self.as_of.isoformat(), names)


def require_entities(registry: Registry, entity_ids: Iterable[str]) -> None:
    """Raise naming the first id that is not in ``registry``, with a close match if there is one."""
    entities = registry.entities
    for entity_id in entity_ids:
        if entity_id not in entities:
            raise InputError(
                f"{registry.source}: entity {entity_id!r} is not in the registry"
                f"{did_you_mean(entity_id, entities)}",
                param="entity",
            )


def did_you_mean(entity_id: str, known: Iterable[str]) -> str:
    """``; did you mean 'x'?`` for a close id, or nothing (bounded work on big registries)."""
    candidates = list(known)
    if len(candidates) > _HINT_LIMIT:
        return ""
    close = difflib.get_close_matches(entity_id, candidates, n=1, cutoff=0.75)
    return f"; did you mean {close[0]!r}?" if close else ""


class Screener:
    """Decisions for the entities of one registry over one connection (blocking HTTP)."""

    __slots__ = ("connection", "pipeline")

    def __init__(
        self,
        connection: Connection,
        registry: Registry,
        as_of: date | None = None,
        *,
        data_faults: DataFaultMode = "error",
        regimes: Sequence[str] | None = None,
    ) -> None:
        self.connection = connection
        self.pipeline = Pipeline(
            connection.view, registry, as_of or today(), data_faults=data_faults, regimes=regimes
        )
        log.info(
            "Facts computed",
            registry=registry.source,
            entities=len(registry.entities),
            policy_revision=connection.view.revision,
        )

    def __repr__(self) -> str:
        return f"<Screener {self.pipeline!r}>"

    @property
    def facts(self) -> RegistryFacts:
        return self.pipeline.facts

    def decide(self, entity_ids: Sequence[str]) -> list[Decision]:
        """One OPA query for ``entity_ids``; verified decisions in the same order."""
        require_entities(self.pipeline.registry, entity_ids)
        return self._ask(self.pipeline.query(entity_ids))

    def _ask(self, query: Query) -> list[Decision]:
        answer = self.connection.client.query(query.entrypoint, query.body)
        return self.pipeline.verify(answer, query)

    def screen(
        self,
        batch_size: int | None = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> Iterator[Decision]:
        """Every entity of the registry, in file order, ``batch_size`` per OPA query."""
        size = batch_size or settings.BATCH_SIZE
        ids = list(self.pipeline.registry.entities)
        # OPA decides up to _IN_FLIGHT batches at once (one per core: OPA evaluates concurrent
        # queries in parallel) while this thread builds the facts of the next; the HTTP waits
        # release the GIL. Answers are taken in batch order, and a batch's decisions are yielded
        # only once its answer is verified: the first failure raises, and nothing after it is
        # yielded (queries not yet started are cancelled).
        pool = ThreadPoolExecutor(max_workers=_IN_FLIGHT, thread_name_prefix="stakegate-opa")
        pending: deque[tuple[list[str], Future[list[Decision]]]] = deque()
        # Everything alive when the screening starts (mostly the registry, its graph and the
        # ownership arrays, which outlive it) is frozen: otherwise every full collection that
        # the batch documents and answers trigger walks that whole heap again. The cyclic
        # collector skips frozen objects until the unfreeze below (reference counting still
        # frees as usual); a nested or concurrent screening ending first only unfreezes early.
        gc.freeze()
        try:
            for start in range(0, len(ids), size):
                batch = ids[start : start + size]
                query = self.pipeline.query(batch)
                while len(pending) >= _IN_FLIGHT:
                    yield from self._finish(*pending.popleft(), on_batch)
                pending.append((batch, pool.submit(self._ask, query)))
            while pending:
                yield from self._finish(*pending.popleft(), on_batch)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            gc.unfreeze()

    @staticmethod
    def _finish(
        batch: list[str],
        answer: Future[list[Decision]],
        on_batch: Callable[[int], None] | None,
    ) -> Iterator[Decision]:
        yield from answer.result()
        if on_batch is not None:
            on_batch(len(batch))


def _registry(registry: Path | str | Registry) -> Registry:
    return registry if isinstance(registry, Registry) else load_registry(registry)


def check(
    entity_id: str,
    registry: Path | str | Registry,
    *,
    policy: Path | None = None,
    opa_url: str | None = None,
    as_of: date | None = None,
    data_faults: DataFaultMode = "error",
    trust: Trust | None = None,
    regimes: Sequence[str] | None = None,
) -> Decision:
    """Decide one entity as of ``as_of`` (default: today, UTC): the library ``stakegate check``.
    ``regimes``: decide under these regimes side by side (names, or ``["all"]``)."""
    loaded = _registry(registry)
    require_entities(loaded, [entity_id])
    with connect(policy, opa_url, trust=trust, as_of=as_of) as connection:
        screener = Screener(connection, loaded, as_of, data_faults=data_faults, regimes=regimes)
        return screener.decide([entity_id])[0]


def screen(
    registry: Path | str | Registry,
    *,
    policy: Path | None = None,
    opa_url: str | None = None,
    as_of: date | None = None,
    data_faults: DataFaultMode = "error",
    trust: Trust | None = None,
    regimes: Sequence[str] | None = None,
) -> list[Decision]:
    """Decide every entity as of ``as_of`` (default: today): the library ``stakegate screen``.
    ``regimes``: decide under these regimes side by side (names, or ``["all"]``)."""
    loaded = _registry(registry)
    with connect(policy, opa_url, trust=trust, as_of=as_of) as connection:
        screener = Screener(connection, loaded, as_of, data_faults=data_faults, regimes=regimes)
        return list(screener.screen())
