"""``stakegate audit export --format opa``: decisions as OPA decision-log events.

Collectors built for OPA (its decision-log service API, or its console log) can then ingest
stakegate's decisions. One event per ``decision`` line, as OPA's ``EventV1``
(``v1/plugins/logs/plugin.go``) writes it:

* ``decision_id``, ``timestamp``: stakegate's own; ``labels.opa_decision_id`` joins OPA's log
  when the decision came from an OPA with decision logging on (``serve --opa-url``);
* ``path`` ``stakegate/main/decisions``, the rule that decides entities one by one; the service
  queries the batch form (``stakegate/batch/decisions``), which decides each entity as this rule
  does, but an event holds one entity's facts, which this rule replays;
* ``input`` ``{"as_of", "entities": [facts]}`` and ``result`` ``[decision]``: the input and result
  of that query for this one entity, so an event can be replayed with ``opa eval``. Where only
  the facts' hash was recorded (``--audit-input hash``) the event has no ``input`` and says so
  OPA's way, ``erased: ["/input"]``; the hash is in ``labels.facts_sha256``;
* ``bundles``: the revision that answered (``name@revision`` pairs when OPA served several
  bundles; a single revision is reported under ``stakegate``);
* ``labels``: ``app``, ``id`` (the audit log's id) and ``version``, all strings.

The log is verified first, and a log that is not intact (or sealed) is not exported.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, version
from typing import IO, Any

import orjson

from stakegate.errors import AuditError
from stakegate.service.audit.chain import parse_line
from stakegate.service.audit.keys import Verifier
from stakegate.service.audit.segments import Series
from stakegate.service.audit.verify import verify_series

__all__ = ["PATH", "export_opa", "opa_event"]

PATH = "stakegate/main/decisions"
_RESULT_KEYS = ("entity", "decision", "reasons", "ownership")


def _version() -> str:
    try:
        return version("stakegate")
    except PackageNotFoundError:  # a source tree that is not installed
        return "unknown"


def _bundles(revision: str) -> dict[str, dict[str, str]]:
    pairs = [part.partition("@") for part in revision.split(",")] if "@" in revision else []
    if pairs and all(sep and name and rev for name, sep, rev in pairs):
        return {name: {"revision": rev} for name, _, rev in pairs}
    return {"stakegate": {"revision": revision}}


def opa_event(record: dict[str, Any], log_id: str, app_version: str) -> dict[str, Any]:
    """The OPA decision-log event for one ``decision`` record."""
    result = {k: record[k] for k in _RESULT_KEYS if k in record}
    policy = record.get("policy")
    if isinstance(policy, dict):
        result["policy"] = {k: v for k, v in policy.items() if k != "revision"}
    labels = {"app": "stakegate", "id": log_id, "version": app_version}
    if record.get("opa_decision_id"):
        labels["opa_decision_id"] = str(record["opa_decision_id"])
    event: dict[str, Any] = {
        "decision_id": record["decision_id"],
        "timestamp": record["time"],
        "path": PATH,
        "result": [result],
        "bundles": _bundles(str(record["policy_revision"])),
        "labels": labels,
    }
    if "facts" in record:
        event["input"] = {"as_of": record["as_of"], "entities": [record["facts"]]}
    else:
        event["erased"] = ["/input"]
        labels["facts_sha256"] = str(record["facts_sha256"])
    return event


def _decisions(series: Series, last_seq: int) -> Iterator[dict[str, Any]]:
    """Decision records up to ``last_seq``: what was verified, not lines written since."""
    for _, path in series.segments:
        with path.open("rb") as handle:
            for raw in handle:
                record = parse_line(raw.rstrip(b"\n")).record
                if record is None or not isinstance(record.get("seq"), int):
                    continue
                if record["seq"] > last_seq:
                    return
                if record.get("type") == "decision":
                    yield record


def export_opa(series: Series, out: IO[str], verifiers: list[Verifier]) -> int:
    """Write one event per decision of ``series`` to ``out`` (JSON lines); return how many."""
    report = verify_series(series, verifiers)
    if report.status not in ("intact", "sealed"):
        raise AuditError(
            f"audit log {series.base} is {report.status} ({'; '.join(report.problems[:3])}): "
            "not exported; see `stakegate audit verify`"
        )
    log_id, app_version = report.log_id or "unknown", _version()
    count = 0
    for record in _decisions(series, report.last_seq):
        out.write(orjson.dumps(opa_event(record, log_id, app_version)).decode() + "\n")
        count += 1
    return count
