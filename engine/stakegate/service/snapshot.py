"""One immutable view the service decides with: a registry, its facts, and the OPA answering.

Facts for every entity are computed and serialized once, when a snapshot is built (start-up and
every reload), so a decision costs one OPA query and a few byte joins. A reload builds a whole
new snapshot beside the old one and swaps a single reference; requests hold the snapshot they
started with (``inflight``), and the old one is closed only when the last of them finished.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from stakegate import settings
from stakegate.bundles.trust import check_remote_revision, verify_for_loading
from stakegate.logs import get_logger
from stakegate.policy.client import PolicyClient, PolicyParams
from stakegate.policy.pipeline import Screener, today
from stakegate.policy.runtime import LocalOpa
from stakegate.policy.schemas import validate
from stakegate.registry.load import load_registry
from stakegate.registry.model import Registry
from stakegate.service.audit import canonical
from stakegate.service.config import ServiceConfig
from stakegate.service.opa import AsyncOpa

__all__ = ["EntityFacts", "Snapshot", "build_snapshot"]

log = get_logger(__name__)

_VALIDATE_CHUNK = 2000


@dataclass(frozen=True, slots=True)
class EntityFacts:
    """One entity's OPA input, canonical JSON, and its hash as the audit log records it."""

    body: bytes
    sha256: str


@dataclass(eq=False)
class Snapshot:
    """Registry, precomputed facts, policy parameters and the OPA they were computed with."""

    generation: int
    registry: Registry
    registry_sha256: str
    params: PolicyParams
    revision: str
    fallback_revision: str
    facts: dict[str, EntityFacts]
    opa: AsyncOpa
    local: LocalOpa | None = None
    inflight: int = 0
    retired: bool = False
    drained: asyncio.Event = field(default_factory=asyncio.Event)

    def __repr__(self) -> str:
        return (
            f"<Snapshot generation={self.generation} registry={self.registry.source!r} "
            f"entities={len(self.facts)} revision={self.revision!r}>"
        )

    def answered_revision(self, reported: str | None) -> str:
        return reported or self.fallback_revision

    async def close(self) -> None:
        """Wait until no request uses this snapshot, then release its OPA."""
        self.retired = True
        if self.inflight:
            await self.drained.wait()
        await self.opa.close()
        if self.local is not None:
            await asyncio.to_thread(self.local.stop)


def _sha256_file(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def build_snapshot(config: ServiceConfig, generation: int) -> Snapshot:
    """Load the registry, start or reach OPA, compute every entity's facts (blocking)."""
    started = time.perf_counter()
    registry = load_registry(config.registry)
    registry_sha = _sha256_file(config.registry)
    local: LocalOpa | None = None
    day = config.as_of or today()
    expected = None
    if config.opa_url:
        url, fallback = config.opa_url, "unknown"
        if config.policy is not None:  # the bundle the remote OPA must serve (trust.py)
            expected = verify_for_loading(config.policy, config.trust, day)
    else:
        local = LocalOpa(config.policy or settings.DEFAULT_POLICY, trust=config.trust, as_of=day)
        local.start()
        url, fallback = local.url, local.revision
    try:
        client = PolicyClient(url, fallback_revision=fallback)
        try:
            if expected is not None:
                client.params()  # records the revision the remote OPA reports
                check_remote_revision(url, client.revision, expected)
            screener = Screener(client, registry, config.as_of)
        finally:
            client.close()
        facts = _precompute(screener, config.as_of or today())
    except BaseException:
        if local is not None:
            local.stop()
        raise
    snapshot = Snapshot(
        generation=generation,
        registry=registry,
        registry_sha256=registry_sha,
        params=screener.params,
        revision=client.revision or fallback,
        fallback_revision=fallback,
        facts=facts,
        opa=AsyncOpa(url, config.opa_deadline),
        local=local,
    )
    log.info(
        "Snapshot built",
        generation=generation,
        registry=str(config.registry),
        entities=len(facts),
        policy_revision=snapshot.revision,
        opa_url=url,
        seconds=round(time.perf_counter() - started, 3),
    )
    return snapshot


def _precompute(screener: Screener, as_of: date) -> dict[str, EntityFacts]:
    """Every entity's facts, validated against the facts schema once, then frozen as bytes."""
    ids = list(screener.facts.registry.entities)
    out: dict[str, EntityFacts] = {}
    for start in range(0, len(ids), _VALIDATE_CHUNK):
        chunk = ids[start : start + _VALIDATE_CHUNK]
        docs = [screener.facts.entity_facts(entity_id) for entity_id in chunk]
        validate("facts", {"as_of": as_of.isoformat(), "entities": docs}, "facts document")
        for entity_id, doc in zip(chunk, docs, strict=True):
            body = canonical(doc).encode()
            out[entity_id] = EntityFacts(body, hashlib.sha256(body).hexdigest())
    return out
