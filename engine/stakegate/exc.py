"""The one exception hierarchy of stakegate.

Every failure the engine can explain is an ``EngineError``; the CLI catches it at the edge and
exits with the class's ``exit_code``. Anything that is not an ``EngineError`` is a bug and keeps
its traceback. No error is ever turned into an ``allow``.

    EngineError                      exit 1: no decision could be made
    ├── OpaUnavailableError          OPA cannot be started, reached, or answers too late
    ├── PolicyEvaluationError        OPA answered, but not with a verified decision
    ├── BundleVerificationError      a bundle's signature, manifest or approval does not check
    └── InputError                   exit 2: bad usage or bad input
        ├── RegistryError            a registry file, record or field is wrong
        ├── FactsValidationError     facts or decisions fail their JSON Schema
        ├── OwnershipCycleError      a closed ownership cycle has no outside owner
        └── DataFaultError           the registry has data faults (--data-faults error)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

__all__ = [
    "BundleVerificationError",
    "DataFaultError",
    "EngineError",
    "FactsValidationError",
    "InputError",
    "OpaUnavailableError",
    "OwnershipCycleError",
    "PolicyEvaluationError",
    "RegistryError",
]


class EngineError(Exception):
    """Base exception for all engine errors."""

    exit_code: ClassVar[int] = 1


class OpaUnavailableError(EngineError):
    """OPA could not be started, reached, or did not answer within its deadline."""


class PolicyEvaluationError(EngineError):
    """OPA answered, but the answer is not a complete, valid decision."""


class BundleVerificationError(EngineError):
    """A policy bundle is unsigned, tampered with, signed by another key, or not approved."""


class InputError(EngineError):
    """Bad usage or bad input data; the message names the file, record and field."""

    exit_code: ClassVar[int] = 2


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


class FactsValidationError(InputError):
    """A document fails its JSON Schema; ``errors`` lists every violation found."""

    def __init__(self, message: str, errors: Sequence[str] = ()) -> None:
        self.errors = list(errors)
        detail = "".join(f"\n  - {e}" for e in self.errors)
        super().__init__(f"{message}{detail}")


class OwnershipCycleError(InputError):
    """Entities own each other wholly, with no outside owner: the shares cannot be solved."""

    def __init__(self, cycles: Sequence[Sequence[str]], source: str | None = None) -> None:
        self.cycles = [list(c) for c in cycles]
        shown = "; ".join(" -> ".join(c) for c in self.cycles)
        prefix = f"{source}: " if source else ""
        super().__init__(
            f"{prefix}closed ownership cycle with no outside owner "
            f"(every member is wholly owned inside the cycle): {shown}"
        )


class DataFaultError(InputError):
    """The registry has data faults and the run stops on them (``--data-faults error``)."""

    def __init__(self, faults: Sequence[str], source: str | None = None) -> None:
        self.faults = list(faults)
        prefix = f"{source}: " if source else ""
        count = len(self.faults)
        listed = "".join(f"\n  - {f}" for f in self.faults)
        super().__init__(
            f"{prefix}{count} data fault{'s' if count != 1 else ''} "
            f"(screen on with --data-faults review):{listed}"
        )
