"""Answering decision requests: look up facts, one OPA query, verify, audit, then respond.

The order is the guarantee: a decision is returned only after OPA answered for it, the answer
was verified by the same ``Pipeline`` the CLI uses (one decision per entity, schema-valid, from
the revision the facts were computed under), and its audit line was fsync'd. Any failure on the
way raises, and the HTTP layer turns it into an error status, never into an ``allow``.

Reloads also say what changed: the new snapshot's decisions are compared with the old one's
(``flips``), the flips written to the audit log before the new snapshot is swapped in, then
kept in the changes feed (``feed``) and handed to the notifier (``notify``).
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import os
import time
from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import orjson

from stakegate import settings
from stakegate.errors import (
    AuditError,
    FieldError,
    NotReadyError,
    PolicyChangedError,
    UnknownEntityError,
)
from stakegate.logs import get_logger
from stakegate.policy.client import Answer
from stakegate.policy.decision import Decision
from stakegate.policy.pipeline import Pipeline, Query, did_you_mean, today
from stakegate.registry.load import parse_registry
from stakegate.service.audit import AuditLog, utc_now
from stakegate.service.audit.writer import open_audit_log
from stakegate.service.config import ServiceConfig
from stakegate.service.feed import ChangeFeed
from stakegate.service.flips import (
    Comparison,
    change_records,
    compare,
    reload_info,
    screen_outcomes,
)
from stakegate.service.metrics import Metrics
from stakegate.service.notify import Notifier, NotifyLimits
from stakegate.service.snapshot import EntityFacts, Snapshot, build_snapshot

__all__ = ["DecisionService", "decision_ids"]

log = get_logger(__name__)
T = TypeVar("T")

# OPA queries one batch request may have in flight at once (OPA evaluates them in parallel).
_BATCH_PARALLEL = 2
# Decisions of one OPA query, and OPA's decision_id for it when OPA logs decisions.
_Answer = tuple[list[Decision], str | None]
# Flip lines per audit append (each append is one group commit).
_FLIP_LINES = 10_000


def _facts_record(
    facts: EntityFacts, registry_sha256: str, opa_id: str | None, full: bool
) -> dict[str, Any]:
    """What a registry decision's audit line says about its input (``--audit-input``)."""
    record: dict[str, Any] = {"facts_sha256": facts.sha256, "registry_sha256": registry_sha256}
    if full:
        record["facts"] = orjson.Fragment(facts.body)  # the bytes OPA decided on, once
    if opa_id is not None:
        record["opa_decision_id"] = opa_id
    return record


def decision_ids(count: int) -> list[str]:
    """``count`` random (version 4) UUIDs as strings, from one ``urandom`` call for all of them:
    ``uuid.uuid4()`` makes a system call per id, 4x the cost on a batch's hot path."""
    raw = bytearray(os.urandom(16 * count))
    raw[6::16] = bytes(0x40 | (b & 0x0F) for b in raw[6::16])  # version 4
    raw[8::16] = bytes(0x80 | (b & 0x3F) for b in raw[8::16])  # RFC 4122 variant
    h = raw.hex()
    return [
        "-".join(
            (
                h[i : i + 8],
                h[i + 8 : i + 12],
                h[i + 12 : i + 16],
                h[i + 16 : i + 20],
                h[i + 20 : i + 32],
            )
        )
        for i in range(0, 32 * count, 32)
    ]


