"""Output files written whole or not at all, with errors that name the path.

Every command that writes ``--out`` (decisions, review reports, imported registries) goes
through ``atomic_write``: it writes a hidden partial file beside the target and renames it only
when everything was written, so a failed run leaves the target untouched. ``check_output_path``
is called first, before any long work, so that a missing directory or a directory given as the
file is an ``InputError`` naming the path (exit 2), not a traceback at the end of a long run.
``standard_output`` gives standard output the same errors: a full disk behind a redirect, or a
reader that went away (``| head``), is an ``InputError``, never an internal error.
"""

from __future__ import annotations

import errno
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from stakegate.errors import InputError

__all__ = ["PARTIAL_MARKER", "atomic_write", "check_output_path", "standard_output"]

PARTIAL_MARKER = ".partial-"
# Errors of writing itself (a full disk), told apart from the caller's own OSErrors.
_WRITE_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS})
# On standard output, also a reader that closed its end of the pipe.
_STDOUT_ERRORS = _WRITE_ERRORS | {errno.EPIPE}


def check_output_path(out: str | Path, param: str = "out") -> Path:
    """``out`` as a path a file can be written to; ``InputError`` naming it otherwise."""
    target = Path(out)
    parent = target.parent
    if target.is_dir():
        raise InputError(f"{out} is a directory; give the name of a file to write", param=param)
    if not parent.exists():
        raise InputError(f"{out}: the directory {parent} does not exist", param=param)
    if not parent.is_dir():
        raise InputError(f"{out}: {parent} is not a directory", param=param)
    return target


@contextmanager
def atomic_write(
    out: str | Path, param: str = "out", newline: str | None = ""
) -> Iterator[IO[str]]:
    """A text handle on a partial file that becomes ``out`` when the block ends without error."""
    target = check_output_path(out, param)
    try:
        fd, partial = tempfile.mkstemp(prefix=f".{target.name}{PARTIAL_MARKER}", dir=target.parent)
    except OSError as e:
        raise _cannot_write(out, e, param) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as handle:
            try:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
            except OSError as e:
                if e.errno not in _WRITE_ERRORS:
                    raise
                raise _cannot_write(out, e, param) from None
        try:
            os.replace(partial, target)
        except OSError as e:
            raise _cannot_write(out, e, param) from None
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


@contextmanager
def standard_output() -> Iterator[IO[str]]:
    """``sys.stdout``, flushed when the block ends; a write error is an ``InputError``.

    After a failed write, standard output is pointed at ``/dev/null``: what is still buffered
    would otherwise fail again when the interpreter flushes it on exit, and print a second,
    internal-looking error."""
    try:
        yield sys.stdout
        sys.stdout.flush()
    except OSError as e:
        if e.errno not in _STDOUT_ERRORS:
            raise
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
        raise _cannot_write("standard output", e) from None


def _cannot_write(what: str | Path, error: OSError, param: str | None = None) -> InputError:
    """The one message for output that cannot be written, naming it and the system's reason."""
    return InputError(f"{what}: cannot write: {error.strerror or error}", param=param)
