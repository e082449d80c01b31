"""Kills a private OPA once the engine that started it is gone, where the kernel cannot do it
(no ``PR_SET_PDEATHSIG``; see ``lifeline.py``).

Run as ``python -I _watchdog.py PARENT_PID CHILD_PID`` with standard input the read end of a pipe
whose write end only the parent holds: end-of-file there, or a new parent id (the parent died and
this process was adopted), means the parent is gone. Standard library only, so it starts fast.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import time

# How often the parent id is checked while the pipe stays quiet, and how long the child gets
# to stop on SIGTERM before SIGKILL.
_POLL_S = 1.0
_GRACE_S = 5.0


def _parent_gone(parent: int) -> None:
    while os.getppid() == parent:
        ready, _, _ = select.select([0], [], [], _POLL_S)
        if ready and not os.read(0, 4096):
            return  # end of file: the write end closed with the parent


def _kill(child: int) -> None:
    # The child cannot have been reaped: only the dead parent could have waited for it.
    try:
        os.kill(child, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + _GRACE_S
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    try:
        os.kill(child, signal.SIGKILL)
    except ProcessLookupError:
        pass


def main(argv: list[str]) -> int:
    parent, child = int(argv[1]), int(argv[2])
    _parent_gone(parent)
    _kill(child)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
