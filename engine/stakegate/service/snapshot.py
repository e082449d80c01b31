"""One immutable view the service decides with: a registry's pipeline and the OPA answering it.

Facts for every entity are computed and encoded once, when a snapshot is built (start-up and
every reload), by the same ``Pipeline`` the CLI uses, so a decision costs one OPA query and a
few byte joins. A reload builds a whole new snapshot beside the old one and swaps a single
reference; requests hold the snapshot they started with (``inflight``), and the old one is
closed only when the last of them finished.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from stakegate import settings
from stakegate.bundles.trust import check_remote_revision, verify_for_loading
from stakegate.logs import get_logger
from stakegate.policy.client import AsyncPolicyClient, PolicyClient
from stakegate.policy.pipeline import Connection, Pipeline, today
from stakegate.policy.runtime import LocalOpa
from stakegate.policy.view import PolicyView
from stakegate.registry.load import load_registry
from stakegate.registry.model import Registry
from stakegate.service.config import ServiceConfig

__all__ = ["EntityFacts", "Snapshot", "build_snapshot"]

log = get_logger(__name__)

_ENCODE_CHUNK = 2000


@dataclass(frozen=True, slots=True)
class EntityFacts:
    """One entity's facts as sent to OPA, and the sha256 of those bytes (the audit records it)."""

    body: bytes
    sha256: str


@dataclass(eq=False)
class Snapshot:
    """A registry's pipeline, its encoded facts, and the OPA they were computed for."""

    generation: int
    registry_sha256: str
    pipeline: Pipeline
    facts: dict[str, EntityFacts]
    opa: AsyncPolicyClient
    local: LocalOpa | None = None
    # Every entity's outcome, in registry order, once screened (service/flips.py).
    outcomes: bytearray | None = None
    inflight: int = 0
    retired: bool = False
    drained: asyncio.Event = field(default_factory=asyncio.Event)

    def __repr__(self) -> str:
        return (
            f"<Snapshot generation={self.generation} registry={self.registry.source!r} "
            f"entities={len(self.facts)} revision={self.revision!r}>"
        )

    @property
    def registry(self) -> Registry:
        return self.pipeline.registry

    def encoded(self, entity_ids: Sequence[str]) -> list[bytes]:
        """The facts of ``entity_ids`` as encoded once for this snapshot (``Pipeline.query``
        takes them for the entities it sends whole)."""
        facts = self.facts
        return [facts[e].body for e in entity_ids]

    @property
    def view(self) -> PolicyView:
        return self.pipeline.view

    @property
    def revision(self) -> str:
        return self.pipeline.view.revision

    async def open(self) -> None:
        """Open the asynchronous client (on the event loop that will use it)."""
        await self.opa.open()

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
    """Load the registry, start or reach OPA, read its view, encode every entity's facts.

    Blocking; the caller opens the snapshot's asynchronous client on its event loop."""
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
        client = PolicyClient(url)
        try:
            connection = Connection(client, fallback, local)
            if expected is not None:
                check_remote_revision(url, connection.reported_revision, expected)
            view = connection.view
        finally:
            client.close()
        pipeline = Pipeline(view, registry, day, regimes=config.regimes)
        facts = _encode(pipeline)
    except BaseException:
        if local is not None:
            local.stop()
        raise
    snapshot = Snapshot(
        generation=generation,
        registry_sha256=registry_sha,
        pipeline=pipeline,
        facts=facts,
        opa=AsyncPolicyClient(url, config.opa_deadline),
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


def _encode(pipeline: Pipeline) -> dict[str, EntityFacts]:
    """Every entity's facts, encoded once (by construction, see ``Pipeline.encoded``), then
    frozen as bytes."""
    ids = list(pipeline.registry.entities)
    out: dict[str, EntityFacts] = {}
    for start in range(0, len(ids), _ENCODE_CHUNK):
        chunk = ids[start : start + _ENCODE_CHUNK]
        for entity_id, body in zip(chunk, pipeline.encoded(chunk), strict=True):
            out[entity_id] = EntityFacts(body, hashlib.sha256(body).hexdigest())
    return out
