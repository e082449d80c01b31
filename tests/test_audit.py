"""The audit log: group commit, hash chain, and every way of breaking it being told apart."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from stakegate.cli.main import cli
from stakegate.service.audit import GENESIS, AuditLog, verify_log


def _decisions(n: int, start: int = 0) -> list[dict]:
    return [
        {"type": "decision", "decision_id": f"id-{i}", "entity": f"e{i}", "decision": "allow"}
        for i in range(start, start + n)
    ]


def _write(path: Path, n: int) -> None:
    audit = AuditLog(path)
    audit.append_sync(_decisions(n))
    audit.close()


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def test_fresh_log_is_chained_from_genesis(tmp_path: Path):
    log_path = tmp_path / "audit.log"
    _write(log_path, 3)
    records = [json.loads(line) for line in _lines(log_path)]
    assert [r["seq"] for r in records] == [1, 2, 3]
    assert records[0]["prev"] == GENESIS
    assert records[1]["prev"] == records[0]["hash"]
    report = verify_log(log_path)
    assert (report.status, report.records, report.decisions) == ("intact", 3, 3)
    assert report.last_hash == records[-1]["hash"]
    head = json.loads((tmp_path / "audit.log.head").read_text())
    assert (head["seq"], head["hash"]) == (3, records[-1]["hash"])


def test_concurrent_async_appends_are_all_durable_and_chained(tmp_path: Path):
    log_path = tmp_path / "audit.log"
    audit = AuditLog(log_path)

    async def main() -> None:
        await asyncio.gather(*(audit.append(_decisions(2, 2 * i)) for i in range(200)))

    asyncio.run(main())
    # Every append returned, so every line is on disk before close() writes anything more.
    assert len(_lines(log_path)) == 400
    assert audit.fsyncs <= 200  # group commit: batches share an fsync
    audit.close()
    report = verify_log(log_path)
    assert (report.status, report.decisions) == ("intact", 400)


def test_the_hash_covers_the_bytes_as_written_not_a_reserialization(tmp_path: Path):
    # Numbers that JSON libraries spell differently (orjson 0.00001, the json module 1e-05),
    # and text outside ASCII, as reasons can carry both.
    log_path = tmp_path / "audit.log"
    audit = AuditLog(log_path)
    audit.append_sync([{"type": "decision", "share": 1e-05, "tiny": 1e-07, "name": "Zürich 株式"}])
    audit.close()
    assert verify_log(log_path).status == "intact"
    first = _lines(log_path)[0]
    body, _, _ = first.rpartition(b',"hash":')
    assert hashlib.sha256(body + b"}").hexdigest() == json.loads(first)["hash"]
    assert "Zürich 株式".encode() in first  # UTF-8, not \u escapes
    # Respelling a number leaves equal JSON, but different bytes: tampering.
    assert b"0.00001" in first
    log_path.write_bytes(b"".join([first.replace(b"0.00001", b"1e-05"), *_lines(log_path)[1:]]))
    report = verify_log(log_path)
    assert report.status == "tampered"
    assert report.problems[0] == "line 1: content does not match its hash"


def test_lines_written_by_the_json_module_still_verify(tmp_path: Path):
    # Logs written before the writer used orjson: canonical JSON from the json module.
    prev, lines = GENESIS, []
    for seq, record in enumerate([{"type": "open"}, {"type": "decision", "share": 1e-05}], 1):
        record |= {"seq": seq, "prev": prev}
        body = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        prev = hashlib.sha256(body.encode()).hexdigest()
        lines.append(f'{body[:-1]},"hash":"{prev}"}}\n'.encode())
    log_path = tmp_path / "audit.log"
    log_path.write_bytes(b"".join(lines))
    report = verify_log(log_path)
    assert (report.status, report.records, report.decisions) == ("intact", 2, 1)
    # And the writer continues that chain.
    _write(log_path, 1)
    assert verify_log(log_path).status == "intact"


def test_restart_continues_the_chain(tmp_path: Path):
    log_path = tmp_path / "audit.log"
    _write(log_path, 2)
    _write(log_path, 2)
    records = [json.loads(line) for line in _lines(log_path)]
    assert [r["seq"] for r in records] == [1, 2, 3, 4]
    assert records[2]["prev"] == records[1]["hash"]
    assert verify_log(log_path).status == "intact"


def test_edited_line_is_tampering(tmp_path: Path):
    log_path = tmp_path / "audit.log"
    _write(log_path, 3)
    lines = _lines(log_path)
    lines[1] = lines[1].replace(b'"decision":"allow"', b'"decision":"deny"')
    log_path.write_bytes(b"".join(lines))
    report = verify_log(log_path)
    assert report.status == "tampered"
    assert report.problems == ["line 2: content does not match its hash"]


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda ls: ls[:1] + ls[2:], "line 2: chain broken"),
        (lambda ls: [ls[0], ls[2], ls[1], *ls[3:]], "line 2: chain broken"),
    ],
    ids=["deleted", "reordered"],
)
def test_deleted_or_reordered_lines_break_the_chain(tmp_path: Path, mutate, problem):
    log_path = tmp_path / "audit.log"
    _write(log_path, 4)
    log_path.write_bytes(b"".join(mutate(_lines(log_path))))
    report = verify_log(log_path)
    assert report.status == "tampered"
    assert report.problems[0].startswith(problem)


def test_partial_final_line_is_truncation_not_tampering(tmp_path: Path):
    log_path = tmp_path / "audit.log"
    _write(log_path, 3)
    data = log_path.read_bytes()
    log_path.write_bytes(data[:-40])  # a crash in the middle of writing the last line
    report = verify_log(log_path)
    assert report.status == "truncated"
    assert report.records == 2
    assert "unfinished final line" in report.problems[0]


def test_whole_lines_cut_off_the_end_are_caught_by_the_head(tmp_path: Path):
    log_path = tmp_path / "audit.log"
    _write(log_path, 3)
    log_path.write_bytes(b"".join(_lines(log_path)[:2]))
    report = verify_log(log_path)
    assert report.status == "truncated"
    assert report.problems == [
        "the log ends at seq 2 but audit.log.head records seq 3: lines were cut off the end"
    ]


def test_restart_repairs_a_partial_tail_and_records_it(tmp_path: Path):
    log_path = tmp_path / "audit.log"
    _write(log_path, 2)
    with log_path.open("ab") as handle:
        handle.write(b'{"seq":3,"type":"decis')
    audit = AuditLog(log_path)
    assert audit.recovered is not None and audit.recovered["bytes"] == 22
    audit.append_sync([{"type": "open", "recovered": audit.recovered}])
    audit.close()
    report = verify_log(log_path)
    assert (report.status, report.records) == ("intact", 3)


def test_failed_write_refuses_every_later_line(tmp_path: Path):
    log_path = tmp_path / "audit.log"
    audit = AuditLog(log_path)
    audit._fd, good_fd = -1, audit._fd  # a closed descriptor: the next write raises EBADF
    with pytest.raises(Exception, match="write failed"):
        audit.append_sync(_decisions(1))
    assert audit.failed
    with pytest.raises(Exception, match="not writable"):
        audit.append_sync(_decisions(1))
    audit._fd = good_fd
    audit.close()


def test_cli_verify_exit_codes(tmp_path: Path):
    log_path = tmp_path / "audit.log"
    _write(log_path, 2)
    ok = CliRunner().invoke(cli, ["audit", "verify", str(log_path)])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["status"] == "intact"
    log_path.write_bytes(log_path.read_bytes()[:-5])
    bad = CliRunner().invoke(cli, ["audit", "verify", str(log_path)])
    assert bad.exit_code == 1
    assert json.loads(bad.stdout)["status"] == "truncated"
    assert "is truncated" in bad.stderr
