"""An insider hiding a decision, and what catches it: the four failures of issue 12.

1. a cut tail went undetected after a restart; 2. the head lagged (test_audit.py and
test_service_process.py); 3. a missing or forged head was accepted; 4. the unkeyed chain could
be rewritten whole. Each is tried here the way an insider with write access to the files would.
"""

from __future__ import annotations

import base64
import json
import shutil
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from stakegate.cli.main import cli
from stakegate.errors import AuditError
from stakegate.service.audit import AuditLog, load_signer, verify_log
from stakegate.service.audit.chain import GENESIS, encode_line
from stakegate.service.audit.checkpoints import make_checkpoint

from .audit_support import (
    OTHER_PRIVATE,
    OTHER_PUBLIC,
    PUBLIC,
    RSA_PRIVATE,
    RSA_PUBLIC,
    checkpoint,
    lines,
    records,
    signer,
    verifiers,
    write,
)


def _cut(log_path: Path, n: int) -> None:
    log_path.write_bytes(b"".join(lines(log_path)[:-n]))


def _verify_cli(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["audit", "verify", *args])


def _forge_checkpoint(log_path: Path, key: str | None, *, sig: str | None = None) -> None:
    """What an insider writes after cutting: a checkpoint matching the log's new end."""
    last = records(log_path)[-1]
    forged = make_checkpoint(
        last["log_id"] if "log_id" in last else records(log_path)[0]["log_id"],
        1,
        last["seq"],
        last["hash"],
        len(log_path.read_bytes()),
        load_signer(key) if key else None,
    )
    doc = forged.to_json()
    if sig is not None:  # claim the real key, with a made-up signature
        doc |= {"alg": "EdDSA", "key_id": signer().key_id, "sig": sig}
    log_path.with_name(log_path.name + ".checkpoint").write_text(json.dumps(doc) + "\n")


# --- 1. a cut tail, and restarting on it ---------------------------------------------------


def test_a_cut_tail_is_truncation_and_a_restart_on_it_is_refused(tmp_path: Path):
    log_path = tmp_path / "audit.log"
    write(log_path, 5)
    _cut(log_path, 2)
    before = log_path.read_bytes(), (tmp_path / "audit.log.checkpoint").read_bytes()
    report = verify_log(log_path, verifiers())
    assert report.status == "truncated"
    assert report.problems == [
        "the log ends at seq 4 (segment 1) but checkpoint audit.log.checkpoint covers seq 6 "
        "in segment 1: acknowledged lines were cut off the end"
    ]
    with pytest.raises(AuditError, match=r"is truncated: the log ends at seq 4 .* audit seal"):
        AuditLog(log_path, signer=signer())
    # Refused before writing anything: no reused sequence numbers, no new checkpoint.
    assert (log_path.read_bytes(), (tmp_path / "audit.log.checkpoint").read_bytes()) == before


# --- 3. a missing or forged checkpoint -----------------------------------------------------


def test_a_missing_checkpoint_is_not_accepted(tmp_path: Path):
    log_path = tmp_path / "audit.log"
    write(log_path, 3)
    (tmp_path / "audit.log.checkpoint").unlink()
    result = _verify_cli(str(log_path))  # even without a key
    assert result.exit_code == 1
    assert json.loads(result.stdout)["status"] == "unverified"
    assert "no checkpoint (audit.log.checkpoint is missing or empty)" in result.stderr
    with pytest.raises(AuditError, match="is unverified: no checkpoint"):
        AuditLog(log_path)
    assert not (tmp_path / "audit.log.checkpoint").exists()  # a refusal creates nothing


@pytest.mark.parametrize(
    ("forge", "status", "problem"),
    [
        ({"key": None}, "unverified", "is unsigned"),
        ({"key": str(OTHER_PRIVATE)}, "unverified", "is signed by key sha256:"),
        (
            {"key": None, "sig": base64.b64encode(b"x" * 64).decode()},
            "tampered",
            "signature does not verify",
        ),
    ],
    ids=["unsigned", "other-key", "made-up-signature"],
)
def test_a_forged_checkpoint_over_a_cut_log_fails_with_the_key(tmp_path, forge, status, problem):
    log_path = tmp_path / "audit.log"
    write(log_path, 5)
    _cut(log_path, 2)
    _forge_checkpoint(log_path, **forge)
    assert verify_log(log_path).status == "intact"  # without a key, nothing tells
    report = verify_log(log_path, verifiers())
    assert report.status == status
    assert report.problems[0].startswith("checkpoint audit.log.checkpoint (seq 4) ")
    assert problem in report.problems[0]
    result = _verify_cli(str(log_path), "--key", str(PUBLIC))
    assert result.exit_code == 1
    assert problem in result.stderr
    with pytest.raises(AuditError):
        AuditLog(log_path, signer=signer())


