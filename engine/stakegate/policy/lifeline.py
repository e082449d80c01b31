"""Child processes that die with their parent: a private OPA must never outlive the engine.

A ``stakegate screen`` killed by SIGKILL (a CI timeout, the OOM killer) runs no cleanup, so its
OPA would run on forever. Two mechanisms, by platform:

* Linux: the child asks the kernel for SIGKILL when its parent dies (``PR_SET_PDEATHSIG``,
  through ``prctl`` between fork and exec), then checks that the parent did not die before.
  The kernel means the parent *thread*: a child forked from a worker thread (the service starts
  OPA under ``asyncio.to_thread``) would be killed when that thread ends. So every tied child is
  forked by one daemon thread that lives as long as the process (``_Spawner``).
* Elsewhere (or where ``prctl`` cannot be called): a small watchdog process holds the read end of
  a pipe whose write end only this process has, and watches its own parent id too. When the pipe
  reads end-of-file or the parent id changes, this process is gone, and it kills the child.
  ``untie`` stops the watchdog first, so it can never kill a process id that was reused.
"""

from __future__ import annotations

import ctypes
import functools
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from stakegate.forked import PR_SET_PDEATHSIG, PRCTL

__all__ = ["spawn_tied"]

# Whether children are tied by PR_SET_PDEATHSIG (else by a watchdog process). Tests turn it off
# to exercise the watchdog on Linux.
USE_PDEATHSIG = PRCTL is not None
_WATCHDOG = Path(__file__).with_name("_watchdog.py")


def spawn_tied(cmd: list[str], **popen: Any) -> tuple[subprocess.Popen[bytes], Callable[[], None]]:
    """``subprocess.Popen(cmd, **popen)`` for a child that dies when this process does.

    Returns the child and ``untie``, to call before stopping the child on purpose.
    """
    if USE_PDEATHSIG:
        return _spawner().spawn(cmd, popen), _nothing
    proc = subprocess.Popen(cmd, **popen)
    try:
        untie = _watch(proc.pid)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return proc, untie


def _nothing() -> None:
    return None


def _die_with_parent(parent: int) -> None:
    """In the child, before exec: SIGKILL when the forking thread's process goes away."""
    if PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # the parent died before prctl: nobody will send the signal
        os._exit(1)


class _Spawner:
    """The one thread that forks every tied child, so that ``PR_SET_PDEATHSIG`` fires only when
    the process ends, never when the thread that asked for the child does."""

    def __init__(self) -> None:
        self._requests: queue.SimpleQueue[
            tuple[list[str], dict[str, Any], Future[subprocess.Popen[bytes]]]
        ] = queue.SimpleQueue()
        thread = threading.Thread(target=self._run, name="stakegate-spawner", daemon=True)
        thread.start()

    def spawn(self, cmd: list[str], popen: dict[str, Any]) -> subprocess.Popen[bytes]:
        done: Future[subprocess.Popen[bytes]] = Future()
        self._requests.put((cmd, popen, done))
        return done.result()

    def _run(self) -> None:
        while True:
            cmd, popen, done = self._requests.get()
            if not done.set_running_or_notify_cancel():
                continue
            try:
                tie = functools.partial(_die_with_parent, os.getpid())
                proc = subprocess.Popen(cmd, preexec_fn=tie, **popen)
            except BaseException as err:  # handed to the caller, who raises it
                done.set_exception(err)
            else:
                done.set_result(proc)


_spawner_lock = threading.Lock()
_spawner_instance: _Spawner | None = None


def _spawner() -> _Spawner:
    global _spawner_instance
    with _spawner_lock:
        if _spawner_instance is None:
            _spawner_instance = _Spawner()
        return _spawner_instance


def _forget_spawner() -> None:
    """In a forked child: the spawner thread did not come along, and the lock may be held."""
    global _spawner_lock, _spawner_instance
    _spawner_lock = threading.Lock()
    _spawner_instance = None


os.register_at_fork(after_in_child=_forget_spawner)


def _watch(pid: int) -> Callable[[], None]:
    """Start a watchdog that kills ``pid`` when this process is gone; returns its stopper."""
    read_end, write_end = os.pipe()  # not inheritable: only the watchdog gets the read end
    try:
        dog = subprocess.Popen(
            [sys.executable, "-I", str(_WATCHDOG), str(os.getpid()), str(pid)],
            stdin=read_end,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except BaseException:
        os.close(write_end)
        raise
    finally:
        os.close(read_end)

    def untie() -> None:
        dog.kill()
        dog.wait()
        os.close(write_end)

    return untie
