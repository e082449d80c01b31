"""Checks run on the second core by a forked child that dies with its parent.

Loading a large registry is single-threaded Python: the record checks could only run beside the
model building in another process. A forked child shares the document already read (copy on
write) and answers with nothing but its exit status, so nothing is pickled or copied back.

The child asks the kernel for SIGKILL when its parent dies (``PR_SET_PDEATHSIG``, Linux), so a
killed engine leaves nothing running. The kernel means the parent *thread*; the thread that
forks waits for the child (``Forked.result``) or kills it (``Forked.close``) before it goes on,
so it outlives the child. A child is forked only where that is sound: Linux with ``prctl``,
and no other thread alive (a lock another thread holds at the fork stays held in the child).
Anywhere else ``start`` returns None and the caller does the work itself.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, Final

__all__ = ["FAILED", "Forked", "PRCTL", "PR_SET_PDEATHSIG", "start"]

PR_SET_PDEATHSIG: Final = 1  # linux/prctl.h
# The exit status of a child whose work raised (or that could not tie itself to its parent).
FAILED: Final = 70


def _load_prctl() -> Any:
    """libc's ``prctl``, loaded before any fork (loading it in the child would not be safe)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


PRCTL: Final = _load_prctl()


class Forked:
    """A forked child running ``work``; its exit status is ``work()``'s result (0-255)."""

    __slots__ = ("_status", "pid")

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._status: int | None = None

    def result(self) -> int:
        """Wait for the child: its exit status, or minus the signal that killed it."""
        if self._status is None:
            _, status = os.waitpid(self.pid, 0)
            self._status = os.waitstatus_to_exitcode(status)
        return self._status

    def close(self) -> None:
        """Kill the child if it still runs, and reap it (no zombie)."""
        if self._status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:  # pragma: no cover - reaped elsewhere
                pass
            self.result()

    def __enter__(self) -> Forked:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def start(work: Callable[[], int]) -> Forked | None:
    """Fork a child that runs ``work`` and exits with its result; None where forking is not
    sound (see the module's note), for the caller to do the work itself."""
    if PRCTL is None or threading.active_count() != 1:
        return None
    parent = os.getpid()
    pid = os.fork()
    if pid:
        return Forked(pid)
    status = FAILED  # pragma: no cover - runs in the child, which coverage does not follow
    try:  # pragma: no cover
        if PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0 and os.getppid() == parent:
            status = work()
    except BaseException:  # pragma: no cover - the child never reaches a caller's handler
        status = FAILED
    finally:
        os._exit(status)  # pragma: no cover - no atexit handlers, no buffers flushed twice