def _settle_heap() -> None:
    """Move the snapshot's long-lived objects out of the cyclic GC's reach (``gc.freeze``).

    A batch allocates thousands of short-lived dicts, so collections run often, and each older
    generation's collection would walk the snapshot's facts too (bench: 21 -> 17 us of service
    CPU per batch decision). Unfreezing first lets the collection free any cycles a retired
    snapshot left, so reloads cannot leak through the frozen generation."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class DecisionService:
    """The current snapshot, the audit log, and the decision operations over them."""

    def __init__(self, config: ServiceConfig, metrics: Metrics | None = None) -> None:
        self.config = config
        self.metrics = metrics or Metrics()
        self.snapshot: Snapshot | None = None
        self.audit: AuditLog | None = None
        self._generation = 0
        self._reload_lock: asyncio.Lock | None = None
        self._pending_reload: asyncio.Task[None] | None = None
        self.feed = ChangeFeed(settings.SERVICE_CHANGES_MAX, settings.SERVICE_CHANGES_MAX_BYTES)
        self.notifier: Notifier | None = None

    def __repr__(self) -> str:
        return f"<DecisionService snapshot={self.snapshot!r} audit={self.audit!r}>"

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Build the first snapshot and open the audit log; raises if either fails."""
        self._reload_lock = asyncio.Lock()
        if self.config.audit_log is not None:
            # Verifies the whole log first: a cut or edited log is refused (AuditError, exit 1).
            self.audit = await asyncio.to_thread(open_audit_log, self.config)
        self._generation = 1
        snapshot = await asyncio.to_thread(build_snapshot, self.config, 1)
        await snapshot.open()
        try:
            # Every entity's outcome: what the first reload's flips are measured against.
            snapshot.outcomes = await self._timed(screen_outcomes(snapshot, self._chunk))
        except BaseException:
            await snapshot.close()
            raise
        self.snapshot = snapshot
        _settle_heap()
        await self._audit_event("open", snapshot, recovered=self.audit and self.audit.recovered)
        if self.config.notify_url:
            append = self.audit.append if self.audit is not None else None
            self.notifier = Notifier(self.config.notify_url, self.metrics, append, NotifyLimits())
            self.notifier.start()

    @property
    def _chunk(self) -> int:
        return max(1, self.config.opa_chunk)

    async def _timed(self, work: Awaitable[T]) -> T:
        started = time.perf_counter()
        try:
            return await work
        finally:
            self.metrics.flip_screening.observe(time.perf_counter() - started)

    async def reload(self, reason: str) -> Snapshot:
        """Build a new snapshot beside the current one, find what flipped, record the flips,
        swap it in, publish and notify the flips, retire the old one."""
        assert self._reload_lock is not None, "start() first"
        async with self._reload_lock:
            self._generation += 1
            new: Snapshot | None = None
            try:
                new = await asyncio.to_thread(build_snapshot, self.config, self._generation)
                await new.open()
                found = await self._timed(self._compare(self.snapshot, new))
                new.outcomes = found.outcomes
                at = utc_now()
                changes, lines = change_records(found.flips, self.feed.next, at, new)
                await self._audit_event(
                    "reload", new, reason=reason, flips=len(changes), decided=found.decided
                )
                for start in range(0, len(lines), _FLIP_LINES):
                    await self._audit_lines(lines[start : start + _FLIP_LINES])
            except Exception as err:
                if new is not None:
                    await new.close()
                self.metrics.reloaded("failed")
                log.error("Reload failed", reason=reason, error=str(err))
                raise
            old, self.snapshot = self.snapshot, new
            self.metrics.reloaded("ok")
            self.metrics.flipped((f.before, f.after) for f in found.flips)
            log.info(
                "Reloaded",
                reason=reason,
                generation=new.generation,
                revision=new.revision,
                flips=len(changes),
                decided_for_flips=found.decided,
            )
            first_seq = self.feed.next
            published = self.feed.publish(changes)
            if self.notifier is not None and published:
                await self.notifier.submit(reload_info(reason, at, old, new), published, first_seq)
            del changes, lines, found
        if old is not None:
            await old.close()
        del old  # retired: what it holds can be collected now
        _settle_heap()
        return new

    async def _compare(self, old: Snapshot | None, new: Snapshot) -> Comparison:
        if old is None or old.outcomes is None:  # stopped meanwhile: nothing to compare with
            return Comparison(await screen_outcomes(new, self._chunk), [], len(new.facts))
        return await compare(old, new, self._chunk)

    async def _audit_lines(self, lines: list[dict[str, Any]]) -> None:
        if self.audit is not None and lines:
            await self.audit.append(lines)

    async def stop(self) -> None:
        if self.notifier is not None:
            await self.notifier.stop()  # what is still waiting is recorded as given up
        snapshot, self.snapshot = self.snapshot, None
        if snapshot is not None:
            try:
                await self._audit_event("close", snapshot)
            except AuditError as err:  # a failed log must not keep OPA running
                log.error("Audit close record not written", error=str(err))
            await snapshot.close()
        if self.audit is not None:
            await asyncio.to_thread(self.audit.close)

    async def _audit_event(self, kind: str, snapshot: Snapshot, **extra: Any) -> None:
        if self.audit is None:
            return
        record = {
            "type": kind,
            "time": utc_now(),
            "registry": str(self.config.registry),
            "registry_sha256": snapshot.registry_sha256,
            "entities": len(snapshot.facts),
            "policy_revision": snapshot.revision,
            "generation": snapshot.generation,
            **{k: v for k, v in extra.items() if v is not None},
        }
        await self.audit.append([record])

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[Snapshot]:
        """The current snapshot, kept alive until the block ends even if a reload swaps it."""
        snapshot = self.snapshot
        if snapshot is None:
            raise NotReadyError("the service is not ready: no registry and policy loaded")
        if self.config.as_of is None and snapshot.pipeline.as_of != today():
            # A new day: facts are as of a date, so recompute them. Until the new snapshot is
            # in, decisions keep saying the date they were made for.
            self._schedule_reload(f"the date changed to {today().isoformat()}")
        snapshot.inflight += 1
        try:
            yield snapshot
        finally:
            snapshot.inflight -= 1
            if snapshot.retired and snapshot.inflight == 0:
                snapshot.drained.set()

    # --- decisions ------------------------------------------------------------------------

    async def decide_entities(self, entity_ids: Sequence[str], batch: bool) -> list[dict[str, Any]]:
        """Decisions for registry entities, in request order, each with its ``decision_id``."""
        async with self.acquire() as snap:
            facts: list[EntityFacts] = []
            for index, entity_id in enumerate(entity_ids):
                found = snap.facts.get(entity_id)
                if found is None:
                    where = f"entities[{index}]" if batch else "entity"
                    raise UnknownEntityError(
                        f"entity {entity_id!r} is not in the registry {snap.registry.source}"
                        f"{did_you_mean(entity_id, snap.facts)}",
                        field=where,
                    )
                facts.append(found)
            size = max(1, self.config.opa_chunk)
            chunks = [list(entity_ids[i : i + size]) for i in range(0, len(entity_ids), size)]
            gate = asyncio.Semaphore(_BATCH_PARALLEL)

            async def run(ids: list[str]) -> _Answer:
                async with gate:
                    query = snap.pipeline.query(ids, snap.encoded)
                    return await self._decide(snap, snap.pipeline, query)

            if len(chunks) == 1:
                answers = [await run(chunks[0])]
            else:
                # A TaskGroup, not gather: when one query fails (OPA slow past the deadline),
                # the others are cancelled rather than left querying a struggling OPA, and none
                # outlives this request's hold on the snapshot.
                try:
                    async with asyncio.TaskGroup() as group:
                        tasks = [group.create_task(run(ids)) for ids in chunks]
                except BaseExceptionGroup as failed:
                    raise failed.exceptions[0] from None
                answers = [task.result() for task in tasks]
            decided = [d for ds, _ in answers for d in ds]
            full = self.config.audit_input == "full"
            opa_ids = [opa_id for ds, opa_id in answers for _ in ds]
            records = [
                _facts_record(f, snap.registry_sha256, opa_id, full)
                for f, opa_id in zip(facts, opa_ids, strict=True)
            ]
            return await self._record(decided, records)

    async def decide_facts(
        self, fragment: Mapping[str, Any], subject: str | None
    ) -> dict[str, Any]:
        """Decide ``subject`` (default: the fragment's first entity) on caller-supplied facts,
        through the same pipeline and policy view as the registry's entities."""
        registry = parse_registry(dict(fragment), "request field 'facts'")
        if subject is None:
            if not registry.entities:
                raise FieldError("the fragment has no entities", field="facts.entities")
            subject = next(iter(registry.entities))
        elif subject not in registry.entities:
            raise FieldError(f"entity {subject!r} is not in 'facts.entities'", field="entity")
        async with self.acquire() as snap:
            pipeline = Pipeline(
                snap.view, registry, snap.pipeline.as_of, regimes=self.config.regimes
            )
            (encoded,) = pipeline.encoded([subject])
            decided, opa_id = await self._decide(
                snap, pipeline, pipeline.query([subject], lambda _: [encoded])
            )
            record: dict[str, Any] = {
                "facts_sha256": hashlib.sha256(encoded).hexdigest(),
                # Built from caller-supplied data: kept whole, nothing else can prove them.
                "facts": orjson.loads(encoded),
            }
            if opa_id is not None:
                record["opa_decision_id"] = opa_id
            return (await self._record(decided, [record]))[0]

    async def _decide(self, snap: Snapshot, pipeline: Pipeline, query: Query) -> _Answer:
        """One query and its verification, with OPA's own decision id when OPA logs decisions;
        a new policy revision under the facts reloads."""
        started = time.perf_counter()
        try:
            answer: Answer = await snap.opa.query(query.entrypoint, query.body)
        finally:
            self.metrics.opa_latency.observe(time.perf_counter() - started)
        try:
            return pipeline.verify(answer, query), answer.decision_id
        except PolicyChangedError as err:
            self._schedule_reload(f"policy revision changed ({err})")
            raise PolicyChangedError(f"{err}; recomputing the facts, retry shortly") from None

    def _schedule_reload(self, reason: str) -> None:
        """Reload in the background, once at a time."""
        if self._pending_reload is None or self._pending_reload.done():
            self._pending_reload = asyncio.create_task(self._reload_quietly(reason))

    async def _reload_quietly(self, reason: str) -> None:
        try:
            await self.reload(reason)
        except Exception:  # logged by reload; the next mismatch tries again
            pass

    async def _record(
        self, decided: list[Decision], extras: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Give each decision an id, write its audit line, and only then hand it back."""
        now = utc_now()
        out: list[dict[str, Any]] = []
        lines: list[dict[str, Any]] = []
        ids = decision_ids(len(decided))
        for decision, extra, decision_id in zip(decided, extras, ids, strict=True):
            out.append({**decision, "decision_id": decision_id})
            lines.append(
                {
                    "type": "decision",
                    "decision_id": decision_id,
                    "time": now,
                    "entity": decision["entity"],
                    "as_of": decision["as_of"],
                    "decision": decision["decision"],
                    "reasons": decision["reasons"],
                    "policy_revision": decision["policy"]["revision"],
                    "ownership": decision["ownership"],
                    "policy": decision["policy"],
                    **({"regimes": decision["regimes"]} if "regimes" in decision else {}),
                    **extra,
                }
            )
        if self.audit is not None:
            await self.audit.append(lines)
        self.metrics.decided(d["decision"] for d in decided)
        return out
