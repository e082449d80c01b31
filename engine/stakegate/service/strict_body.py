"""Request bodies read by the one strict JSON reading (``registry.strict_json``).

FastAPI decodes JSON bodies with ``json.loads``: the last of two equal keys wins, so
``{"facts": {..., "jurisdiction": "CN", "jurisdiction": "SG"}}`` would be decided as SG, and
``NaN`` passes as a number. Routes of ``StrictJsonRoute`` decode the body strictly first and
answer 422 with ``error.field`` naming the key path (``facts.entities[0].jurisdiction``);
FastAPI then reuses the decoded body, so nothing is parsed twice.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from stakegate.errors import FieldError, ParseError
from stakegate.registry.strict_json import loads

__all__ = ["StrictJsonRoute"]


class _StrictRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            try:
                self._json = loads(await self.body())
            except ParseError as e:
                raise FieldError(str(e), field=e.keypath() or "body") from None
        return self._json


def _is_json(request: Request) -> bool:
    """Whether FastAPI will read the body as JSON (no content type, or a JSON one)."""
    content_type = request.headers.get("content-type")
    if not content_type:
        return True
    main, _, sub = content_type.split(";")[0].strip().lower().partition("/")
    return main == "application" and (sub == "json" or sub.endswith("+json"))


class StrictJsonRoute(APIRoute):
    """An ``APIRoute`` whose JSON body is decoded strictly before validation."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            strict = _StrictRequest(request.scope, request.receive)
            if await strict.body() and _is_json(strict):
                await strict.json()  # raised here, the error reaches the app's handlers
            return await handler(strict)

        return strict_handler
