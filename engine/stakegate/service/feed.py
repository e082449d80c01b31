"""The changes feed: the decisions that flipped on the service's reloads, for ``GET /v1/changes``.

Each change has a ``seq``; a client keeps the ``next`` it was given and asks again with
``since=next``. The feed is bounded (``SERVICE_CHANGES_MAX`` entries and
``SERVICE_CHANGES_MAX_BYTES``): the oldest changes fall out first. A client whose ``since`` fell
out, or that was not issued by this process (the service restarted: the feed lives in memory),
is told so with 410 and the oldest ``seq`` kept, never handed a page with a silent gap; the
audit log keeps every change (``flip`` lines) for the record.

Seq numbers start at the service's start time in microseconds and grow by one per change, so
they keep growing across restarts (as long as the clock does) and a ``since`` from an earlier
process is always older than anything this one issued. Entries are kept as encoded JSON: the
feed costs its bytes, not a Python object per field.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable
from itertools import islice
from typing import Any

import orjson

from stakegate.errors import ChangesGoneError

__all__ = ["ChangeFeed"]


class ChangeFeed:
    """Bounded, in order, numbered: the newest ``max_entries`` changes within ``max_bytes``."""

    def __init__(self, max_entries: int, max_bytes: int, start: int | None = None) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        # The first seq this process may issue; ``since`` below it predates this process.
        self.start = start if start is not None else time.time_ns() // 1000
        self.next = self.start
        self._entries: deque[tuple[int, bytes]] = deque()
        self._bytes = 0
        self.dropped = 0  # changes that fell out of the feed (still in the audit log)

    def __repr__(self) -> str:
        return f"<ChangeFeed oldest={self.oldest} next={self.next} entries={len(self._entries)}>"

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def oldest(self) -> int:
        """The seq of the oldest change kept (``next`` when none is)."""
        return self._entries[0][0] if self._entries else self.next

    def publish(self, changes: Iterable[dict[str, Any]]) -> list[bytes]:
        """Append changes numbered ``next``, ``next + 1``... (each carries its ``seq``); their
        JSON, as the feed serves it."""
        published: list[bytes] = []
        for change in changes:
            if change["seq"] != self.next:
                raise ValueError(f"change seq {change['seq']} is not the next ({self.next})")
            encoded = orjson.dumps(change)
            published.append(encoded)
            self._entries.append((self.next, encoded))
            self._bytes += len(encoded)
            self.next += 1
        while self._entries and (
            len(self._entries) > self.max_entries or self._bytes > self.max_bytes
        ):
            _, dropped = self._entries.popleft()
            self._bytes -= len(dropped)
            self.dropped += 1
        return published

    def page(self, since: int | None, limit: int) -> tuple[list[bytes], int]:
        """Up to ``limit`` encoded changes from seq ``since`` (default: the oldest kept), and
        the seq to ask for next; ``ChangesGoneError`` when ``since`` cannot be answered whole."""
        oldest = self.oldest
        if since is None:
            since = oldest
        if since < oldest or since > self.next:
            if since > self.next:
                why = "was not issued by this service process (it restarted: the feed is kept "
                why += "in memory)"
            elif since < self.start:
                why = "predates this service process (it restarted: the feed is kept in memory)"
            else:
                why = "fell out of the feed (it keeps the newest changes only)"
            raise ChangesGoneError(
                f"changes since seq {since} cannot be given: {why}; the oldest kept is seq "
                f"{oldest} (read the audit log's flip lines for older ones, or screen again)",
                oldest=oldest,
                next_seq=self.next,
            )
        skip = since - oldest  # seqs are consecutive: the entry of ``since`` is at this index
        out = [encoded for _, encoded in islice(self._entries, skip, skip + limit)]
        return out, since + len(out)
