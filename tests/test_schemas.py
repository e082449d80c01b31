"""Facts and decisions are validated fast (fastjsonschema) and worded fully (jsonschema)."""

from __future__ import annotations

from typing import Any

import pytest

from stakegate.exc import FactsValidationError
from stakegate.schemas import validate

SHARE = {
    "min": 0.0, "max": 0.0, "min_exclusive": False, "max_exclusive": False,
    "paths": [], "evidence": [],
}  # fmt: skip


def facts(**entity: Any) -> dict[str, Any]:
    doc = {"id": "a", "type": "company", "ownership": {"control": SHARE, "look_through": SHARE}}
    doc.update(entity)
    return {"as_of": "2026-11-27", "entities": [doc]}


def test_valid_facts_pass():
    validate("facts", facts(), "facts")
    fault = {"kind": "self_ownership", "records": ["ownership[0] (a -> a)"], "message": "m"}
    validate("facts", facts(faults=[fault]), "facts")


@pytest.mark.parametrize(
    ("doc", "words"),
    [
        (facts(id=""), "entities/0/id"),
        (facts(type="firm"), "entities/0/type"),
        (facts(extra=1), "entities/0"),
        (facts(ownership={"control": {**SHARE, "min": 101}, "look_through": SHARE}), "min"),
        (facts(faults=[{"kind": "typo", "records": ["r"], "message": "m"}]), "kind"),
        ({"as_of": "2026-13-01", "entities": []}, "as_of"),
    ],
)
def test_invalid_facts_are_errors_with_every_violation_named(doc: dict[str, Any], words: str):
    with pytest.raises(FactsValidationError) as caught:
        validate("facts", doc, "facts document")
    assert "facts document fails schema 'facts'" in str(caught.value)
    assert any(words in e for e in caught.value.errors)
