"""Bounds on client connections: deadlines for reading a request, and a connection cap.

uvicorn (0.54, httptools protocol) arms its only timer, keep-alive, after a response was sent:
a client that connects and sends nothing, half a request line, or headers and part of a body
holds its socket for ever, and ~20k of them exhaust the file descriptors the audit log and OPA
need. ``limit_concurrency`` does not help: it still accepts every connection, and once the count
is reached it answers *every* request 503, so held sockets would turn real requests away.

So the service runs a subclass of uvicorn's protocol with two deadlines and a cap:

* headers must be complete within ``header_timeout`` seconds of connecting (or of the first
  byte of the next request on a kept-alive connection): else ``408`` and the socket is closed.
  A connection on which no byte of a request arrived is closed without an answer, as an idle
  keep-alive connection is: a client that opened it ahead of use and sends its request just as
  the deadline passes would otherwise read the 408 as the answer to that request;
* the body must be complete within ``body_timeout`` seconds of the headers: else the socket is
  closed (``408`` if no response was started), and the application sees a disconnect;
* at most ``max_connections`` are open. A new one beyond that closes the connection that has
  waited longest without a request being answered on it (idle keep-alive, or still sending), so
  clients with complete requests keep being served while half-sent ones pile up. Only when
  every connection is being answered is the newcomer refused (``503``).
"""

from __future__ import annotations

import asyncio
import resource
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from stakegate.errors import InputError
from stakegate.logs import get_logger

__all__ = ["ConnectionLimits", "bounded_protocol", "ensure_descriptors"]

log = get_logger(__name__)

# File descriptors kept free besides two per client connection (its socket, and an OPA
# connection while it is answered): the listening socket, audit files, OPA's pool, libraries.
_RESERVED_FDS = 256


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout: float
    body_timeout: float
    max_connections: int


def _reply(status: bytes, message: bytes) -> bytes:
    return b"".join(
        (
            b"HTTP/1.1 ",
            status,
            b"\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: ",
            str(len(message)).encode(),
            b"\r\n\r\n",
            message,
        )
    )


_TIMEOUT = _reply(
    b"408 Request Timeout",
    b'{"error":{"type":"RequestTimeout","message":"request not received in time"}}',
)
_FULL = _reply(
    b"503 Service Unavailable",
    b'{"error":{"type":"TooManyConnections","message":"too many open connections"}}',
)


class _Table:
    """Open connections, and those that may be closed to make room, oldest first."""

    def __init__(self) -> None:
        self.live: set[BoundedProtocol] = set()
        self.evictable: OrderedDict[BoundedProtocol, None] = OrderedDict()


class BoundedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with request read deadlines and a connection cap."""

    limits: ConnectionLimits
    table: _Table

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._begun = False  # a byte of the current request has arrived

    def _arm(self, seconds: float, late: Any) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, late)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _set_evictable(self, evictable: bool) -> None:
        if evictable:
            self.table.evictable[self] = None
            self.table.evictable.move_to_end(self)
        else:
            self.table.evictable.pop(self, None)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        table = self.table
        table.live.add(self)
        self._set_evictable(True)
        self._arm(self.limits.header_timeout, self._headers_late)
        if len(table.live) > self.limits.max_connections:
            victim = next((p for p in table.evictable if p is not self), None)
            if victim is None:
                log.warning("Connection refused: every connection is being answered")
                self._close(_FULL)
            else:
                victim._close(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self.table.live.discard(self)
        self._set_evictable(False)
        super().connection_lost(exc)

    def _close(self, reply: bytes | None) -> None:
        self._disarm()
        self.table.live.discard(self)
        self._set_evictable(False)
        if not self.transport.is_closing():
            if reply is not None:
                self.transport.write(reply)
            self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._begun = True
        if self._deadline is None:  # the first byte of a request on a kept-alive connection
            self._arm(self.limits.header_timeout, self._headers_late)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._arm(self.limits.body_timeout, self._body_late)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._begun = False
        self._disarm()
        self._set_evictable(False)  # its answer is being made: never closed to make room

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._set_evictable(True)

    def _headers_late(self) -> None:
        self._deadline = None
        answering = self.cycle is not None and not self.cycle.response_complete
        self._close(_TIMEOUT if self._begun and not answering else None)

    def _body_late(self) -> None:
        self._deadline = None
        started = self.cycle is not None and self.cycle.response_started
        self._close(None if started else _TIMEOUT)


def bounded_protocol(limits: ConnectionLimits) -> type[BoundedProtocol]:
    """A protocol class for ``uvicorn.Config(http=...)``, with its own connection table."""
    return type("StakegateHttpProtocol", (BoundedProtocol,), {"limits": limits, "table": _Table()})


def ensure_descriptors(max_connections: int) -> int:
    """Raise the soft file-descriptor limit to fit ``max_connections``, or refuse (exit 2)."""
    needed = 2 * max_connections + _RESERVED_FDS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            raise InputError(
                f"{max_connections} connections (STAKEGATE_SERVICE_MAX_CONNECTIONS) need "
                f"{needed} file descriptors, but the limit is {hard} (ulimit -Hn): lower "
                "the setting or raise the limit"
            )
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
        log.info("Raised the file descriptor limit", soft=needed, hard=hard)
    return needed
