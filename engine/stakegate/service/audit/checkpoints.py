"""Signed checkpoints: the anchor that makes a cut tail or a rewritten line detectable.

A checkpoint names the last line of a group commit: the log's ``log_id``, the ``segment``
file, the line's ``seq`` and ``hash``, and ``bytes``, the size of that segment up to and
including the line. It is signed (``alg`` ``EdDSA`` or ``RS256``, ``key_id`` of the key, ``sig``
base64 over the canonical JSON of every other member), or ``alg: "none"`` without a key.

``LOG.checkpoint`` holds the latest one, rewritten in place after every group commit and
``fdatasync``ed before any request of that commit is answered. It has two 4 KiB slots written
alternately, each one JSON line padded with spaces: a crash in the middle of a write can tear one
slot, never both, so the newer intact slot is the latest durable checkpoint. The file is also the
log's lock: the writer (``serve``) and ``audit seal`` hold an exclusive ``flock`` on it.
"""

from __future__ import annotations

import builtins
import fcntl
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from stakegate.errors import AuditError
from stakegate.service.audit.chain import canonical, utc_now
from stakegate.service.audit.keys import Signer, Verifier

__all__ = [
    "FORMAT",
    "SUFFIX",
    "Checkpoint",
    "CheckpointFile",
    "make_checkpoint",
    "read_checkpoints",
    "signature_problem",
]

FORMAT = "stakegate.audit.checkpoint/1"
SUFFIX = ".checkpoint"
SLOT = 4096
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The end of one group commit, as it was made durable."""

    log_id: str
    segment: int
    seq: int
    hash: str
    bytes: int
    time: str
    alg: str
    key_id: str | None
    sig: str | None

    def message(self) -> builtins.bytes:
        """What the signature covers: canonical JSON of every member but ``sig``."""
        body = {k: v for k, v in asdict(self).items() if k != "sig"}
        return canonical({"format": FORMAT, **body}).encode()

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, **asdict(self)}

    @classmethod
    def from_json(cls, doc: Any) -> Checkpoint:
        """Parse a checkpoint object; ``ValueError`` naming what is wrong."""
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} object")
        ints = ("segment", "seq", "bytes")
        if any(type(doc.get(k)) is not int or doc[k] < 0 for k in ints):
            raise ValueError("segment, seq and bytes must be non-negative integers")
        if not isinstance(doc.get("hash"), str) or not _HEX64.match(doc["hash"]):
            raise ValueError("hash must be 64 lowercase hex digits")
        strings = ("log_id", "time", "alg")
        if any(not isinstance(doc.get(k), str) for k in strings):
            raise ValueError("log_id, time and alg must be strings")
        optional = ("key_id", "sig")
        if any(doc.get(k) is not None and not isinstance(doc[k], str) for k in optional):
            raise ValueError("key_id and sig must be strings or null")
        if set(doc) != {"format", *ints, "hash", *strings, *optional}:
            raise ValueError(f"unexpected members {sorted(set(doc) - {'format'})}")
        return cls(**{k: v for k, v in doc.items() if k != "format"})


def make_checkpoint(
    log_id: str, segment: int, seq: int, digest: str, size: int, signer: Signer | None
) -> Checkpoint:
    unsigned = Checkpoint(
        log_id=log_id,
        segment=segment,
        seq=seq,
        hash=digest,
        bytes=size,
        time=utc_now(),
        alg=signer.alg if signer else "none",
        key_id=signer.key_id if signer else None,
        sig=None,
    )
    if signer is None:
        return unsigned
    return Checkpoint(**{**asdict(unsigned), "sig": signer.sign(unsigned.message())})


def signature_problem(checkpoint: Checkpoint, verifiers: list[Verifier]) -> tuple[str, str] | None:
    """``(status, message)`` when ``checkpoint`` is not signed by one of ``verifiers``."""
    if not verifiers:
        return None
    if checkpoint.sig is None or checkpoint.alg == "none":
        return "unverified", "is unsigned"
    trusted = {v.key_id: v for v in verifiers}
    verifier = trusted.get(checkpoint.key_id or "")
    if verifier is None:
        return "unverified", (
            f"is signed by key {checkpoint.key_id}, not by a given key ({', '.join(trusted)})"
        )
    if verifier.alg != checkpoint.alg or not verifier.verify(checkpoint.message(), checkpoint.sig):
        return "tampered", f"signature does not verify with key {verifier.key_id}"
    return None


def read_checkpoints(data: bytes) -> tuple[list[Checkpoint], int]:
    """Every readable checkpoint in ``data`` (slots or JSON lines), and how many were torn."""
    found, torn = [], 0
    for raw in data.split(b"\n"):
        text = raw.strip(b" \x00")
        if not text:
            continue
        try:
            found.append(Checkpoint.from_json(json.loads(text)))
        except ValueError:
            torn += 1
    return found, torn


def order(checkpoint: Checkpoint) -> tuple[int, int]:
    """Checkpoints only move forward in (segment, seq): rotation and seal open a later segment,
    and a seal after a cut may continue at a lower seq than a stale checkpoint it replaces."""
    return checkpoint.segment, checkpoint.seq


def latest(checkpoints: list[Checkpoint]) -> Checkpoint | None:
    return max(checkpoints, key=order, default=None)


class CheckpointFile:
    """``LOG.checkpoint`` held open and locked by one writer; ``write`` is durable on return."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise AuditError(
                f"{path}: the audit log is in use by another process (a running "
                "`stakegate serve` or `stakegate audit seal`)"
            ) from None
        data = os.pread(self._fd, 2 * SLOT, 0)
        slots = [data[i * SLOT : (i + 1) * SLOT] for i in (0, 1)]
        parsed = [read_checkpoints(slot)[0] for slot in slots]
        self.latest = latest([c for found in parsed for c in found])
        # Overwrite the slot that does not hold the latest checkpoint.
        self._slot = 1 if self.latest is not None and self.latest in parsed[0] else 0

    def write(self, checkpoint: Checkpoint) -> None:
        line = json.dumps(checkpoint.to_json(), sort_keys=True, separators=(",", ":")).encode()
        if len(line) >= SLOT:
            raise AuditError(f"checkpoint of {len(line)} bytes does not fit a {SLOT}-byte slot")
        data = line + b" " * (SLOT - len(line) - 1) + b"\n"
        written = os.pwrite(self._fd, data, self._slot * SLOT)
        if written != SLOT:
            raise OSError(f"short write of checkpoint slot: {written} of {SLOT} bytes")
        os.fdatasync(self._fd)
        self._slot ^= 1
        self.latest = checkpoint

    def close(self) -> None:
        os.close(self._fd)  # releases the lock
