"""Verifying an audit log: every segment's chain, the headers that join them, the checkpoints.

One pass reads each segment line by line (memory does not grow with the log): it rehashes each
line's bytes, follows ``prev`` and ``seq``, checks each segment's header (its number, the log's
id, and for rotated segments the signed checkpoint of the previous segment's end), and compares
the latest checkpoint (``LOG.checkpoint``, and any copy shipped elsewhere) with the line it
names. Files recorded by an ``audit seal`` are then compared with the digests the seal took.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stakegate.service.audit.chain import GENESIS, parse_line
from stakegate.service.audit.checkpoints import (
    Checkpoint,
    latest,
    order,
    read_checkpoints,
    signature_problem,
)
from stakegate.service.audit.keys import Verifier
from stakegate.service.audit.report import END, AuditReport
from stakegate.service.audit.segments import (
    Series,
    checkpoint_path,
    list_segments,
    resolve,
    segment_path,
)

__all__ = ["MAX_LINE", "file_digest", "verify_log", "verify_series"]

# Longer lines are not audit records (the longest the service writes holds one entity's
# facts, bounded by the request size): reading stops there instead of buffering the file.
MAX_LINE = 16 << 20
# A checkpoint file holds two 4 KiB slots; a shipped copy may hold many JSON lines.
_MAX_CHECKPOINT_FILE = 1 << 20


def verify_log(
    paths: Path | Sequence[Path],
    keys: Sequence[Verifier] = (),
    checkpoints: Sequence[Path] = (),
) -> AuditReport:
    """Verify a log (its first file or directory) or segments in order; see ``AuditReport``."""
    series = resolve([paths] if isinstance(paths, Path) else list(paths))
    return verify_series(series, list(keys), list(checkpoints))


def verify_series(
    series: Series, verifiers: list[Verifier], external: list[Path] | None = None
) -> AuditReport:
    report = AuditReport(str(series.base), authenticated=bool(verifiers))
    targets = _targets(series, verifiers, external or [], report)
    if series.whole:  # listed after the checkpoint was read: a live rotation is not a gap
        series = Series(series.base, list_segments(series.base), whole=True)
    report.segments = [number for number, _ in series.segments]
    scan = _Scan(report, verifiers, targets)
    for number, path in series.segments:
        scan.segment(number, path)
    scan.finish(series)
    report.settle(_check_seals(series, scan.seal_records, report))
    return report


def file_digest(path: Path) -> dict[str, Any]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return {"bytes": size, "sha256": digest.hexdigest()}


def _targets(
    series: Series, verifiers: list[Verifier], external: list[Path], report: AuditReport
) -> list[tuple[str, Checkpoint]]:
    """The latest checkpoint of ``LOG.checkpoint`` and of each shipped copy, signatures checked."""
    sources = [(checkpoint_path(series.base), True), *((p, False) for p in external)]
    targets = []
    for path, local in sources:
        if not path.exists() or (local and path.stat().st_size == 0):
            continue  # a missing local checkpoint is judged once the records are counted
        with path.open("rb") as handle:
            data = handle.read(_MAX_CHECKPOINT_FILE + 1)
        if len(data) > _MAX_CHECKPOINT_FILE:
            report.flag(END, "unverified", f"{path.name}: larger than 1 MiB, not a checkpoint file")
            continue
        found = latest(read_checkpoints(data)[0])
        if found is None:
            report.flag(END, "unverified", f"{path.name}: no readable checkpoint in it")
            continue
        name = path.name if local else str(path)
        problem = signature_problem(found, verifiers)
        if problem is not None:
            report.flag(END, problem[0], f"checkpoint {name} (seq {found.seq}) {problem[1]}")
        targets.append((name, found))
    newest = max(targets, key=lambda t: order(t[1]), default=None)
    report.checkpoint = newest[1].to_json() if newest else None
    return targets


class _Scan:
    """State carried from line to line and from segment to segment."""

    def __init__(
        self,
        report: AuditReport,
        verifiers: list[Verifier],
        targets: list[tuple[str, Checkpoint]],
    ) -> None:
        self.report, self.verifiers, self.targets = report, verifiers, targets
        self.pending = {id(cp): (name, cp) for name, cp in targets}
        self.prev: str | None = None  # None: unknown (start of a partial series, or a bad line)
        self.seq: int | None = None
        self.number = 0
        self.end: tuple[int | None, str | None, int] = (None, None, 0)
        self.embedded: list[Checkpoint] = []
        self.seal_records: list[dict[str, Any]] = []
        self.last_type = "close"
        self.torn: tuple[int, int, int] | None = None
        self.empty: list[int] = []

    def segment(self, number: int, path: Path) -> None:
        report = self.report
        if self.number and number != self.number + 1:
            missing = ", ".join(str(n) for n in range(self.number + 1, number))
            report.flag(number, "tampered", f"segment(s) {missing} missing before {path.name}")
        if self.torn is not None:  # an unfinished line followed by another segment
            report.flag(self.torn[0], "tampered", f"segment {self.torn[0]} ends mid-line")
            self.torn = None
        self.number = number
        offset = 0
        with path.open("rb") as handle:
            for lineno, raw in enumerate(iter(lambda: handle.readline(MAX_LINE + 1), b""), 1):
                if len(raw) > MAX_LINE:
                    where = f"{path.name} line {lineno}"
                    report.flag(number, "tampered", f"{where}: over {MAX_LINE} bytes: not a record")
                    self.prev = self.seq = None
                    break
                if not raw.endswith(b"\n"):
                    self.torn = (number, offset, len(raw))
                    break
                offset += len(raw)
                self._line(number, f"{path.name} line {lineno}", lineno == 1, raw[:-1], offset)
        if offset == 0 and self.torn is None:
            self.empty.append(number)
        self.end = (self.seq, self.prev, offset)
        report.last_bytes = offset

    def _line(self, number: int, where: str, first: bool, raw: bytes, offset: int) -> None:
        report = self.report
        parsed = parse_line(raw)
        record = parsed.record
        if record is None:
            report.flag(number, "tampered", f"{where}: not a complete audit record")
            self.prev = self.seq = None
            return
        if not parsed.hash_ok:
            report.flag(number, "tampered", f"{where}: content does not match its hash")
        if first:
            self._header(number, where, record)
        if self.prev is not None and record.get("prev") != self.prev:
            report.flag(
                number,
                "tampered",
                f"{where}: chain broken (a line before it was removed, inserted or changed)",
            )
        claimed_seq = record.get("seq")
        if self.seq is not None and claimed_seq != self.seq + 1:
            expected = self.seq + 1
            report.flag(number, "tampered", f"{where}: seq {claimed_seq!r}, expected {expected}")
        self.seq = claimed_seq if type(claimed_seq) is int else None
        self.prev = parsed.claimed
        self.last_type = str(record.get("type"))
        report.records += 1
        report.decisions += self.last_type == "decision"
        if self.seq is not None:
            report.last_seq, report.last_hash = self.seq, self.prev or GENESIS
            self._match_targets(number, where, offset)

    def _header(self, number: int, where: str, record: dict[str, Any]) -> None:
        report = self.report
        kind = record.get("type")
        if kind not in ("segment", "seal") or record.get("segment") != number:
            if number == 1 and self.prev is None and record.get("prev") == GENESIS:
                report.flag(1, "unverified", f"{where}: no segment header (an older log format)")
                self.prev, self.seq = GENESIS, 0
            else:
                report.flag(number, "tampered", f"{where}: not the header of segment {number}")
            return
        log_id = record.get("log_id")
        if report.log_id is None:
            report.log_id = log_id
        elif log_id != report.log_id:
            report.flag(number, "tampered", f"{where}: log_id {log_id!r} is another log's")
        if kind == "seal":
            self.seal_records.append(record)
            found = _dict(record.get("found"))
            report.seals.append(
                {"segment": number, "time": record.get("time"), "found": found.get("status")}
            )
            return
        previous = record.get("previous")
        if previous is None:
            if number != 1:
                report.flag(number, "tampered", f"{where}: no checkpoint of segment {number - 1}")
            if self.prev is None:
                self.prev, self.seq = GENESIS, 0
            return
        try:
            checkpoint = Checkpoint.from_json(previous)
        except ValueError as err:
            report.flag(number, "tampered", f"{where}: unreadable previous checkpoint ({err})")
            return
        self.embedded.append(checkpoint)
        problem = signature_problem(checkpoint, self.verifiers)
        if problem is not None:
            report.flag(number, problem[0], f"{where}: previous segment's checkpoint {problem[1]}")
        if self.prev is None:
            report.notes.append(
                f"starts at segment {number}, after seq {checkpoint.seq} of segment "
                f"{checkpoint.segment} (the header's checkpoint anchors the start)"
            )
            self.prev, self.seq = checkpoint.hash, checkpoint.seq
        elif (
            checkpoint.segment != number - 1
            or (checkpoint.seq, checkpoint.hash, checkpoint.bytes) != self.end
        ):
            report.flag(
                number,
                "tampered",
                f"{where}: the header's checkpoint (seq {checkpoint.seq}) is not the end of "
                f"segment {number - 1} (seq {self.end[0]})",
            )

    def _match_targets(self, number: int, where: str, offset: int) -> None:
        for name, checkpoint in self.targets:
            if checkpoint.seq != self.seq or id(checkpoint) not in self.pending:
                continue
            del self.pending[id(checkpoint)]
            if (checkpoint.segment, checkpoint.hash, checkpoint.bytes) != (
                number,
                self.prev,
                offset,
            ):
                self.report.flag(
                    END,
                    "tampered",
                    f"checkpoint {name} (seq {checkpoint.seq}) does not match {where}",
                )

    def finish(self, series: Series) -> None:
        report = self.report
        last = report.last_segment
        if self.torn is not None:
            number, offset, size = self.torn
            report.torn_tail = {"segment": number, "offset": offset, "bytes": size}
            report.notes.append(
                f"segment {number} ends with an unfinished line ({size} bytes at offset {offset}):"
                " a write cut short by a crash, never acknowledged; `serve` removes it at start"
            )
        for number in self.empty:
            if number != last:
                report.flag(number, "tampered", f"segment {number} is empty")
        report.clean_shutdown = self.last_type == "close"
        if not self.targets:
            if report.records and not any(p.segment == END for p in report.found):
                report.flag(
                    END,
                    "unverified",
                    f"no checkpoint ({checkpoint_path(series.base).name} is missing or empty): "
                    "nothing "
                    "shows where the log ended, so lines cut off the end would go unnoticed",
                )
            return
        for name, checkpoint in self.pending.values():
            on_disk = segment_path(series.base, checkpoint.segment).is_file()
            if not series.whole and checkpoint.segment > last and on_disk:
                report.notes.append(
                    f"checkpoint {name} covers segment {checkpoint.segment}, which was not "
                    "given: the end of the log is not checked"
                )
                continue
            report.flag(
                END,
                "truncated",
                f"the log ends at seq {report.last_seq} (segment {last}) but checkpoint {name} "
                f"covers seq {checkpoint.seq} in segment {checkpoint.segment}: acknowledged "
                "lines were cut off the end",
            )
        newest = max((cp for _, cp in self.targets), key=order)
        stale = [cp for cp in self.embedded if order(cp) > order(newest)]
        if stale or last > newest.segment + 1:
            report.flag(END, "tampered", "the checkpoint is older than the log's own headers "
                        "record: it was replaced by an earlier one")  # fmt: skip
        if not self.pending:
            report.uncovered = max(0, report.last_seq - newest.seq)
            if report.uncovered:
                report.notes.append(
                    f"{report.uncovered} line(s) after the latest checkpoint: written, but not "
                    "acknowledged before the writer stopped"
                )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _check_seals(series: Series, seals: list[dict[str, Any]], report: AuditReport) -> int:
    """The segment of the latest seal whose recorded files are unchanged (0: none).

    What each such seal found is kept in ``sealed_problems``. A recorded file that is gone is
    tampering, unless it precedes every segment given (archived elsewhere)."""
    present = dict(series.segments)
    first = min(present, default=0)
    sealed_before = 0
    for seal in seals:
        found = _dict(seal.get("found"))
        files = found.get("files")
        files = files if isinstance(files, list) else []
        unchanged = True
        for entry in files:
            number = entry.get("segment") if isinstance(entry, dict) else None
            if not isinstance(number, int) or number not in present:
                if not isinstance(number, int) or number > first:
                    unchanged = False
                    report.flag(seal["segment"], "tampered",
                                f"segment {number!r}, sealed by segment {seal['segment']}, "
                                "is missing")  # fmt: skip
                continue
            actual = file_digest(present[number])
            if actual != {"bytes": entry.get("bytes"), "sha256": entry.get("sha256")}:
                unchanged = False
                report.flag(
                    seal["segment"],
                    "tampered",
                    f"{present[number].name} changed since segment {seal['segment']} sealed it",
                )
        if unchanged:
            sealed_before = int(seal["segment"])
            if found.get("status") != "intact":
                report.sealed_problems.extend(
                    f"sealed by segment {seal['segment']}: {problem}"
                    for problem in found.get("problems") or [f"status {found.get('status')}"]
                )
    return sealed_before
