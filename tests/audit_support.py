"""Shared pieces of the audit tests: the TEST-ONLY keys, writing a log, reading it back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stakegate.service.audit import AuditLog

KEYS = Path(__file__).resolve().parent / "keys"
PRIVATE = KEYS / "audit-ed25519.key.pem"
PUBLIC = KEYS / "audit-ed25519.pub.pem"
OTHER_PRIVATE = KEYS / "audit-ed25519-other.key.pem"
OTHER_PUBLIC = KEYS / "audit-ed25519-other.pub.pem"
RSA_PRIVATE = KEYS / "audit-rsa.key.pem"
RSA_PUBLIC = KEYS / "audit-rsa.pub.pem"


def signer():  # type: ignore[no-untyped-def]
    from stakegate.service.audit import load_signer

    return load_signer(str(PRIVATE))


def verifiers(path: Path = PUBLIC):  # type: ignore[no-untyped-def]
    from stakegate.service.audit import load_verifiers

    return load_verifiers([path])


def decisions(n: int, start: int = 0, outcome: str = "allow") -> list[dict[str, Any]]:
    return [
        {"type": "decision", "decision_id": f"id-{i}", "entity": f"e{i}", "decision": outcome}
        for i in range(start, start + n)
    ]


def write(path: Path, n: int, *, signed: bool = True, **options: Any) -> None:
    """``n`` decisions, one group commit each, then a clean close."""
    audit = AuditLog(path, signer=signer() if signed else None, **options)
    for record in decisions(n):
        audit.append_sync([record])
    audit.close()


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines(path)]


def checkpoint(log: Path):  # type: ignore[no-untyped-def]
    from stakegate.service.audit.checkpoints import latest, read_checkpoints

    found = latest(read_checkpoints(log.with_name(log.name + ".checkpoint").read_bytes())[0])
    assert found is not None
    return found
