"""Each reload's flips POSTed to ``--notify-url``: at least once, bounded, recorded, never blocking.

A reload hands its changes over as one JSON document (split into parts of at most
``SERVICE_NOTIFY_MAX_CHANGES`` changes); a background task POSTs the documents in order, one at a
time. A document is delivered when the receiver answers 2xx; a transport error, a timeout, 408,
425, 429 or 5xx is retried with exponential backoff (and jitter); any other status means the
receiver refuses it. Everything is bounded: documents waiting (``SERVICE_NOTIFY_QUEUE``; when
full, the oldest waiting one is given up), attempts per document (``SERVICE_NOTIFY_ATTEMPTS``),
time per attempt (``SERVICE_NOTIFY_TIMEOUT``) and per document (``SERVICE_NOTIFY_GIVE_UP``
seconds after it was queued). Each document ends in an audit line ``notify`` with ``result``
``delivered`` or ``gave_up`` (and why); failures show on ``/health`` (which stays 200: decisions
do not depend on the receiver) and in metrics. A receiver may get a document twice (a lost 2xx):
the document's ``id`` and the changes' ``seq`` identify repeats.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
import orjson

from stakegate import settings
from stakegate.errors import AuditError, InputError
from stakegate.logs import get_logger
from stakegate.service.audit.chain import utc_now
from stakegate.service.metrics import Metrics

__all__ = ["Notifier", "NotifyLimits", "check_notify_url"]

log = get_logger(__name__)

# Statuses worth trying again; any other non-2xx status is the receiver refusing the document.
_RETRYABLE: Final = frozenset({408, 425, 429})
# Longest wait between two attempts.
_MAX_BACKOFF_S: Final = 60.0
AuditAppend = Callable[[list[dict[str, Any]]], Awaitable[None]]


def check_notify_url(url: str) -> str:
    """An absolute http(s) URL with a host; anything else is refused before the service starts."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"{url!r}: expected an http:// or https:// URL", param="notify_url")
    return url


@dataclass(frozen=True)
class NotifyLimits:
    """The bounds of delivery (docs/DEPLOYMENT.md, "Changes feed and notifications")."""

    queue: int = field(default_factory=lambda: settings.SERVICE_NOTIFY_QUEUE)
    attempts: int = field(default_factory=lambda: settings.SERVICE_NOTIFY_ATTEMPTS)
    timeout: float = field(default_factory=lambda: settings.SERVICE_NOTIFY_TIMEOUT)
    backoff: float = field(default_factory=lambda: settings.SERVICE_NOTIFY_BACKOFF)
    give_up: float = field(default_factory=lambda: settings.SERVICE_NOTIFY_GIVE_UP)
    max_changes: int = field(default_factory=lambda: settings.SERVICE_NOTIFY_MAX_CHANGES)

    def __post_init__(self) -> None:
        if min(self.queue, self.attempts, self.max_changes) < 1:
            raise InputError("STAKEGATE_SERVICE_NOTIFY_QUEUE, _ATTEMPTS, _MAX_CHANGES: at least 1")
        if not all(0 < v < 86400 for v in (self.timeout, self.backoff, self.give_up)):
            raise InputError(
                "STAKEGATE_SERVICE_NOTIFY_TIMEOUT, _BACKOFF, _GIVE_UP: seconds, above 0 and "
                "below a day"
            )


@dataclass
class _Document:
    id: str
    body: bytes
    summary: dict[str, Any]  # what the audit line says about it
    queued: float = field(default_factory=time.monotonic)
    finished: bool = False  # delivered or given up (its audit line may be on its way)


