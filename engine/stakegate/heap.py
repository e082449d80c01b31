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
    """Pause the cyclic collector for the block (nested blocks are fine); restore it after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
