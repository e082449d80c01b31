"""What verifying an audit log found, in one object the CLI prints and ``serve`` checks.

``status`` is the gravest finding: ``tampered`` (a line, header or checkpoint does not match
what was written), ``truncated`` (acknowledged lines are missing from the end), ``unverified``
(no checkpoint, or one no given key signed), ``sealed`` (every problem lies before an
``audit seal`` that recorded it, and those files are unchanged since), else ``intact``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stakegate.service.audit.chain import GENESIS

__all__ = ["AuditReport", "Problem"]

_RANK = {"intact": 0, "sealed": 1, "unverified": 2, "truncated": 3, "tampered": 4}
# Problems about the end of the log (the checkpoint) belong to no segment a seal could cover.
END = 1 << 62


@dataclass(frozen=True, slots=True)
class Problem:
    segment: int
    status: str
    message: str


@dataclass
class AuditReport:
    """The findings of ``verify_log``; ``problems`` lists those no seal covers."""

    path: str
    status: str = "intact"
    log_id: str | None = None
    segments: list[int] = field(default_factory=list)
    records: int = 0
    decisions: int = 0
    last_seq: int = 0
    last_hash: str = GENESIS
    # Bytes of the last segment up to the end of its last complete line.
    last_bytes: int = 0
    clean_shutdown: bool = True
    authenticated: bool = False
    checkpoint: dict[str, Any] | None = None
    uncovered: int = 0
    torn_tail: dict[str, Any] | None = None
    seals: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    sealed_problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    found: list[Problem] = field(default_factory=list, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "found"}

    def flag(self, segment: int, status: str, message: str) -> None:
        self.found.append(Problem(segment, status, message))

    def settle(self, sealed_before: int) -> None:
        """Sort findings into sealed and open ones and set ``status`` from the gravest."""
        worst = "sealed" if self.sealed_problems else "intact"
        for problem in self.found:
            if problem.segment < sealed_before:
                # Found again in files a seal recorded unchanged: listed unless it recorded it.
                if not any(s.endswith(problem.message) for s in self.sealed_problems):
                    self.sealed_problems.append(problem.message)
                if _RANK[worst] < _RANK["sealed"]:
                    worst = "sealed"
            else:
                self.problems.append(problem.message)
                if _RANK[problem.status] > _RANK[worst]:
                    worst = problem.status
        self.status = worst

    @property
    def last_segment(self) -> int:
        return self.segments[-1] if self.segments else 0