class Notifier:
    """The queue of documents to POST, the task that POSTs them, and what /health shows."""

    def __init__(
        self, url: str, metrics: Metrics, audit: AuditAppend | None, limits: NotifyLimits
    ) -> None:
        self.url = check_notify_url(url)
        self.metrics = metrics
        self.audit = audit
        self.limits = limits
        self._queue: deque[_Document] = deque()  # waiting, oldest first
        self._current: _Document | None = None  # being delivered
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self.delivered = 0
        self.gave_up = 0
        self.failing = False
        self.last_error: str | None = None
        self.last_error_at: str | None = None

    def __repr__(self) -> str:
        return f"<Notifier pending={len(self._queue)} delivered={self.delivered}>"

    @property
    def pending(self) -> int:
        return len(self._queue) + (self._current is not None)

    def health(self) -> dict[str, Any]:
        """What ``/health`` says about notifications (the receiver's host only: a URL may
        carry a token)."""
        return {
            "receiver": urlsplit(self.url).hostname,
            "status": "failing" if self.failing else "ok",
            "pending": self.pending,
            "delivered": self.delivered,
            "gave_up": self.gave_up,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
        }

    def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self.limits.timeout, follow_redirects=False)
        self._task = asyncio.create_task(self._run(), name="stakegate-notify")

    async def stop(self) -> None:
        """Stop delivering; documents still waiting are given up, and recorded."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._current is not None and not self._current.finished:
            self._queue.appendleft(self._current)
        self._current = None
        while self._queue:
            await self._give_up(self._queue.popleft(), 0, "the service stopped")
        if self._client is not None:
            await self._client.aclose()

    async def submit(self, reload: dict[str, Any], changes: list[bytes], first_seq: int) -> None:
        """Queue one reload's changes (encoded, consecutive from ``first_seq``) in parts."""
        size = self.limits.max_changes
        parts = (len(changes) + size - 1) // size
        for part in range(parts):
            chunk = changes[part * size : (part + 1) * size]
            first = first_seq + part * size
            summary = {
                "first_seq": first,
                "last_seq": first + len(chunk) - 1,
                "changes": len(chunk),
                "part": part + 1,
                "parts": parts,
                "generation": reload["generation"],
            }
            doc_id = str(uuid.uuid4())
            body = orjson.dumps(
                {
                    "id": doc_id,
                    "type": "stakegate.changes",
                    "reload": reload,
                    **{k: summary[k] for k in ("part", "parts", "first_seq", "last_seq")},
                    "changes": [orjson.Fragment(c) for c in chunk],
                }
            )
            if len(self._queue) >= self.limits.queue:
                await self._give_up(self._queue.popleft(), 0, "the notification queue is full")
            self._queue.append(_Document(doc_id, body, summary))
        self._wake.set()

    async def _run(self) -> None:
        while True:
            while not self._queue:
                self._wake.clear()
                await self._wake.wait()
            self._current = self._queue.popleft()
            await self._deliver(self._current)
            self._current = None

    async def _deliver(self, doc: _Document) -> None:
        """POST ``doc`` until delivered or given up."""
        assert self._client is not None
        limits = self.limits
        attempt = 0
        while True:
            attempt += 1
            error, status, retry = await self._post(doc)
            if error is None:
                self.metrics.notified("delivered")
                self.delivered += 1
                self.failing = False
                doc.finished = True
                await self._record(doc, "delivered", attempt, status=status)
                return
            self.metrics.notified("failed_attempt")
            self.failing = True
            self.last_error, self.last_error_at = error, utc_now()
            log.warning("Notification failed", delivery=doc.id, attempt=attempt, error=error)
            delay = min(limits.backoff * 2 ** (attempt - 1), _MAX_BACKOFF_S)
            delay += random.uniform(0, delay / 4)
            waited = time.monotonic() - doc.queued
            why = None
            if not retry:
                why = f"the receiver refused it: {error}"
            elif attempt >= limits.attempts:
                why = f"{attempt} attempts failed, the last: {error}"
            elif waited + delay > limits.give_up:
                why = f"not delivered within {limits.give_up:g}s, the last error: {error}"
            if why is not None:
                await self._give_up(doc, attempt, why, status)
                return
            await asyncio.sleep(delay)

    async def _post(self, doc: _Document) -> tuple[str | None, int | None, bool]:
        """One attempt: (error or None, HTTP status, whether trying again may help)."""
        assert self._client is not None
        headers = {"content-type": "application/json", "idempotency-key": doc.id}
        try:
            # The whole attempt is bounded (a receiver trickling its answer byte by byte), and
            # the answer's body is never read: only its status counts.
            async with asyncio.timeout(self.limits.timeout):
                request = self._client.stream("POST", self.url, content=doc.body, headers=headers)
                async with request as response:
                    status = response.status_code
        except (httpx.HTTPError, TimeoutError) as err:
            return f"{type(err).__name__}: {err}"[:300], None, True
        if 200 <= status < 300:
            return None, status, False
        return f"HTTP {status}", status, status >= 500 or status in _RETRYABLE

    async def _give_up(
        self, doc: _Document, attempts: int, why: str, status: int | None = None
    ) -> None:
        doc.finished = True
        self.metrics.notified("gave_up")
        self.gave_up += 1
        self.failing = True
        self.last_error, self.last_error_at = why, utc_now()
        log.error("Notification given up", delivery=doc.id, attempts=attempts, reason=why)
        await self._record(doc, "gave_up", attempts, status=status, reason=why)

    async def _record(self, doc: _Document, result: str, attempts: int, **extra: Any) -> None:
        if self.audit is None:
            return
        record = {
            "type": "notify",
            "time": utc_now(),
            "delivery": doc.id,
            "result": result,
            "attempts": attempts,
            **doc.summary,
            **{k: v for k, v in extra.items() if v is not None},
        }
        try:
            await self.audit([record])
        except AuditError as err:  # the audit log's own failure is on /health already
            log.error("Notification audit line not written", delivery=doc.id, error=str(err))