def test_an_unreadable_checkpoint_file_is_not_accepted(tmp_path: Path):
    log_path = tmp_path / "audit.log"
    write(log_path, 2)
    (tmp_path / "audit.log.checkpoint").write_bytes(b"\x00garbage\n")
    report = verify_log(log_path, verifiers())
    assert report.status == "unverified"
    assert report.problems == ["audit.log.checkpoint: no readable checkpoint in it"]


def test_a_wrong_key_fails_naming_both_keys(tmp_path: Path):
    log_path = tmp_path / "audit.log"
    write(log_path, 2)
    result = _verify_cli(str(log_path), "--key", str(OTHER_PUBLIC))
    assert result.exit_code == 1
    assert "is signed by key sha256:" in result.stderr and "not by a given key" in result.stderr
    assert (
        _verify_cli(str(log_path), "--key", str(OTHER_PUBLIC), "--key", str(PUBLIC)).exit_code == 0
    )


def test_rsa_keys_sign_and_verify_too(tmp_path: Path):
    log_path = tmp_path / "audit.log"
    audit = AuditLog(log_path, signer=load_signer(str(RSA_PRIVATE)))
    audit.append_sync([{"type": "decision", "decision": "deny"}])
    audit.close()
    assert checkpoint(log_path).alg == "RS256"
    assert _verify_cli(str(log_path), "--key", str(RSA_PUBLIC)).exit_code == 0
    assert _verify_cli(str(log_path), "--key", str(PUBLIC)).exit_code == 1
    private = _verify_cli(str(log_path), "--key", str(RSA_PRIVATE))
    assert private.exit_code == 2 and "verify with the public key" in private.stderr


# --- 4. rewriting the whole chain ----------------------------------------------------------


def _rewrite_deny_as_allow(log_path: Path) -> None:
    prev, out = GENESIS, []
    for record in records(log_path):
        del record["hash"], record["prev"]
        seq = record.pop("seq")
        if record.get("decision") == "deny":
            record["decision"] = "allow"
        line, prev = encode_line(record, seq, prev)
        out.append(line)
    log_path.write_bytes(b"".join(out))


def test_a_rewritten_chain_fails_against_the_genuine_or_a_forged_checkpoint(tmp_path: Path):
    log_path = tmp_path / "audit.log"
    audit = AuditLog(log_path, signer=signer())
    audit.append_sync([{"type": "decision", "entity": "acme", "decision": "deny"}])
    audit.append_sync([{"type": "decision", "entity": "other", "decision": "allow"}])
    audit.close()
    _rewrite_deny_as_allow(log_path)
    assert b'"decision":"deny"' not in log_path.read_bytes()
    # The genuine signed checkpoint no longer matches the recomputed chain.
    genuine = verify_log(log_path, verifiers())
    assert genuine.status == "tampered"
    assert genuine.problems == [
        "checkpoint audit.log.checkpoint (seq 3) does not match audit.log line 3"
    ]
    # Re-signing it needs the private key; any other key or none is caught.
    for key in (None, str(OTHER_PRIVATE)):
        _forge_checkpoint(log_path, key)
        assert verify_log(log_path, verifiers()).status == "unverified"
        assert _verify_cli(str(log_path), "--key", str(PUBLIC)).exit_code == 1
    # Without --key a complete rewrite is not detectable: the documented limit of an unkeyed log.
    assert verify_log(log_path).status == "intact"


# --- a rolled-back checkpoint, caught by a copy kept elsewhere -----------------------------


