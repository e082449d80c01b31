"""``stakegate.Client``: how a Python service asks a stakegate server "may entity X use us?".

A thin, typed wrapper over the HTTP API with one pooled connection. It fails closed like the
engine: any transport failure, error status or answer that is not a well-formed decision for
the entity asked about raises an ``EngineError``; a caller can never read a failure as allow.

    with stakegate.Client("http://127.0.0.1:8000", api_key=...) as client:
        if client.decide("acme-sg")["decision"] != "allow":
            ...

A server started with ``serve --regimes`` answers every decision with ``regimes``: each
regime's own decision by name (docs/regimes.md); the client checks those too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, cast

import httpx

from stakegate.errors import PolicyEvaluationError, ServiceRequestError, ServiceUnavailableError
from stakegate.policy.decision import Outcome

__all__ = ["Client"]

_OUTCOMES = frozenset(o.value for o in Outcome)


class Client:
    """A connection to one stakegate decision server."""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8000",
        *,
        api_key: str | None = None,
        timeout: float = 5.0,
    ) -> None:
        headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    def __repr__(self) -> str:
        return f"<Client {self.base_url!r}>"

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def decide(self, entity_id: str) -> dict[str, Any]:
        """The decision for an entity of the server's registry, with its ``decision_id``."""
        return _checked(self._post("/v1/decisions", {"entity": entity_id}), entity_id)

    def decide_many(self, entity_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Decisions for several registry entities in one request, in the same order."""
        body = self._post("/v1/decisions", {"entities": list(entity_ids)})
        decisions = body.get("decisions")
        if not isinstance(decisions, list) or len(decisions) != len(entity_ids):
            raise PolicyEvaluationError(f"not one decision per entity: {str(body)[:200]}")
        return [_checked(d, e) for d, e in zip(decisions, entity_ids, strict=True)]

    def decide_facts(
        self, fragment: Mapping[str, Any], entity_id: str | None = None
    ) -> dict[str, Any]:
        """Decide on a registry fragment: ``entity_id`` (default: its first entity) and owners."""
        request: dict[str, Any] = {"facts": dict(fragment)}
        if entity_id is not None:
            request["entity"] = entity_id
        subject = entity_id or _first_entity(fragment)
        return _checked(self._post("/v1/decisions", request), subject)

    def health(self) -> dict[str, Any]:
        """The server's health; raises ``ServiceUnavailableError`` unless it is ready."""
        return self._send("GET", "/health", None)

    def changes(self, since: int | None = None, limit: int | None = None) -> dict[str, Any]:
        """The decisions that flipped on the server's reloads from seq ``since`` (default: the
        oldest it keeps): ``{"changes": [...], "next": SEQ}``; ask again with ``since=next``.
        Changes no longer kept raise ``ServiceRequestError`` with status 410 (nothing is
        skipped silently): screen again, or read the audit log."""
        params = {k: v for k, v in (("since", since), ("limit", limit)) if v is not None}
        body = self._send("GET", "/v1/changes", None, params)
        changes, next_seq = body.get("changes"), body.get("next")
        if not isinstance(changes, list) or type(next_seq) is not int:
            raise PolicyEvaluationError(f"not a changes page: {str(body)[:200]}")
        return body

    def reload(self) -> dict[str, Any]:
        """Ask the server to reload its registry and policy (needs an API key if it has any)."""
        return self._send("POST", "/v1/admin/reload", None)

    def _post(self, path: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        return self._send("POST", path, payload)

    def _send(
        self,
        method: str,
        path: str,
        payload: Mapping[str, Any] | None,
        params: Mapping[str, int] | None = None,
    ) -> dict[str, Any]:
        try:
            response = self._http.request(method, path, json=payload, params=params)
        except httpx.HTTPError as err:
            raise ServiceUnavailableError(
                f"stakegate at {self.base_url} did not answer {method} {path}: {err}"
            ) from err
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            error = body.get("error", {}) if isinstance(body, dict) else {}
            message = error.get("message") if isinstance(error, dict) else None
            text = f"{response.status_code} from {method} {path}: {message or response.text[:300]}"
            if response.status_code < 500:
                field = error.get("field") if isinstance(error, dict) else None
                raise ServiceRequestError(text, response.status_code, field)
            raise ServiceUnavailableError(text, response.status_code)
        if not isinstance(body, dict):
            raise PolicyEvaluationError(f"{method} {path} answered non-JSON: {response.text[:200]}")
        return cast(dict[str, Any], body)


def _checked(doc: object, entity_id: str | None) -> dict[str, Any]:
    """Accept only a decision for the entity asked about, with a known outcome and an id, and
    (side by side) a known outcome for the entity under every regime."""
    if (
        not isinstance(doc, dict)
        or doc.get("decision") not in _OUTCOMES
        or not doc.get("decision_id")
        or (entity_id is not None and doc.get("entity") != entity_id)
    ):
        raise PolicyEvaluationError(f"not a decision for {entity_id!r}: {str(doc)[:200]}")
    if "regimes" in doc:
        regimes = doc["regimes"]
        if (
            not isinstance(regimes, dict)
            or not regimes
            or not all(
                isinstance(d, dict)
                and d.get("decision") in _OUTCOMES
                and d.get("entity") == doc.get("entity")
                for d in regimes.values()
            )
        ):
            raise PolicyEvaluationError(
                f"not a side-by-side decision for {entity_id!r}: {str(doc)[:200]}"
            )
    return cast(dict[str, Any], doc)


def _first_entity(fragment: Mapping[str, Any]) -> str | None:
    entities = fragment.get("entities")
    if isinstance(entities, list) and entities and isinstance(entities[0], dict):
        first = entities[0].get("id")
        return first if isinstance(first, str) else None
    return None
