"""Where the files of one audit log live: segments, in order, and the checkpoint beside them.

``--audit-log LOG`` names the first segment; rotation and ``audit seal`` add ``LOG.000002``,
``LOG.000003``, ... (six digits, so they sort in order), and ``LOG.checkpoint`` anchors the end
of the newest. Every segment starts with a header line naming its number, so a file renamed into
another's place is caught by verification, not trusted by its name.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from stakegate.errors import InputError
from stakegate.service.audit.checkpoints import SUFFIX

__all__ = [
    "Series",
    "checkpoint_path",
    "fsync_dir",
    "list_segments",
    "resolve",
    "segment_path",
    "write_all",
]

_NUMBERED = re.compile(r"^(?P<base>.+)\.(?P<number>\d{6})$")


def segment_path(base: Path, number: int) -> Path:
    return base if number == 1 else base.with_name(f"{base.name}.{number:06d}")


def checkpoint_path(base: Path) -> Path:
    return base.with_name(base.name + SUFFIX)


def list_segments(base: Path) -> list[tuple[int, Path]]:
    """Every segment file of the log ``base`` on disk, by number."""
    found = [(1, base)] if base.is_file() else []
    if base.parent.is_dir():
        for path in base.parent.glob(f"{glob_escape(base.name)}.[0-9][0-9][0-9][0-9][0-9][0-9]"):
            number = int(path.name[-6:])
            if number >= 2 and path.is_file():
                found.append((number, path))
    return sorted(found)


def glob_escape(name: str) -> str:
    return re.sub(r"([\[\]*?])", r"[\1]", name)


@dataclass(frozen=True)
class Series:
    """Segments to verify, in order. ``whole``: every segment of ``base`` found on disk."""

    base: Path
    segments: list[tuple[int, Path]]
    whole: bool


def _numbered(path: Path) -> tuple[Path, int] | None:
    match = _NUMBERED.match(path.name)
    if match is None or int(match["number"]) < 2:
        return None
    return path.with_name(match["base"]), int(match["number"])


def _base_in(directory: Path) -> Path:
    bases = {p.with_name(p.name[: -len(SUFFIX)]) for p in directory.glob(f"*{SUFFIX}")}
    for path in directory.iterdir():
        numbered = _numbered(path)
        if numbered is not None and path.is_file():
            bases.add(numbered[0])
    if len(bases) != 1:
        names = ", ".join(sorted(b.name for b in bases)) or "none"
        raise InputError(
            f"{directory}: expected the files of one audit log, found logs: {names}; "
            "give the log file instead"
        )
    return bases.pop()


def resolve(paths: list[Path]) -> Series:
    """The series that ``audit verify`` arguments name: a log, its directory, or segments."""
    if len(paths) == 1 and paths[0].is_dir():
        base = _base_in(paths[0])
        return Series(base, list_segments(base), whole=True)
    for path in paths:
        if not path.is_file():
            raise InputError(f"{path}: no such audit log file")
    if len(paths) == 1 and _numbered(paths[0]) is None:
        return Series(paths[0], list_segments(paths[0]), whole=True)
    segments: list[tuple[int, Path]] = []
    bases = set()
    for path in paths:
        numbered = _numbered(path)
        base, number = numbered if numbered is not None else (path, 1)
        bases.add(base)
        if segments and number <= segments[-1][0]:
            raise InputError(f"{path}: segments must be given in order, each once")
        segments.append((number, path))
    if len(bases) != 1:
        raise InputError("the segments given belong to different logs")
    return Series(bases.pop(), segments, whole=False)


def write_all(fd: int, data: bytes) -> None:
    """``os.write`` until every byte is written (a short write raises on the next call)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def fsync_dir(directory: Path) -> None:
    """Make a file created in ``directory`` durable: its directory entry, not just its data."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
