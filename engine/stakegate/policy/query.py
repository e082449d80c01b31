"""One query to OPA: which entrypoint, the body, and the entities it decides.

``Pipeline.query`` makes them in one of three forms: the batch form (``policy/batch.py``, what
the engine screens with), side by side under regimes (``policy/side_by_side.py``), or entity by
entity (``main.decisions``, for a policy built before the batch form, and to replay one entity).
"""

from __future__ import annotations

from collections.abc import Iterable

from stakegate.policy.batch import BatchRequest

__all__ = ["DECISIONS", "Query", "request_body"]

# The entrypoint that decides entities one by one (the batch form decides them the same way).
DECISIONS = "stakegate.main.decisions"


def request_body(head: bytes, entities: Iterable[bytes]) -> bytes:
    """The decisions query's body for entities already encoded as JSON; ``head`` opens the
    input (``PolicyView.input_head``)."""
    return b"".join(
        (
            head,
            b',"entities":[',
            b",".join(entities),
            b"]}}",
        )
    )


class Query:
    """One query of a pipeline: the entrypoint, the body, and the entities it decides."""

    __slots__ = ("batch", "body", "entrypoint", "ids")

    def __init__(
        self, entrypoint: str, body: bytes, ids: list[str], batch: BatchRequest | None = None
    ) -> None:
        self.entrypoint = entrypoint
        self.body = body
        self.ids = ids
        self.batch = batch

    def __repr__(self) -> str:
        return f"<Query {self.entrypoint} entities={len(self.ids)}>"
