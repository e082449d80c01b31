"""The service's hot path to OPA: one pooled HTTP/1.1 query per decision, under a deadline.

``PolicyClient`` (blocking, ``requests``) is what the CLI and the start-up of each snapshot
use; answering many concurrent requests needs a non-blocking client with keep-alive
connections instead. The failure contract is the same: a transport failure or an answer later
than the deadline is ``OpaUnavailableError`` (503), an answer that is not a result is
``PolicyEvaluationError``; never a default. Every query asks for OPA's provenance, so each
decision records the bundle revision that actually answered it.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

import orjson

from stakegate.errors import InputError, OpaUnavailableError, PolicyEvaluationError
from stakegate.policy.client import _revision_from_provenance

__all__ = ["AsyncOpa"]


class _Connection:
    """One keep-alive HTTP/1.1 connection to OPA (plain HTTP: OPA is a local sidecar)."""

    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    def close(self) -> None:
        self.writer.close()

    async def request(self, head: bytes, body: bytes) -> tuple[int, bytes, bool]:
        """Send one request; status, body, and whether the connection may be reused."""
        self.writer.write(head + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw[:-4].decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        reusable = headers.get("connection", "").lower() != "close"
        if "content-length" in headers:
            return status, await self.reader.readexactly(int(headers["content-length"])), reusable
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                data = await self.reader.readexactly(size + 2)
                if size == 0:
                    return status, b"".join(chunks), reusable
                chunks.append(data[:-2])
        return status, await self.reader.read(), False


class AsyncOpa:
    """Queries ``data.<path>`` of one OPA server over pooled connections; bodies pre-serialized.

    A minimal HTTP/1.1 client rather than a general one: this is the whole per-decision
    overhead, and a general async client costs more CPU per query than OPA's evaluation.
    """

    __slots__ = ("_host", "_idle", "_port", "deadline", "max_idle", "url")

    def __init__(self, url: str, deadline: float, max_idle: int = 64) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise InputError(f"--opa-url {url!r}: the service talks plain http://HOST:PORT")
        self.url = url.rstrip("/")
        self._host = parts.hostname
        self._port = parts.port or 80
        self.deadline = deadline
        self.max_idle = max_idle
        self._idle: list[_Connection] = []

    def __repr__(self) -> str:
        return f"<AsyncOpa url={self.url!r} deadline={self.deadline:g}>"

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    async def _send(self, method: str, target: str, body: bytes) -> tuple[int, bytes]:
        head = (
            f"{method} {target} HTTP/1.1\r\nHost: {self._host}:{self._port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        # A pooled connection may have been closed by OPA while idle: then retry once on a new
        # one. Queries are reads, so sending one twice changes nothing.
        for attempt in (0, 1):
            pooled = bool(self._idle) and attempt == 0
            if pooled:
                conn = self._idle.pop()
            else:
                conn = _Connection(*await asyncio.open_connection(self._host, self._port))
            try:
                status, data, reusable = await conn.request(head, body)
            except (ConnectionError, asyncio.IncompleteReadError) as err:
                conn.close()
                if pooled:
                    continue
                raise OpaUnavailableError(
                    f"OPA at {self.url} dropped the connection: {err}"
                ) from err
            except BaseException:  # deadline, cancellation: the connection state is unknown
                conn.close()
                raise
            if reusable and len(self._idle) < self.max_idle:
                self._idle.append(conn)
            else:
                conn.close()
            return status, data
        raise AssertionError("unreachable")

    async def query(self, path: str, body: bytes) -> tuple[Any, str | None, str | None]:
        """POST ``{"input": ...}`` (``body``) to ``/v1/data/<path>``: result, revision, and
        OPA's ``decision_id`` (present when OPA's decision logging is on)."""
        target = f"/v1/data/{path.replace('.', '/')}?provenance=true"
        try:
            async with asyncio.timeout(self.deadline):
                status, data = await self._send("POST", target, body)
        except TimeoutError as err:
            raise OpaUnavailableError(
                f"OPA at {self.url} did not answer data.{path} within {self.deadline:g}s"
            ) from err
        except (OSError, ValueError, asyncio.LimitOverrunError) as err:
            raise OpaUnavailableError(
                f"OPA at {self.url} did not answer data.{path}: {err or type(err).__name__}"
            ) from err
        if status != 200:
            raise PolicyEvaluationError(
                f"OPA rejected the query data.{path} ({status}): {data[:500]!r}"
            )
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError as err:
            raise PolicyEvaluationError(f"OPA answered data.{path} with non-JSON: {err}") from err
        if not isinstance(doc, dict) or "result" not in doc:
            raise PolicyEvaluationError(
                f"policy query data.{path} is undefined at {self.url}; is the stakegate policy "
                "loaded? (a policy that returns undefined is an error, never an allow)"
            )
        decision_id = doc.get("decision_id")
        return (
            doc["result"],
            _revision_from_provenance(doc.get("provenance")),
            decision_id if isinstance(decision_id, str) and decision_id else None,
        )

    async def healthy(self, timeout: float = 1.0) -> str | None:
        """None when OPA reports its bundles activated, else why not."""
        try:
            async with asyncio.timeout(timeout):
                status, data = await self._send("GET", "/health?bundles", b"")
        except (TimeoutError, OSError, ValueError, OpaUnavailableError) as err:
            return f"OPA at {self.url} is unreachable: {err or type(err).__name__}"
        if status != 200:
            return f"OPA at {self.url} is not ready (bundles not activated): {data[:200]!r}"
        return None
