"""Pausing Python's cyclic garbage collector while millions of acyclic objects are built.

Loading a registry, computing its facts and replaying BODS statements each build millions of
small objects (records, tuples, intervals) that hold no reference cycles. Every few thousand
allocations the collector runs, and whenever the heap has grown by a quarter it scans all of
it: at 1M entities that added about 5 s to the facts and a third to a BODS import, and found
nothing. Reference counting still frees everything as usual while the collector is paused.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic collector for the block (nested blocks are fine); restore it after.

    What the block built is then moved to the oldest generation (``freeze``, then
    ``unfreeze``: no object stays frozen). Left young, it would all be scanned by the first
    collection after the block: loading 1M entities took 1.3 s longer (19.4-20.9 s against
    18.2-20.1 s, three runs each)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        if enabled:
            gc.enable()
