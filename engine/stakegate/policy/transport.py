"""The one hand-written piece of HTTP: pooled keep-alive HTTP/1.1 posts for the service's queries.

Everything else that talks to OPA goes through opa-python-client (``client.py``). The service's
decision queries do not, because that is the whole per-decision overhead and the library's
asynchronous client costs several times this pool. Measured on the 2-core development machine,
2,000 sequential single-entity decision queries against one OPA (Python CPU per query, two
runs): opa-python-client's aiohttp session 388 and 392 us, this pool 103 and 72 us. A
single-entity decision of the service costs about 1 ms of CPU in all, so aiohttp would add a
third, against the target of at most twice a bare OPA query's latency; ``bench/bench_service.py``
measures the whole service against bare OPA in one run (numbers in docs/DEPLOYMENT.md).

Plain HTTP/1.1 with ``Content-Length`` (OPA's answers), chunked answers read too; TLS through
the standard library when the URL is https. A pooled connection that OPA closed while idle is
retried once on a new one: queries are reads, so sending one twice changes nothing.
"""

from __future__ import annotations

import asyncio
import ssl

from stakegate.errors import OpaUnavailableError

__all__ = ["ConnectionPool"]


class _Connection:
    """One keep-alive HTTP/1.1 connection."""

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


class ConnectionPool:
    """Keep-alive connections to one server; ``post`` returns the status and the body."""

    __slots__ = ("_host", "_idle", "_port", "_tls", "max_idle", "url")

    def __init__(self, url: str, host: str, port: int, https: bool, max_idle: int = 64) -> None:
        self.url = url
        self._host, self._port = host, port
        self._tls = ssl.create_default_context() if https else None
        self.max_idle = max_idle
        self._idle: list[_Connection] = []

    def __repr__(self) -> str:
        return f"<ConnectionPool {self.url!r} idle={len(self._idle)}>"

    def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    async def post(self, target: str, body: bytes) -> tuple[int, bytes]:
        head = (
            f"POST {target} HTTP/1.1\r\nHost: {self._host}:{self._port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        for attempt in (0, 1):
            pooled = bool(self._idle) and attempt == 0
            if pooled:
                conn = self._idle.pop()
            else:
                streams = await asyncio.open_connection(self._host, self._port, ssl=self._tls)
                conn = _Connection(*streams)
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
