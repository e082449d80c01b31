"""Opening an existing audit log safely: verify it all, refuse a cut or edited one, then resume.

A service that continued a truncated log would reuse sequence numbers and sign over the cut, so
``serve`` verifies every segment against the latest checkpoint first and refuses to start
(``AuditError``, exit 1) unless the log is ``intact`` or every problem was recorded by an
``audit seal``. What a crash leaves is expected and repaired, and the repair is recorded in the
next line (the service's ``open`` record, field ``recovered``): an unfinished final line (never
acknowledged) is cut off, an empty segment left by an interrupted rotation is removed, and
lines written after the latest checkpoint (never acknowledged either) are named by seq range.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from stakegate.errors import AuditError
from stakegate.logs import get_logger
from stakegate.service.audit.chain import GENESIS, parse_line
from stakegate.service.audit.checkpoints import CheckpointFile
from stakegate.service.audit.keys import Signer
from stakegate.service.audit.segments import Series, checkpoint_path, list_segments
from stakegate.service.audit.verify import MAX_LINE, verify_series

__all__ = ["StartState", "prepare"]

log = get_logger(__name__)


@dataclass
class StartState:
    """Where the writer continues: the open checkpoint file and the end of the chain."""

    checkpoints: CheckpointFile
    log_id: str
    number: int
    seq: int
    prev: str
    size: int
    day: date | None
    recovered: dict[str, Any] | None


def prepare(base: Path, signer: Signer | None) -> StartState:
    """Lock the log, verify what is on disk, repair what a crash left; raise if it is broken."""
    if signer is None:
        log.warning(
            "Audit log without a signing key (--audit-key): its chain is tamper-evident only "
            "against accidents; whoever can write the files can rewrite them undetected",
            path=str(base),
        )
    base.parent.mkdir(parents=True, exist_ok=True)
    ck_path = checkpoint_path(base)
    created = not ck_path.exists()
    checkpoints = CheckpointFile(ck_path)
    try:
        return _resume(base, signer, checkpoints)
    except BaseException:
        checkpoints.close()
        if created and ck_path.stat().st_size == 0:
            ck_path.unlink()  # leave nothing behind that was not there
        raise


def _resume(base: Path, signer: Signer | None, checkpoints: CheckpointFile) -> StartState:
    segments = list_segments(base)
    latest = checkpoints.latest
    if not segments and latest is None:
        return StartState(checkpoints, str(uuid.uuid4()), 1, 0, GENESIS, 0, None, None)
    if latest is not None and latest.alg != "none" and signer is None:
        raise AuditError(
            f"{base}: its checkpoints are signed ({latest.alg}, key {latest.key_id}); start "
            "with that --audit-key, or run `stakegate audit seal` to continue knowingly unsigned"
        )
    verifiers = [signer.verifier()] if signer else []
    report = verify_series(Series(base, segments, whole=True), verifiers)
    if report.status not in ("intact", "sealed"):
        listed = "; ".join(report.problems[:5])
        more = f" (and {len(report.problems) - 5} more)" if len(report.problems) > 5 else ""
        raise AuditError(
            f"audit log {base} is {report.status}: {listed}{more}. Refusing to continue it: "
            "see `stakegate audit verify`, and start a new segment that records the gap with "
            "`stakegate audit seal`"
        )
    if not segments:
        raise AssertionError("verify_series passes no log without segments")
    recovered: dict[str, Any] = {}
    number, path = segments[-1]
    if report.torn_tail is not None:
        recovered["torn_tail"] = _cut_tail(path, report.last_bytes)
    if report.uncovered:
        recovered["uncovered"] = {
            "from_seq": report.last_seq - report.uncovered + 1,
            "to_seq": report.last_seq,
        }
    size = report.last_bytes
    if size == 0 and number > 1:  # a rotation that crashed before its first write
        path.unlink()
        recovered["removed_empty_segment"] = path.name
        number, path = segments[-2]
        size = path.stat().st_size
    if report.status == "sealed":
        log.warning("Audit log continues after a seal", path=str(base), seals=len(report.seals))
    log_id = report.log_id or str(uuid.uuid4())
    return StartState(
        checkpoints,
        log_id,
        number,
        report.last_seq,
        report.last_hash,
        size,
        _segment_day(path),
        recovered or None,
    )


def _cut_tail(path: Path, keep: int) -> dict[str, Any]:
    """Remove the unfinished last line of ``path`` (after byte ``keep``); describe it."""
    with path.open("rb+") as handle:
        handle.seek(keep)
        partial = handle.read()
        handle.truncate(keep)
        os.fsync(handle.fileno())
    info = {
        "segment_file": path.name,
        "offset": keep,
        "bytes": len(partial),
        "sha256": hashlib.sha256(partial).hexdigest(),
    }
    log.warning("Audit log: unfinished final line removed", path=str(path), **info)
    return info


def _segment_day(path: Path) -> date | None:
    """The UTC day a segment was started (its header's time), for daily rotation."""
    with path.open("rb") as handle:
        first = handle.readline(MAX_LINE)
    record = parse_line(first.rstrip(b"\n")).record
    when = record.get("time") if record else None
    try:
        return date.fromisoformat(str(when)[:10])
    except ValueError:
        return None
