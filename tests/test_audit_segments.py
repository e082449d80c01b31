"""Segments: rotation by size or day, verifying a series, and sealing a broken log knowingly."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from stakegate.cli.main import cli
from stakegate.errors import AuditError
from stakegate.service.audit import AuditLog, verify_log
from stakegate.service.audit.chain import GENESIS, encode_line

from .audit_support import (
    OTHER_PRIVATE,
    OTHER_PUBLIC,
    PRIVATE,
    PUBLIC,
    checkpoint,
    decisions,
    lines,
    records,
    signer,
    verifiers,
    write,
)


def _segments(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("audit.log"))


def _verify_cli(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["audit", "verify", "--key", str(PUBLIC), *args])


def test_rotation_by_size_chains_each_segment_to_the_previous_checkpoint(tmp_path: Path):
    log_path = tmp_path / "audit.log"
    write(log_path, 12, rotate_bytes=1200)
    names = _segments(tmp_path)
    assert names[:3] == ["audit.log", "audit.log.000002", "audit.log.000003"]
    assert names[-1] == "audit.log.checkpoint"
    second = records(tmp_path / "audit.log.000002")
    header, end_of_first = second[0], records(log_path)[-1]
    assert (header["type"], header["segment"], header["log_id"]) == (
        "segment",
        2,
        records(log_path)[0]["log_id"],
    )
    previous = header["previous"]
    assert (previous["segment"], previous["seq"], previous["hash"]) == (
        1,
        end_of_first["seq"],
        end_of_first["hash"],
    )
    assert previous["bytes"] == len(log_path.read_bytes()) and previous["sig"]
    assert header["prev"] == end_of_first["hash"]
    # The log, its directory, or its segments in order: all verify.
    assert _verify_cli(str(log_path)).exit_code == 0
    assert _verify_cli(str(tmp_path)).exit_code == 0
    every = [str(tmp_path / n) for n in names if n != "audit.log.checkpoint"]
    assert _verify_cli(*every).exit_code == 0
    report = verify_log(log_path, verifiers())
    assert (report.status, report.decisions, report.segments) == (
        "intact",
        12,
        list(range(1, len(every) + 1)),
    )


def test_a_missing_middle_segment_is_detected(tmp_path: Path):
    log_path = tmp_path / "audit.log"
    write(log_path, 12, rotate_bytes=1200)
    (tmp_path / "audit.log.000002").unlink()
    result = _verify_cli(str(tmp_path))
    assert result.exit_code == 1
    assert json.loads(result.stdout)["status"] == "tampered"
    assert "segment(s) 2 missing before audit.log.000003" in result.stderr
    with pytest.raises(AuditError, match="tampered: segment"):
        AuditLog(log_path, signer=signer())


def test_a_missing_last_segment_is_truncation(tmp_path: Path):
    log_path = tmp_path / "audit.log"
    write(log_path, 12, rotate_bytes=1200)
    last = [n for n in _segments(tmp_path) if n[-1].isdigit()][-1]
    (tmp_path / last).unlink()
    report = verify_log(log_path, verifiers())
    assert report.status == "truncated"
    assert "acknowledged lines were cut off the end" in report.problems[0]


def test_a_renamed_segment_is_caught_by_its_header(tmp_path: Path):
    log_path = tmp_path / "audit.log"
    write(log_path, 12, rotate_bytes=1200)
    (tmp_path / "audit.log.000003").rename(tmp_path / "audit.log.000009")
    (tmp_path / "audit.log.000002").rename(tmp_path / "audit.log.000003")
    report = verify_log(log_path, verifiers())
    assert report.status == "tampered"
    assert "audit.log.000003 line 1: not the header of segment 3" in report.problems


def test_archived_early_segments_leave_a_verifiable_anchored_rest(tmp_path: Path):
    log_path = tmp_path / "audit.log"
    write(log_path, 12, rotate_bytes=1200)
    rest = [str(tmp_path / n) for n in _segments(tmp_path) if n[-1].isdigit()][1:]
    result = _verify_cli(*rest)
    assert result.exit_code == 0, result.output
    assert "starts at segment 3, after seq" in result.stderr


def test_daily_rotation(tmp_path: Path):
    log_path = tmp_path / "audit.log"
    day = [date(2026, 3, 1)]
    audit = AuditLog(log_path, signer=signer(), rotate_daily=True, today=lambda: day[0])
    audit.append_sync(decisions(1))
    audit.append_sync(decisions(1, 1))
    day[0] += timedelta(days=1)
    audit.append_sync(decisions(1, 2))
    audit.close()
    assert [r["seq"] for r in records(tmp_path / "audit.log.000002")] == [4, 5]
    assert not (tmp_path / "audit.log.000003").exists()
    assert verify_log(log_path, verifiers()).status == "intact"


def test_a_rotation_that_crashed_before_its_first_write_is_resumed(tmp_path: Path):
    log_path = tmp_path / "audit.log"
    write(log_path, 3)
    (tmp_path / "audit.log.000002").touch()  # created, then SIGKILL
    assert verify_log(log_path, verifiers()).status == "intact"
    audit = AuditLog(log_path, signer=signer())
    assert audit.recovered == {"removed_empty_segment": "audit.log.000002"}
    audit.append_sync(decisions(1))
    audit.close()
    assert verify_log(log_path, verifiers()).status == "intact"


# --- sealing -------------------------------------------------------------------------------


def _seal(log_path: Path, *extra: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(
        cli,
        ["audit", "seal", str(log_path), "--audit-key", str(PRIVATE), "--reason", "INC-7", *extra],
    )


def test_seal_records_the_gap_and_lets_the_service_continue(tmp_path: Path):
    log_path = tmp_path / "audit.log"
    write(log_path, 5)
    log_path.write_bytes(b"".join(lines(log_path)[:-2]))  # two acknowledged lines cut
    with pytest.raises(AuditError, match="truncated"):
        AuditLog(log_path, signer=signer())
    sealed = _seal(log_path)
    assert sealed.exit_code == 0, sealed.output
    seal = json.loads(sealed.stdout)
    assert (seal["type"], seal["segment"], seal["reason"], seal["signed"]) == (
        "seal",
        2,
        "INC-7",
        True,
    )
    found = seal["found"]
    assert found["status"] == "truncated" and found["last_seq"] == 4
    assert "acknowledged lines were cut off the end" in found["problems"][0]
    assert [f["name"] for f in found["files"]] == ["audit.log"]
    assert found["checkpoint"]["seq"] == 6  # the checkpoint as found: what was cut
    assert checkpoint(log_path).segment == 2

    # The service continues after the seal; the gap stays on the record.
    write(log_path, 1)
    report = verify_log(log_path, verifiers())
    assert report.status == "sealed"
    assert report.problems == []
    assert report.sealed_problems[0].startswith("sealed by segment 2: the log ends at seq 4")
    result = _verify_cli(str(log_path))
    assert result.exit_code == 1 and "is sealed" in result.stderr
    # A monitor that knows about the seal accepts it, and still sees it.
    allowed = _verify_cli(str(log_path), "--allow-sealed")
    assert allowed.exit_code == 0 and "sealed by segment 2" in allowed.stderr


def test_a_sealed_segment_changed_afterwards_is_tampering(tmp_path: Path):
    log_path = tmp_path / "audit.log"
    write(log_path, 3)
    log_path.write_bytes(b"".join(lines(log_path)[:-1]))
    assert _seal(log_path).exit_code == 0
    log_path.write_bytes(b"".join(lines(log_path)[:-1]))  # and another one, after the seal
    report = verify_log(log_path, verifiers())
    assert report.status == "tampered"
    assert "audit.log changed since segment 2 sealed it" in report.problems
    with pytest.raises(AuditError, match="tampered"):
        AuditLog(log_path, signer=signer())


def test_an_older_format_log_is_refused_and_can_be_sealed(tmp_path: Path):
    # Logs written before checkpoints: no segment header, a ".head" file, no checkpoint.
    log_path = tmp_path / "audit.log"
    prev, out = GENESIS, []
    for seq, record in enumerate([{"type": "open"}, *decisions(2), {"type": "close"}], 1):
        line, prev = encode_line(record, seq, prev)
        out.append(line)
    log_path.write_bytes(b"".join(out))
    (tmp_path / "audit.log.head").write_text(json.dumps({"seq": 4, "hash": prev}))
    report = verify_log(log_path, verifiers())
    assert report.status == "unverified"
    assert report.problems[0] == "audit.log line 1: no segment header (an older log format)"
    with pytest.raises(AuditError, match="unverified"):
        AuditLog(log_path, signer=signer())
    assert _seal(log_path).exit_code == 0
    write(log_path, 1)
    report = verify_log(log_path, verifiers())
    assert (report.status, report.decisions, report.last_seq) == ("sealed", 3, 6)


def test_a_seal_moves_the_log_to_a_new_key(tmp_path: Path):
    from stakegate.service.audit import load_signer, load_verifiers

    log_path = tmp_path / "audit.log"
    write(log_path, 2)
    moved = CliRunner().invoke(
        cli,
        ["audit", "seal", str(log_path), "--audit-key", str(OTHER_PRIVATE), "--key", str(PUBLIC)],
    )
    assert moved.exit_code == 0, moved.output
    assert json.loads(moved.stdout)["found"]["status"] == "intact"
    audit = AuditLog(log_path, signer=load_signer(str(OTHER_PRIVATE)))
    audit.append_sync(decisions(1, 2))
    audit.close()
    report = verify_log(log_path, load_verifiers([PUBLIC, OTHER_PUBLIC]))
    assert (report.status, report.decisions) == ("intact", 3)
    assert verify_log(log_path, verifiers()).status == "unverified"  # the old key alone
