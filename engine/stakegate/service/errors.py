"""Errors only the decision service raises, each mapped to an HTTP status by ``app.HANDLERS``.

They extend the engine's hierarchy (``stakegate.exc``) so the CLI's exit codes still hold when
the same code runs outside the service: a missing entity is bad input, a service that is not
ready or whose policy just changed could not make a decision.
"""

from __future__ import annotations

from stakegate.exc import InputError, OpaUnavailableError

__all__ = [
    "FieldError",
    "NotReadyError",
    "PolicyChangedError",
    "TooLargeError",
    "UnknownEntityError",
]


class FieldError(InputError):
    """A request field is wrong; ``field`` names it (dotted path, list indexes in brackets)."""

    def __init__(self, message: str, field: str) -> None:
        self.field = field
        super().__init__(message)


class UnknownEntityError(FieldError):
    """The requested entity is not in the loaded registry."""


class TooLargeError(FieldError):
    """The request asks for more than the service answers in one go."""


class NotReadyError(OpaUnavailableError):
    """The service has no loaded registry and policy yet (or any more)."""


class PolicyChangedError(OpaUnavailableError):
    """OPA answered under another policy revision than the facts were computed for."""
