"""The audit log's chain and writer: group commit, a checkpoint per commit, restarts, crashes."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

from click.testing import CliRunner

from stakegate.cli.main import cli
from stakegate.service.audit import GENESIS, AuditLog, verify_log

from .audit_support import (
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


def test_fresh_log_starts_with_a_header_and_is_chained_from_genesis(tmp_path: Path):
    log_path = tmp_path / "audit.log"
    write(log_path, 3)
    found = records(log_path)
    assert [r["seq"] for r in found] == [1, 2, 3, 4]
    assert found[0]["type"] == "segment" and found[0]["segment"] == 1
    assert found[0]["previous"] is None and found[0]["prev"] == GENESIS
    assert all(b["prev"] == a["hash"] for a, b in zip(found, found[1:], strict=False))
    report = verify_log(log_path, verifiers())
    assert (report.status, report.records, report.decisions) == ("intact", 4, 3)
    assert report.authenticated and report.log_id == found[0]["log_id"]
    covered = checkpoint(log_path)
    assert (covered.seq, covered.hash, covered.bytes) == (
        4,
        found[-1]["hash"],
        len(log_path.read_bytes()),
    )
    assert covered.alg == "EdDSA" and covered.sig


def test_every_acknowledged_append_is_covered_by_a_durable_checkpoint(tmp_path: Path):
    # Issue 12, failure 2: the old head lagged the log by up to a second (432 acknowledged
    # decisions after it in one SIGKILL). Now the checkpoint on disk covers each append as
    # soon as it returns.
    log_path = tmp_path / "audit.log"
    audit = AuditLog(log_path, signer=signer())
    try:
        for record in decisions(20):
            audit.append_sync([record])
            last = records(log_path)[-1]
            on_disk = checkpoint(log_path)
            assert (on_disk.seq, on_disk.hash) == (last["seq"], last["hash"])
    finally:
        audit.close()


def test_concurrent_async_appends_share_commits_and_are_all_covered(tmp_path: Path):
    log_path = tmp_path / "audit.log"
    audit = AuditLog(log_path, signer=signer())

    async def main() -> None:
        await asyncio.gather(*(audit.append(decisions(2, 2 * i)) for i in range(200)))

    asyncio.run(main())
    assert len(lines(log_path)) == 401  # the header and 400 decisions, all covered:
    assert checkpoint(log_path).seq == 401
    assert audit.fsyncs <= 200  # group commit: batches share a write, fsync and checkpoint
    audit.close()
    report = verify_log(log_path, verifiers())
    assert (report.status, report.decisions) == ("intact", 400)


def test_the_hash_covers_the_bytes_as_written_not_a_reserialization(tmp_path: Path):
    # Numbers that JSON libraries spell differently (orjson 0.00001, the json module 1e-05),
    # and text outside ASCII, as reasons can carry both.
    log_path = tmp_path / "audit.log"
    audit = AuditLog(log_path)
    audit.append_sync([{"type": "decision", "share": 1e-05, "tiny": 1e-07, "name": "Zürich 株式"}])
    audit.close()
    assert verify_log(log_path).status == "intact"
    header, line = lines(log_path)
    body, _, _ = line.rpartition(b',"hash":')
    assert hashlib.sha256(body + b"}").hexdigest() == json.loads(line)["hash"]
    assert "Zürich 株式".encode() in line  # UTF-8, not \u escapes
    # Respelling a number leaves equal JSON, but different bytes: tampering.
    assert b"0.00001" in line
    log_path.write_bytes(header + line.replace(b"0.00001", b"1e-05"))
    report = verify_log(log_path)
    assert report.status == "tampered"
    assert report.problems[0] == "audit.log line 2: content does not match its hash"


def test_restart_continues_the_chain_in_the_same_segment(tmp_path: Path):
    log_path = tmp_path / "audit.log"
    write(log_path, 2)
    write(log_path, 2)
    found = records(log_path)
    assert [r["seq"] for r in found] == [1, 2, 3, 4, 5]
    assert [r["type"] for r in found].count("segment") == 1
    assert found[3]["prev"] == found[2]["hash"]
    assert verify_log(log_path, verifiers()).status == "intact"


def test_edited_line_is_tampering_and_named(tmp_path: Path):
    log_path = tmp_path / "audit.log"
    write(log_path, 3)
    found = lines(log_path)
    found[2] = found[2].replace(b'"decision":"allow"', b'"decision":"deny"')
    log_path.write_bytes(b"".join(found))
    report = verify_log(log_path, verifiers())
    assert report.status == "tampered"
    assert report.problems == [
        "audit.log line 3: content does not match its hash",
        # "deny" is a byte shorter: the segment no longer ends where the checkpoint says.
        "checkpoint audit.log.checkpoint (seq 4) does not match audit.log line 4",
    ]


def test_deleted_or_reordered_lines_break_the_chain(tmp_path: Path):
    log_path = tmp_path / "audit.log"
    write(log_path, 4)
    original = lines(log_path)
    for mutated in (
        original[:2] + original[3:],
        [*original[:2], original[3], original[2], original[4]],
    ):
        log_path.write_bytes(b"".join(mutated))
        report = verify_log(log_path, verifiers())
        assert report.status == "tampered"
        assert report.problems[0].startswith("audit.log line 3: chain broken")


def test_a_torn_final_line_is_reported_but_is_not_tampering(tmp_path: Path):
    # A crash inside write(): the last line is unfinished, after the latest checkpoint, and was
    # never acknowledged. Verify says so and still calls the log intact.
    log_path = tmp_path / "audit.log"
    write(log_path, 2)
    with log_path.open("ab") as handle:
        handle.write(b'{"seq":4,"type":"decis')
    report = verify_log(log_path, verifiers())
    assert report.status == "intact", report.problems
    assert report.torn_tail == {"segment": 1, "offset": checkpoint(log_path).bytes, "bytes": 22}
    assert "unfinished line (22 bytes" in report.notes[0]
    result = CliRunner().invoke(cli, ["audit", "verify", str(log_path), "--key", str(PUBLIC)])
    assert result.exit_code == 0
    assert "unfinished line" in result.stderr

    # A restart cuts it, says what it cut, and the chain goes on.
    audit = AuditLog(log_path, signer=signer())
    assert audit.recovered is not None
    torn = audit.recovered["torn_tail"]
    assert (torn["bytes"], torn["sha256"]) == (
        22,
        hashlib.sha256(b'{"seq":4,"type":"decis').hexdigest(),
    )
    audit.append_sync([{"type": "open", "recovered": audit.recovered}])
    audit.close()
    report = verify_log(log_path, verifiers())
    assert (report.status, report.records, report.torn_tail) == ("intact", 4, None)


def test_a_torn_line_before_the_checkpoint_is_truncation(tmp_path: Path):
    log_path = tmp_path / "audit.log"
    write(log_path, 3)
    log_path.write_bytes(log_path.read_bytes()[:-40])  # the end of an acknowledged line
    report = verify_log(log_path, verifiers())
    assert report.status == "truncated"
    assert "acknowledged lines were cut off the end" in report.problems[0]


def test_cli_verify_exit_codes_and_report(tmp_path: Path):
    log_path = tmp_path / "audit.log"
    write(log_path, 2)
    ok = CliRunner().invoke(cli, ["audit", "verify", str(log_path), "--key", str(PUBLIC)])
    assert ok.exit_code == 0, ok.output
    body = json.loads(ok.stdout)
    assert (body["status"], body["authenticated"], body["decisions"]) == ("intact", True, 2)
    unkeyed = CliRunner().invoke(cli, ["audit", "verify", str(log_path)])
    assert unkeyed.exit_code == 0
    assert "no --key" in unkeyed.stderr
    log_path.write_bytes(b"".join(lines(log_path)[:-1]))
    bad = CliRunner().invoke(cli, ["audit", "verify", str(log_path), "--key", str(PUBLIC)])
    assert bad.exit_code == 1
    assert json.loads(bad.stdout)["status"] == "truncated"
    assert "is truncated" in bad.stderr
    missing = CliRunner().invoke(cli, ["audit", "verify", str(tmp_path / "nope.log")])
    assert missing.exit_code == 2
    assert "no such audit log file" in missing.stderr


def test_serve_refuses_an_unusable_audit_key(tmp_path: Path):
    registry = Path(__file__).resolve().parents[1] / "examples" / "registry.yaml"
    base = ["serve", "--registry", str(registry)]
    not_a_key = tmp_path / "k.pem"
    not_a_key.write_text("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    for extra, message in (
        (
            ["--audit-log", str(tmp_path / "a.log"), "--audit-key", str(not_a_key)],
            "not an unencrypted PEM private key",
        ),
        (
            ["--audit-log", str(tmp_path / "a.log"), "--audit-key", str(PUBLIC)],
            "not an unencrypted PEM private key",
        ),
        (["--audit-key", str(PRIVATE)], "--audit-key needs --audit-log"),
        (
            ["--audit-log", str(tmp_path / "a.log"), "--audit-key", str(tmp_path / "none.pem")],
            "cannot read",
        ),
    ):
        result = CliRunner().invoke(cli, [*base, *extra])
        assert result.exit_code == 2, result.output
        assert message in result.stderr
    assert not (tmp_path / "a.log").exists()


def test_an_audit_log_that_cannot_be_opened_is_an_error_not_a_traceback(tmp_path: Path):
    import pytest

    from stakegate.errors import AuditError

    (tmp_path / "dir.log").mkdir()
    with pytest.raises(AuditError, match="Is a directory"):
        AuditLog(tmp_path / "dir.log")
    assert not (tmp_path / "dir.log.checkpoint").exists()
    as_segment = tmp_path / "x.log"
    write(as_segment, 1)
    (tmp_path / "x.log.000002").mkdir()  # not a file: not a segment, and no crash
    assert verify_log(as_segment, verifiers()).status == "intact"
    unreadable = CliRunner().invoke(cli, ["audit", "verify", str(tmp_path / "dir.log")])
    assert unreadable.exit_code == 2 and "found logs: none" in unreadable.stderr


def test_lines_after_the_checkpoint_are_kept_and_named_at_restart(tmp_path: Path):
    # A crash between a commit's fsync and its checkpoint: the lines are on disk, unanswered.
    from stakegate.service.audit.chain import encode_line

    log_path = tmp_path / "audit.log"
    write(log_path, 2)
    last = records(log_path)[-1]
    line, _ = encode_line(decisions(1, 9)[0], last["seq"] + 1, last["hash"])
    with log_path.open("ab") as handle:
        handle.write(line)
    report = verify_log(log_path, verifiers())
    assert (report.status, report.uncovered) == ("intact", 1)
    assert "1 line(s) after the latest checkpoint" in report.notes[0]
    audit = AuditLog(log_path, signer=signer())
    assert audit.recovered == {"uncovered": {"from_seq": 4, "to_seq": 4}}
    audit.append_sync([{"type": "open", "recovered": audit.recovered}])
    audit.close()
    report = verify_log(log_path, verifiers())
    assert (report.status, report.uncovered, report.decisions) == ("intact", 0, 3)