def test_an_older_genuine_checkpoint_is_caught_by_a_shipped_copy(tmp_path: Path):
    log_path = tmp_path / "audit.log"
    ck = tmp_path / "audit.log.checkpoint"
    write(log_path, 2)
    saved = ck.read_bytes()  # the insider keeps this genuine, signed checkpoint
    write(log_path, 2)
    shipped = tmp_path / "shipped.checkpoint"
    shutil.copy(ck, shipped)  # what the operator ships off the machine
    _cut(log_path, 2)  # the second run's two decisions
    ck.write_bytes(saved)
    assert verify_log(log_path, verifiers()).status == "intact"  # locally consistent
    result = _verify_cli(str(log_path), "--key", str(PUBLIC), "--checkpoint", str(shipped))
    assert result.exit_code == 1
    assert "but checkpoint " + str(shipped) + " covers seq 5" in result.stderr


# --- what a service refuses to continue ----------------------------------------------------


def test_a_signed_log_is_not_continued_unsigned_nor_with_another_key(tmp_path: Path):
    log_path = tmp_path / "audit.log"
    write(log_path, 1)
    with pytest.raises(AuditError, match="its checkpoints are signed"):
        AuditLog(log_path)
    with pytest.raises(AuditError, match="is unverified: checkpoint .* not by a given key"):
        AuditLog(log_path, signer=load_signer(str(OTHER_PRIVATE)))
    unsigned = tmp_path / "unsigned.log"
    write(unsigned, 1, signed=False)
    with pytest.raises(AuditError, match="is unverified: .* is unsigned"):
        AuditLog(unsigned, signer=signer())


def test_one_writer_at_a_time(tmp_path: Path):
    log_path = tmp_path / "audit.log"
    audit = AuditLog(log_path, signer=signer())
    try:
        with pytest.raises(AuditError, match="in use by another process"):
            AuditLog(log_path, signer=signer())
        seal = CliRunner().invoke(cli, ["audit", "seal", str(log_path)])
        assert seal.exit_code == 1 and "in use by another process" in seal.stderr
    finally:
        audit.close()


# --- any change to acknowledged content is caught (property) -------------------------------


@pytest.fixture(scope="module")
def signed_log(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes, int]:
    """A signed log of 12 decisions: its bytes, its checkpoint file, the bytes covered."""
    log_path = tmp_path_factory.mktemp("signed") / "audit.log"
    write(log_path, 12)
    covered = checkpoint(log_path).bytes
    return log_path.read_bytes(), (log_path.parent / "audit.log.checkpoint").read_bytes(), covered


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_any_change_to_acknowledged_lines_is_detected(signed_log, data):
    content, ck, covered = signed_log
    assert covered == len(content)
    kind = data.draw(st.sampled_from(["cut", "flip", "drop-line"]))
    if kind == "cut":
        mutated = content[: data.draw(st.integers(0, covered - 1))]
    elif kind == "flip":
        at = data.draw(st.integers(0, covered - 1))
        mutated = (
            content[:at] + bytes([content[at] ^ data.draw(st.integers(1, 255))]) + content[at + 1 :]
        )
    else:
        split = content.splitlines(keepends=True)
        index = data.draw(st.integers(0, len(split) - 1))
        mutated = b"".join(split[:index] + split[index + 1 :])
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "audit.log"
        log_path.write_bytes(mutated)
        (Path(tmp) / "audit.log.checkpoint").write_bytes(ck)
        report = verify_log(log_path, verifiers())
    assert report.status in ("truncated", "tampered"), (kind, report.problems)


# --- hostile files -------------------------------------------------------------------------


def test_an_overlong_line_is_not_buffered_whole(tmp_path: Path, monkeypatch):
    from stakegate.service.audit import verify as verify_module

    monkeypatch.setattr(verify_module, "MAX_LINE", 4096)
    log_path = tmp_path / "audit.log"
    write(log_path, 2)
    with log_path.open("ab") as handle:
        handle.write(b"{" + b" " * 100_000 + b"}\n")
    report = verify_log(log_path, verifiers())
    assert report.status == "tampered"
    assert report.problems[0] == "audit.log line 4: over 4096 bytes: not a record"


def test_an_oversized_checkpoint_file_is_not_read_whole(tmp_path: Path):
    log_path = tmp_path / "audit.log"
    write(log_path, 1)
    (tmp_path / "audit.log.checkpoint").write_bytes(b" " * (2 << 20))
    report = verify_log(log_path, verifiers())
    assert report.status == "unverified"
    assert report.problems == ["audit.log.checkpoint: larger than 1 MiB, not a checkpoint file"]
