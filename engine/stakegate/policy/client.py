"""Talking to OPA: opa-python-client for readiness, status and data reads, plus one lean query.

``PolicyClient`` (blocking) and ``AsyncPolicyClient`` (asyncio) are opa-python-client's
``OpaClient`` and ``AsyncOpaClient`` with the same failure contract added: a transport failure or
an answer later than the deadline is ``OpaUnavailableError``, an answer that is not a result is
``PolicyEvaluationError``, never a default.

Decision queries do not go through the library's ``query_rule``: it encodes the input with the
standard ``json`` module and decodes the answer with it, and on the hot path that costs more
than the policy does (with the standard module, JSON was a third of a screening's Python time).
``query`` posts the bytes the pipeline already encoded with orjson and decodes the answer with
orjson: the blocking client on the library's own session (its connection pool and headers), the
asynchronous one on the lean pool of ``transport.py``, whose docstring gives the measurement
that justifies it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests
from opa_client import AsyncOpaClient, OpaClient

from stakegate import settings
from stakegate.errors import InputError, OpaUnavailableError, PolicyEvaluationError
from stakegate.policy.transport import ConnectionPool

__all__ = ["Answer", "AsyncPolicyClient", "PolicyClient", "data_path", "split_url"]

# Answers are asked for uncompressed. requests offers gzip by default, and OPA then compresses
# every answer over 1 KB: on a 1M screening that was about 5% of OPA's CPU (pprof), plus the
# inflating here, to save bytes on what is nearly always a loopback or in-cluster link.
_PLAIN = {"Accept-Encoding": "identity"}
_JSON = {"Content-Type": "application/json", **_PLAIN}


@dataclass(frozen=True, slots=True)
class Answer:
    """One query's ``result``, the bundle revision OPA reported, and OPA's own decision id
    (present when OPA's decision logging is on)."""

    result: Any
    revision: str | None
    decision_id: str | None


def split_url(url: str) -> tuple[str, int, bool]:
    """``http(s)://HOST:PORT`` as host, port and whether it is https; anything else is bad input."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(
            f"{url!r}: expected http://HOST:PORT or https://HOST:PORT", param="opa_url"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InputError(f"{url!r}: give the server root, without a path", param="opa_url")
    try:
        port = parts.port
    except ValueError as err:
        raise InputError(f"{url!r}: {err}", param="opa_url") from None
    https = parts.scheme == "https"
    return parts.hostname, port or (443 if https else 80), https


def data_path(path: str) -> str:
    """``stakegate.main.decisions`` as the data API path ``stakegate/main/decisions``."""
    return path.replace(".", "/")


def _answer(path: str, url: str, status: int, body: bytes) -> Answer:
    """Check one data API response: a 200 with a ``result``, or an error that says why."""
    if status != 200:
        detail = body[:500].decode("utf-8", "replace")
        raise PolicyEvaluationError(f"OPA rejected the query data.{path} ({status}): {detail}")
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise PolicyEvaluationError(f"OPA answered data.{path} with non-JSON: {err}") from None
    if not isinstance(doc, dict) or "result" not in doc:
        raise PolicyEvaluationError(
            f"data.{path} is undefined at {url}: the stakegate policy is not loaded there "
            "(a policy that answers nothing is an error, never an allow)"
        )
    decision_id = doc.get("decision_id")
    return Answer(
        doc["result"],
        revision_from_provenance(doc.get("provenance")),
        decision_id if isinstance(decision_id, str) else None,
    )


def revision_from_provenance(provenance: object) -> str | None:
    """Bundle revision(s) OPA reports, or None when no loaded bundle declares one."""
    if isinstance(provenance, dict):
        bundles = provenance.get("bundles")
        if isinstance(bundles, dict):
            revisions = sorted(
                f"{name}@{info['revision']}" if len(bundles) > 1 else str(info["revision"])
                for name, info in bundles.items()
                if isinstance(info, dict) and info.get("revision")
            )
            if revisions:
                return ",".join(revisions)
        legacy = provenance.get("revision")
        if isinstance(legacy, str) and legacy:
            return legacy
    return None


class PolicyClient(OpaClient):  # type: ignore[misc]  # opa-python-client ships no types
    """A blocking client of one OPA server."""

    def __init__(self, url: str, *, timeout: float | None = None) -> None:
        host, port, https = split_url(url)
        super().__init__(
            host=host,
            port=port,
            ssl=https,
            timeout=settings.OPA_TIMEOUT if timeout is None else timeout,
            retries=0,  # a query that failed is reported, not repeated behind the caller's back
        )
        self.url = url.rstrip("/")

    def __repr__(self) -> str:
        return f"<PolicyClient url={self.url!r}>"

    def close(self) -> None:
        self.close_connection()

    def is_ready(self) -> bool:
        """True when OPA answers ``/health?bundles``: its bundles are activated."""
        return bool(self.check_health(query={"bundles": True}))

    def read(self, path: str) -> Answer:
        """``GET /v1/data/<path>``: a document that needs no input (e.g. the policy view)."""
        return self.query(path, None)

    def query(self, path: str, body: bytes | None) -> Answer:
        """``POST`` (``GET`` without a body) ``/v1/data/<path>`` with a pre-encoded body."""
        url = f"{self.root_url}/data/{data_path(path)}?provenance=true"
        try:
            if body is None:
                response = self._session.get(url, headers=_PLAIN, timeout=self.timeout)
            else:
                response = self._session.post(url, data=body, headers=_JSON, timeout=self.timeout)
        except requests.Timeout as err:
            raise OpaUnavailableError(
                f"OPA at {self.url} did not answer data.{path} within {self.timeout:g}s"
            ) from err
        except requests.RequestException as err:
            raise OpaUnavailableError(
                f"OPA at {self.url} did not answer data.{path}: {err}"
            ) from err
        return _answer(path, self.url, response.status_code, response.content)

    def status(self) -> Mapping[str, Any]:
        """OPA's status document (bundle activation and revisions); needs its status plugin."""
        try:
            status: Mapping[str, Any] = self.get_status()
        except requests.RequestException as err:
            raise OpaUnavailableError(
                f"OPA at {self.url} did not report its status: {err}"
            ) from err
        return status


class AsyncPolicyClient(AsyncOpaClient):  # type: ignore[misc]  # opa-python-client ships no types
    """A non-blocking client of one OPA server, with a deadline per query (the service's).

    Readiness and status go through opa-python-client; decision queries through the lean
    pool of ``transport.py``, the one place that measured overhead justifies."""

    def __init__(self, url: str, deadline: float) -> None:
        host, port, https = split_url(url)
        super().__init__(host=host, port=port, ssl=https, timeout=deadline, retries=0)
        self.url = url.rstrip("/")
        self.deadline = deadline
        self._pool = ConnectionPool(self.url, host, port, https)

    def __repr__(self) -> str:
        return f"<AsyncPolicyClient url={self.url!r} deadline={self.deadline:g}>"

    async def open(self) -> None:
        await self._init_session()

    async def close(self) -> None:
        self._pool.close()
        await self.close_connection()

    async def query(self, path: str, body: bytes) -> Answer:
        """``POST /v1/data/<path>`` with a pre-encoded body, within the deadline."""
        target = f"/{self.version}/data/{data_path(path)}?provenance=true"
        try:
            async with asyncio.timeout(self.deadline):
                status, content = await self._pool.post(target, body)
        except TimeoutError as err:
            raise OpaUnavailableError(
                f"OPA at {self.url} did not answer data.{path} within {self.deadline:g}s"
            ) from err
        except (OSError, ValueError, asyncio.LimitOverrunError) as err:
            raise OpaUnavailableError(
                f"OPA at {self.url} did not answer data.{path}: {err or type(err).__name__}"
            ) from err
        return _answer(path, self.url, status, content)

    async def unready_reason(self) -> str | None:
        """None when OPA reports its bundles activated, else why not."""
        if await self.check_health(query={"bundles": True}):
            return None
        return f"OPA at {self.url} is unreachable or its bundles are not activated"
