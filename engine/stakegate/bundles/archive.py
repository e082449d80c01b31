"""Reads a bundle ``.tar.gz`` as a stream, with every size an input could blow up bounded.

A 4 MB gzip bomb inflates to gigabytes, so nothing here inflates a bundle whole: the file's own
size is checked before it is read, each member's declared size before its bytes are read, and
the decompressed stream itself is cut off past a total (which also bounds tar's own headers,
such as PAX records). Reading is in two passes over the in-memory compressed bytes: ``open``
lists the members and keeps only the small control files (``.signatures.json``,
``.manifest``); the caller checks the signature and the member names against it, and only then
``read_members`` reads the contents.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from stakegate import settings
from stakegate.errors import BundleVerificationError, InputError

__all__ = ["BundleArchive", "open_archive"]

SIGNATURES = ".signatures.json"
MANIFEST = ".manifest"
_CONTROL = frozenset({SIGNATURES, MANIFEST})
# Decompressed bytes allowed beyond the members' contents: tar headers and padding.
_HEADER_ALLOWANCE = 1024


class _Capped(io.RawIOBase):
    """The decompressed stream, refusing to yield more than ``limit`` bytes."""

    def __init__(self, raw: gzip.GzipFile, limit: int, path: Path) -> None:
        self._raw, self._limit, self._path, self._seen = raw, limit, path, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        chunk = self._raw.read(min(len(buffer), self._limit - self._seen + 1))
        self._seen += len(chunk)
        if self._seen > self._limit:
            raise BundleVerificationError(
                f"{self._path}: refused: decompresses to more than {self._limit} bytes"
            )
        buffer[: len(chunk)] = chunk
        return len(chunk)


@dataclass(frozen=True, slots=True)
class BundleArchive:
    """A bundle file's bytes, its members' names and sizes, and its small control files."""

    path: Path
    data: bytes
    sizes: dict[str, int]
    control: dict[str, bytes]

    def read_members(self, names: frozenset[str]) -> dict[str, bytes]:
        """Contents of ``names`` (all of them must be members), read in a second pass."""
        files: dict[str, bytes] = {}
        for name, member, tar in _members(self.path, self.data):
            if name in names:
                handle = tar.extractfile(member)
                files[name] = handle.read(member.size) if handle is not None else b""
        return files


def _members(path: Path, data: bytes) -> Iterator[tuple[str, tarfile.TarInfo, tarfile.TarFile]]:
    """Regular-file members in order, each checked against the caps before it is read."""
    limit = settings.BUNDLE_MAX_TOTAL_BYTES + _HEADER_ALLOWANCE * settings.BUNDLE_MAX_MEMBERS
    seen: set[str] = set()
    total = 0
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as raw:
            stream = io.BufferedReader(_Capped(raw, limit, path))
            with tarfile.open(fileobj=stream, mode="r|") as tar:
                for member in tar:
                    if member.isdir():
                        continue
                    name = member.name.lstrip("/")
                    if not member.isfile() or ".." in name.split("/") or name in seen:
                        raise BundleVerificationError(
                            f"{path}: refused: unexpected tar entry {member.name!r}"
                        )
                    seen.add(name)
                    total += member.size
                    if len(seen) > settings.BUNDLE_MAX_MEMBERS:
                        raise BundleVerificationError(
                            f"{path}: refused: more than {settings.BUNDLE_MAX_MEMBERS} files"
                        )
                    if member.size > settings.BUNDLE_MAX_MEMBER_BYTES:
                        raise BundleVerificationError(
                            f"{path}: refused: {name} is {member.size} bytes, more than "
                            f"{settings.BUNDLE_MAX_MEMBER_BYTES} "
                            "(STAKEGATE_BUNDLE_MAX_MEMBER_BYTES)"
                        )
                    if total > settings.BUNDLE_MAX_TOTAL_BYTES:
                        raise BundleVerificationError(
                            f"{path}: refused: files add up to more than "
                            f"{settings.BUNDLE_MAX_TOTAL_BYTES} bytes "
                            "(STAKEGATE_BUNDLE_MAX_TOTAL_BYTES)"
                        )
                    yield name, member, tar
    except (tarfile.TarError, OSError, EOFError, zlib.error) as err:
        raise BundleVerificationError(f"{path}: refused: not a gzipped tar bundle ({err})") from err


def open_archive(path: Path) -> BundleArchive:
    """First pass: the bundle's bytes, member sizes and control files; nothing large is read."""
    try:
        size = path.stat().st_size
        if size > settings.BUNDLE_MAX_BYTES:
            raise BundleVerificationError(
                f"{path}: refused: {size} bytes, more than {settings.BUNDLE_MAX_BYTES} "
                "(STAKEGATE_BUNDLE_MAX_BYTES)"
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: bundle not found") from None
    except IsADirectoryError:
        raise InputError(f"{path}: a bundle is a .tar.gz file, not a directory") from None
    except OSError as err:
        raise InputError(f"{path}: cannot read bundle ({err.strerror or err})") from None
    sizes: dict[str, int] = {}
    control: dict[str, bytes] = {}
    for name, member, tar in _members(path, data):
        sizes[name] = member.size
        if name in _CONTROL:
            handle = tar.extractfile(member)
            control[name] = handle.read(member.size) if handle is not None else b""
    return BundleArchive(path=path, data=data, sizes=sizes, control=control)
