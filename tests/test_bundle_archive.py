"""Bundle reads are bounded: a gzip bomb is refused before it is inflated (issue 11).

The old reader inflated a 4 MB bundle to 4 GB before checking its signature. Here every bomb
is a real gzipped tar, refused by the size a member declares, the sum of sizes, the member
count, the file size or the decompressed stream itself, with peak memory far below what the
bomb would inflate to (tracemalloc, not timing).
"""

from __future__ import annotations

import gzip
import io
import tarfile
import tracemalloc
from pathlib import Path

import pytest

from stakegate import settings
from stakegate.bundles.signing import verify_bundle
from stakegate.errors import BundleVerificationError

from .bundle_helpers import PUBLIC, run
from .conftest import FIXTURES

SMALL = FIXTURES / "cli" / "small.yaml"


class _Zeros(io.RawIOBase):
    """``size`` zero bytes, streamed (the bomb is never held in memory while written)."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self.left)
        buffer[:n] = b"\0" * n
        self.left -= n
        return n


def bomb(path: Path, members: dict[str, int], pax: dict[str, str] | None = None) -> Path:
    """A gzipped tar whose members are runs of zeros of the given sizes."""
    with gzip.open(path, "wb", compresslevel=9) as raw:
        with tarfile.open(fileobj=raw, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            for name, size in members.items():
                info = tarfile.TarInfo(name)
                info.size = size
                if pax:
                    info.pax_headers = pax
                tar.addfile(info, io.BufferedReader(_Zeros(size)))
    return path


def refused(path: Path, message: str) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(BundleVerificationError, match=message):
            verify_bundle(path, PUBLIC)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20, f"peak {peak} bytes while refusing {path.name}"


def test_one_huge_member_is_refused_by_its_declared_size(tmp_path: Path):
    path = bomb(tmp_path / "stakegate-1.0.0.tar.gz", {"/data.json": 200 << 20})
    assert path.stat().st_size < 1 << 20  # 200 MiB of zeros compress to ~200 KB
    refused(path, r"data.json is 209715200 bytes, more than 33554432")
    result = run("check", "sg-sub", "-i", str(SMALL), "--policy", str(path), "--key", str(PUBLIC))
    assert (result.exit_code, result.stdout) == (1, "")
    assert "more than 33554432" in result.stderr


def test_many_members_are_refused_by_their_total(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(settings, "BUNDLE_MAX_TOTAL_BYTES", 8 << 20)
    members = {f"/stakegate/m{i}.rego": 3 << 20 for i in range(5)}
    refused(bomb(tmp_path / "b.tar.gz", members), r"files add up to more than 8388608 bytes")


def test_too_many_members_are_refused(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(settings, "BUNDLE_MAX_MEMBERS", 50)
    members = {f"/stakegate/m{i}.rego": 1 for i in range(60)}
    refused(bomb(tmp_path / "b.tar.gz", members), r"more than 50 files")


def test_a_large_file_is_refused_before_it_is_read(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(settings, "BUNDLE_MAX_BYTES", 1000)
    path = bomb(tmp_path / "b.tar.gz", {f"/x{i}": 4096 for i in range(10)})
    path.write_bytes(path.read_bytes() + b"\x01" * 5000)
    refused(path, r"bytes, more than 1000 \(STAKEGATE_BUNDLE_MAX_BYTES\)")


def test_tar_headers_are_bounded_too(tmp_path: Path, monkeypatch):
    """A PAX header is read whole by tar: the decompressed stream itself is capped."""
    monkeypatch.setattr(settings, "BUNDLE_MAX_TOTAL_BYTES", 1 << 20)
    monkeypatch.setattr(settings, "BUNDLE_MAX_MEMBERS", 10)
    path = bomb(tmp_path / "b.tar.gz", {"/data.json": 1}, pax={"comment": "x" * (8 << 20)})
    refused(path, r"decompresses to more than")


def test_unsigned_members_are_refused_before_their_contents_are_read(tmp_path: Path):
    path = bomb(tmp_path / "b.tar.gz", {"/.signatures.json": 0, "/big.rego": 30 << 20})
    refused(path, r"malformed \.signatures\.json")


def test_not_a_gzip_is_a_message(tmp_path: Path):
    path = tmp_path / "b.tar.gz"
    path.write_bytes(b"PK\x03\x04 not gzip")
    refused(path, r"not a gzipped tar bundle")
