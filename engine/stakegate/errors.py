"""The one exception tree of stakegate.

Every failure the engine can explain is an ``EngineError``. The CLI catches it at the edge and
exits with the class's ``exit_code``; the service maps it to the class's ``http_status``. Nothing
else is caught, and no error is ever turned into an ``allow``.

    EngineError                        exit 1, 500: no decision could be made
    ├── OpaUnavailableError            OPA cannot be started or reached, or answers too late (503)
    │   ├── NotReadyError              the service has no registry and policy loaded (503)
    │   ├── PolicyChangedError         OPA now serves another revision than the facts (503)
    │   └── ServiceUnavailableError    a stakegate server did not answer, or answered 5xx
    ├── PolicyEvaluationError          OPA answered, but not with a verified decision (502)
    ├── FactsValidationError           facts the engine built fail their schema: a bug (500)
    ├── BundleVerificationError        a bundle's signature, manifest or approval fails (503)
    ├── AuditError                     the audit log cannot be written or does not verify (503)
    ├── ReportError                    a report cannot be rendered (PDF: Chromium fails)
    └── InputError                     exit 2, 422: bad usage or bad input
        ├── RegistryError              a registry file, record or field is wrong
        ├── ParseError                 JSON or YAML text is malformed or could be read two ways
        ├── OwnershipCycleError        a closed ownership cycle has no outside owner
        ├── DataFaultError             the registry has data faults (data_faults="error")
        ├── PolicyGateError            a policy fails the build gate (fmt, check, tests, params)
        ├── FieldError                 a request field is wrong (``field`` names it)
        │   ├── UnknownEntityError     the entity is not in the registry (404)
        │   ├── TooLargeError          the request asks for too much at once (413)
        │   └── ChangesGoneError       the changes asked for are no longer in the feed (410)
        └── ServiceRequestError        a stakegate server refused the request (4xx)

Library messages name parameters, not command-line flags: an ``InputError`` may carry ``param``
(``"opa_url"``), and the CLI edge spells it as the flag (``--opa-url``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

__all__ = [
    "AuditError",
    "BundleVerificationError",
    "ChangesGoneError",
    "DataFaultError",
    "EngineError",
    "FactsValidationError",
    "FieldError",
    "InputError",
    "NotReadyError",
    "OpaUnavailableError",
    "OwnershipCycleError",
    "ParseError",
    "PolicyChangedError",
    "PolicyEvaluationError",
    "PolicyGateError",
    "RegistryError",
    "ReportError",
    "ServiceRequestError",
    "ServiceUnavailableError",
    "TooLargeError",
    "UnknownEntityError",
]


class EngineError(Exception):
    """Base exception for all engine errors."""

    exit_code: ClassVar[int] = 1
    http_status: ClassVar[int] = 500


class OpaUnavailableError(EngineError):
    """OPA could not be started, reached, or did not answer within its deadline."""

    http_status: ClassVar[int] = 503


class NotReadyError(OpaUnavailableError):
    """The service has no loaded registry and policy yet (or any more)."""


class PolicyChangedError(OpaUnavailableError):
    """OPA answered under another policy revision than the facts were computed for."""


class ServiceUnavailableError(OpaUnavailableError):
    """No decision could be had from a stakegate server: unreachable, too slow, or 5xx."""

    def __init__(self, message: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class PolicyEvaluationError(EngineError):
    """OPA answered, but the answer is not a complete, valid decision."""

    http_status: ClassVar[int] = 502


class FactsValidationError(EngineError):
    """A document the engine built fails its JSON Schema; ``errors`` lists every violation."""

    def __init__(self, message: str, errors: Sequence[str] = ()) -> None:
        self.errors = list(errors)
        detail = "".join(f"\n  - {e}" for e in self.errors)
        super().__init__(f"{message}{detail}")


class BundleVerificationError(EngineError):
    """A policy bundle is unsigned, tampered with, signed by another key, or not approved."""

    http_status: ClassVar[int] = 503


class AuditError(EngineError):
    """The audit log cannot be written, or does not verify; no decision is answered without it."""

    http_status: ClassVar[int] = 503


class ReportError(EngineError):
    """A report could not be rendered: Chromium is missing, failed, or took too long (PDF)."""


class InputError(EngineError):
    """Bad usage or bad input data; the message names the file, record and field.

    ``param`` names the library parameter at fault (``"opa_url"``); the CLI shows it as its flag.
    """

    exit_code: ClassVar[int] = 2
    http_status: ClassVar[int] = 422

    def __init__(self, message: str, *, param: str | None = None) -> None:
        self.param = param
        self.detail = message
        super().__init__(f"{param}: {message}" if param else message)


class RegistryError(InputError):
    """A registry document is malformed or inconsistent."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        record: str | None = None,
        field: str | None = None,
    ) -> None:
        self.source = source
        self.record = record
        self.field = field
        where = ", ".join(
            part
            for part in (
                source,
                f"record {record}" if record else None,
                f"field {field!r}" if field else None,
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message)


class ParseError(InputError):
    """JSON or YAML text is malformed, too large, or could be read two ways.

    ``path`` is where in the document (keys and list indexes), ``parents`` the containers along
    it (the record a registry error names), ``line``/``column`` count from 1 where known. The
    strict readers raise it; each caller names its input (a file, a request field, a line).
    """

    def __init__(
        self,
        reason: str,
        path: Sequence[str | int] = (),
        *,
        line: int | None = None,
        column: int | None = None,
        parents: Sequence[object] = (),
    ) -> None:
        self.reason = reason
        self.path = tuple(path)
        self.line = line
        self.column = column
        self.parents = tuple(parents)
        where = self.keypath()
        super().__init__(f"{where}: {self.located()}" if where else self.located())

    def keypath(self, prefix: str = "") -> str:
        """``facts.entities[0].id``: the path as a request field names it."""
        out = prefix
        for part in self.path:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
        return out

    def located(self) -> str:
        """The reason with its line and column, where known."""
        if self.line is None:
            return self.reason
        column = f", column {self.column}" if self.column is not None else ""
        return f"{self.reason} (line {self.line}{column})"


class OwnershipCycleError(InputError):
    """Entities own each other wholly, with no outside owner: the shares cannot be solved."""

    # Cycles, and members of each, that the message lists (it counts the rest: a cycle may hold
    # millions of entities, and ``cycles`` keeps every one).
    LISTED: ClassVar[int] = 10

    def __init__(self, cycles: Sequence[Sequence[str]], source: str | None = None) -> None:
        self.cycles = [list(c) for c in cycles]
        shown = "; ".join(
            f"{len(c):,} entities: {_first(c, self.LISTED)}" for c in self.cycles[: self.LISTED]
        )
        if len(self.cycles) > self.LISTED:
            shown += f"; and {len(self.cycles) - self.LISTED:,} more cycles"
        prefix = f"{source}: " if source else ""
        super().__init__(
            f"{prefix}closed ownership cycle with no outside owner "
            f"(every member is wholly owned inside the cycle): {shown}"
        )


def _first(items: Sequence[str], limit: int) -> str:
    rest = len(items) - limit
    return ", ".join(items[:limit]) + (f", and {rest:,} more" if rest > 0 else "")


class DataFaultError(InputError):
    """The registry has data faults and the run stops on them (``data_faults="error"``)."""

    def __init__(self, faults: Sequence[str], source: str | None = None) -> None:
        self.faults = list(faults)
        self.source = source
        super().__init__(self.describe("data_faults='review'"))

    def describe(self, remedy: str) -> str:
        """The message, with ``remedy`` naming how to screen on (a parameter or a flag)."""
        prefix = f"{self.source}: " if self.source else ""
        count = len(self.faults)
        listed = "".join(f"\n  - {f}" for f in self.faults)
        plural = "s" if count != 1 else ""
        return f"{prefix}{count} data fault{plural} (screen on with {remedy}):{listed}"


class PolicyGateError(InputError):
    """A policy directory fails a step of the build gate; ``step`` names it."""

    def __init__(self, step: str, detail: str) -> None:
        self.step = step
        super().__init__(f"policy gate failed at {step}: {detail}")


class FieldError(InputError):
    """A request field is wrong; ``field`` names it (dotted path, list indexes in brackets)."""

    def __init__(self, message: str, field: str) -> None:
        self.field = field
        super().__init__(message)


class UnknownEntityError(FieldError):
    """The requested entity is not in the loaded registry."""

    http_status: ClassVar[int] = 404


class TooLargeError(FieldError):
    """The request asks for more than the service answers in one go."""

    http_status: ClassVar[int] = 413


class ChangesGoneError(FieldError):
    """The changes asked for fell out of the bounded feed, or predate this service process;
    ``oldest`` is the oldest seq still kept, ``next`` the next to be issued."""

    http_status: ClassVar[int] = 410

    def __init__(self, message: str, oldest: int, next_seq: int) -> None:
        self.oldest = oldest
        self.next = next_seq
        super().__init__(message, field="since")


class ServiceRequestError(InputError):
    """A stakegate server refused the request (4xx); ``status`` and ``field`` say why."""

    def __init__(self, message: str, status: int, field: str | None = None) -> None:
        self.status = status
        self.field = field
        super().__init__(message)
