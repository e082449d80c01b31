"""Reasons as sentences (review.sentences): every code, bounds spelled out, names and regions.

The property test reads each percent phrase back and requires the bounds and their exclusivity
it was written from: a phrase can never say "at least" for an exclusive bound.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from stakegate.cli.main import cli
from stakegate.policy.runtime import LocalOpa
from stakegate.review.book import EntityInfo
from stakegate.review.sentences import (
    decision_sentences,
    percent_phrase,
    reason_sentence,
    threshold_phrase,
)

POLICY = {"threshold": 50, "comparison": ">", "method": "control", "revision": "r"}
BOOK = {
    "rl": EntityInfo(name="Red Lantern Holdings", decision="deny", regions=("CN",)),
    "mid": EntityInfo(name="Mid Co", decision="deny"),
    "sg": EntityInfo(name="Target Pte Ltd", decision="deny"),
    "unk": EntityInfo(decision="review"),
}


def book(entity_id: str) -> EntityInfo:
    return BOOK.get(entity_id, EntityInfo())


def _ownership(code: str, low: float, high: float, low_x: bool = False, high_x: bool = False):
    return {
        "code": code,
        "severity": "deny" if code == "restricted_ownership" else "review",
        "method": "control",
        "restricted_percent": {
            "min": low,
            "max": high,
            "min_exclusive": low_x,
            "max_exclusive": high_x,
        },
        "paths": [["rl", "mid", "sg"]],
        "evidence": [
            {
                "path": ["rl", "mid", "sg"],
                "edges": [{"min": 60.0, "max": 60.0}, {"min": 60.0, "max": 60.0}],
                "contribution": {"min": 60.0, "max": 60.0},
            }
        ],
    }


@pytest.mark.parametrize(
    ("bounds", "phrase"),
    [
        ({"min": 60, "max": 60}, "60%"),
        ({"min": 45, "max": 58}, "between 45% and 58%"),
        ({"min": 50, "max": 100, "min_exclusive": True}, "more than 50% and at most 100%"),
        ({"min": 0, "max": 25, "max_exclusive": True}, "at least 0% and less than 25%"),
        (
            {"min": 50, "max": 50, "min_exclusive": True, "max_exclusive": True},
            "more than 50% and less than 50%",
        ),
        ({"min": 100 / 3, "max": 100 / 3}, "33.33%"),
    ],
)
def test_percent_phrase(bounds, phrase):
    assert percent_phrase(bounds) == phrase


def test_threshold_phrase():
    assert threshold_phrase(POLICY) == "more than 50%"
    assert threshold_phrase({"threshold": 25, "comparison": ">="}) == "at least 25%"


def test_ownership_sentence_names_each_owner_with_its_share():
    assert reason_sentence(_ownership("restricted_ownership", 60, 60), POLICY, book) == (
        "60% owned by owners in CN (control method); the policy bars more than 50%. Path: "
        "Red Lantern Holdings (rl) [CN] 60% → Mid Co (mid) [itself restricted] 60% → "
        "Target Pte Ltd (sg)."
    )


def test_possible_ownership_sentence_with_an_exclusive_band():
    reason = _ownership("possible_restricted_ownership", 50, 100, low_x=True)
    assert reason_sentence(reason, POLICY) == (
        "More than 50% and at most 100% owned by restricted owners (control method); the "
        "policy bars more than 50%, and the registry's figures do not say on which side of it "
        "the share lies, so it needs review. Path: rl 60% → mid 60% → sg."
    )


def test_an_owner_of_uncertain_status_is_named_as_such():
    reason = _ownership("possible_restricted_ownership", 0, 60)
    reason["evidence"][0]["path"] = ["unk", "sg"]
    assert "owned by owners of uncertain status (unknown jurisdiction or faulty data)" in (
        reason_sentence(reason, POLICY, book)
    )


@pytest.mark.parametrize(
    ("reason", "sentence"),
    [
        (
            {
                "code": "restricted_jurisdiction",
                "field": "jurisdiction",
                "value": "RU-MOW",
                "region": "RU",
            },
            "Incorporated in RU-MOW, part of the restricted region RU.",
        ),
        (
            {
                "code": "restricted_headquarters",
                "field": "headquarters",
                "value": "CN",
                "region": "CN",
            },
            "Headquartered in CN, a restricted region.",
        ),
        (
            {"code": "unknown_jurisdiction", "field": "jurisdiction"},
            "Its jurisdiction is not known, so it needs review.",
        ),
        (
            {
                "code": "data_fault",
                "faults": [
                    {
                        "kind": "self_ownership",
                        "records": ["ownership[2] (a -> a)"],
                        "message": "owns itself",
                    }
                ],
            },
            "The registry data about it is faulty, so it needs review: owns itself (records: "
            "ownership[2] (a -> a)).",
        ),
        (
            {
                "code": "exception_applied",
                "approver": "J. Counsel",
                "expires": "2027-01-31",
                "reason": "licence",
            },
            "Allowed by an exception approved by J. Counsel, valid until 2027-01-31: licence.",
        ),
        (
            {
                "code": "exception_expired",
                "approver": "J. Counsel",
                "expires": "2025-01-31",
                "reason": "licence",
            },
            "An exception approved by J. Counsel expired on 2025-01-31 and no longer applies "
            "(licence).",
        ),
        (
            {"code": "invalid_facts", "fields": ["jurisdiction"]},
            "The facts about it were missing or malformed (jurisdiction), so it needs review.",
        ),
        ({"code": "brand_new", "severity": "deny"}, "Reason brand_new: severity deny."),
    ],
)
def test_every_reason_code_has_a_sentence(reason, sentence):
    assert reason_sentence(reason, POLICY) == sentence


def test_no_reasons():
    assert decision_sentences("allow", [], POLICY) == ["No restriction found."]


_BOUND = st.floats(0, 100, allow_nan=False).map(lambda v: round(v, 2))
_PHRASE = re.compile(
    r"^(?:(?P<exact>[\d.]+)%|between (?P<lo>[\d.]+)% and (?P<hi>[\d.]+)%|"
    r"(?P<lw>more than|at least) (?P<lo2>[\d.]+)% and (?P<hw>less than|at most) (?P<hi2>[\d.]+)%)$"
)


@given(a=_BOUND, b=_BOUND, low_x=st.booleans(), high_x=st.booleans())
def test_percent_phrase_reads_back_to_its_bounds(a, b, low_x, high_x):
    low, high = min(a, b), max(a, b)
    found = _PHRASE.match(
        percent_phrase({"min": low, "max": high, "min_exclusive": low_x, "max_exclusive": high_x})
    )
    assert found, percent_phrase({"min": low, "max": high})
    if found["exact"]:
        assert (float(found["exact"]), float(found["exact"])) == (low, high)
        assert not (low_x or high_x)
    elif found["lo"]:
        assert (float(found["lo"]), float(found["hi"]), low_x, high_x) == (low, high, False, False)
    else:
        assert (float(found["lo2"]), float(found["hi2"])) == (low, high)
        assert (found["lw"] == "more than", found["hw"] == "less than") == (low_x, high_x)


@pytest.mark.integration
def test_check_text_uses_the_sentences(opa_server: LocalOpa, tmp_path: Path):
    """A consolidation holding counts as the band more than 50% up to 100%: spelled out."""
    registry = tmp_path / "r.yaml"
    registry.write_text(
        "entities:\n"
        "  - {id: rl, name: Red Lantern Holdings, type: company, jurisdiction: CN}\n"
        "  - {id: sub, type: company, jurisdiction: SG}\n"
        "ownership:\n"
        "  - {owner: rl, owned: sub, interest: consolidation}\n"
    )
    result = CliRunner().invoke(
        cli, ["check", "sub", "-i", str(registry), "--opa-url", opa_server.url, "--format", "text"]
    )
    assert result.exit_code == 0, result.output
    assert (
        "  - restricted_ownership: More than 50% and at most 100% owned by restricted owners "
        "(control method); the policy bars more than 50%. Path: rl 50–100% → sub.\n"
    ) in result.stdout
