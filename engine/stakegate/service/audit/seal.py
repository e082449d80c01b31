"""``stakegate audit seal``: continue a broken log knowingly, with the gap on the record.

``serve`` refuses a log that is truncated, tampered with or unanchored. An operator who has
investigated seals it: a new segment starts with a ``seal`` line that records what verification
found (status, every problem, the last line, the checkpoint as found) and the size and SHA-256
of every earlier segment file, and a new checkpoint (signed with ``--audit-key``) covers it.
The earlier files are left exactly as found. From then on, verification reports ``sealed``
while those files still match the recorded digests, and ``serve`` continues after the seal.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from stakegate.errors import InputError
from stakegate.service.audit.chain import encode_line, utc_now
from stakegate.service.audit.checkpoints import CheckpointFile, make_checkpoint
from stakegate.service.audit.keys import Signer, Verifier
from stakegate.service.audit.segments import (
    Series,
    checkpoint_path,
    fsync_dir,
    list_segments,
    segment_path,
    write_all,
)
from stakegate.service.audit.verify import file_digest, verify_series

__all__ = ["seal_log"]


def seal_log(
    base: Path,
    signer: Signer | None,
    reason: str | None = None,
    verifiers: list[Verifier] | None = None,
) -> dict[str, Any]:
    """Start the next segment of ``base`` with a seal line; return that line's record."""
    checkpoints = CheckpointFile(checkpoint_path(base))  # the lock: no writer runs meanwhile
    try:
        segments = list_segments(base)
        if not segments:
            raise InputError(f"{base}: no audit log to seal")
        keys = list(verifiers or []) + ([signer.verifier()] if signer else [])
        report = verify_series(Series(base, segments, whole=True), keys)
        number = segments[-1][0] + 1
        log_id = report.log_id or str(uuid.uuid4())
        record: dict[str, Any] = {
            "type": "seal",
            "segment": number,
            "log_id": log_id,
            "time": utc_now(),
            "reason": reason,
            "signed": signer is not None,
            "found": {
                "status": report.status,
                "problems": report.problems + report.sealed_problems,
                "notes": report.notes,
                "last_seq": report.last_seq,
                "last_hash": report.last_hash,
                "checkpoint": checkpoints.latest.to_json() if checkpoints.latest else None,
                "files": [{"segment": n, "name": p.name, **file_digest(p)} for n, p in segments],
            },
        }
        seq = report.last_seq + 1
        line, digest = encode_line(record, seq, report.last_hash)
        path = segment_path(base, number)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        try:
            write_all(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        fsync_dir(path.parent)
        checkpoints.write(make_checkpoint(log_id, number, seq, digest, len(line), signer))
        return record
    finally:
        checkpoints.close()
