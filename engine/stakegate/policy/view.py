"""The policy as the Python side sees it: parameters and region classification, one query.

Python holds no policy value of its own. Before it can compute facts it needs the threshold (the
control fixpoint decides whether an *intermediate* owner is itself restricted), the share a
consolidation holding counts as, and which codes are restricted; all of it comes from one query
of ``data.stakegate.view.policy`` per OPA start. The classification covers every code the policy
knows (each ISO 3166 country and subdivision, and the user-assigned codes the policy accepts):
a code mapped to a region is restricted, one mapped to null is clear, and a code the policy does
not know is unknown, which counts as possibly restricted (``review`` where it matters).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, cast

from stakegate.errors import PolicyEvaluationError
from stakegate.ownership.graph import Status
from stakegate.ownership.interval import Comparison, Interval, Threshold
from stakegate.policy.client import Answer
from stakegate.policy.regimes import RegimeParams, parse_regimes
from stakegate.registry.model import Entity

__all__ = ["VIEW_QUERY", "Method", "PolicyParams", "PolicyView"]

# The entrypoint that answers parameters and classification together.
VIEW_QUERY = "stakegate.view.policy"
_HEX64 = re.compile(r"[0-9a-f]{64}")

Method = Literal["control", "look_through", "either"]
_METHODS = ("control", "look_through", "either")


@dataclass(frozen=True, slots=True)
class PolicyParams:
    """The validated policy parameters (``params`` of the view)."""

    restricted_regions: tuple[str, ...]
    threshold: float
    comparison: Comparison
    method: Method
    percent_tolerance: float
    consolidation_share: Interval
    user_assigned_codes: tuple[str, ...] = ()

    @property
    def ownership_threshold(self) -> Threshold:
        return Threshold(self.threshold, self.comparison, self.percent_tolerance)

    @classmethod
    def from_json(cls, doc: object) -> PolicyParams:
        """Parse the view's ``params``; anything unexpected is a policy error."""
        if not isinstance(doc, dict):
            raise PolicyEvaluationError(f"policy parameters are not an object: {doc!r}")
        try:
            regions, threshold = doc["restricted_regions"], doc["threshold"]
            comparison, method = doc["comparison"], doc["method"]
            tolerance, band = doc["percent_tolerance"], doc["consolidation_share"]
        except KeyError as missing:
            raise PolicyEvaluationError(f"policy parameters lack {missing}") from None
        codes = doc.get("user_assigned_codes", [])
        if not (
            _strings(regions)
            and _number(threshold)
            and comparison in (">", ">=")
            and method in _METHODS
            and _number(tolerance)
            and _strings(codes)
        ):
            raise PolicyEvaluationError(f"policy parameters are invalid: {doc!r}")
        return cls(
            tuple(regions),
            float(threshold),
            cast(Comparison, comparison),
            cast(Method, method),
            float(tolerance),
            _band(band),
            tuple(codes),
        )


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _band(doc: object) -> Interval:
    """The ``consolidation_share`` band; anything malformed is a policy error."""
    if not isinstance(doc, dict):
        raise PolicyEvaluationError(f"consolidation_share is not a band: {doc!r}")
    lo, hi = doc.get("min"), doc.get("max")
    lo_x, hi_x = doc.get("min_exclusive", False), doc.get("max_exclusive", False)
    if not (_number(lo) and _number(hi) and isinstance(lo_x, bool) and isinstance(hi_x, bool)):
        raise PolicyEvaluationError(f"consolidation_share is not a band: {doc!r}")
    assert isinstance(lo, int | float) and isinstance(hi, int | float)
    if not 0 <= lo <= hi <= 100:
        raise PolicyEvaluationError(f"consolidation_share is not a band in [0, 100]: {doc!r}")
    return Interval(float(lo), float(hi), lo_x, hi_x)


@dataclass(frozen=True, slots=True)
class PolicyView:
    """What one OPA serves: its revision, parameters and the classification of every code."""

    revision: str
    params: PolicyParams
    classification: Mapping[str, str | None]
    # What a decision reports when OPA names no bundle revision (a policy directory's hash).
    fallback_revision: str = "unknown"
    # Every regime the policy defines, the default (the top-level parameters) first; none for a
    # policy built before regimes (policy/regimes.py).
    regimes: tuple[RegimeParams, ...] = ()
    # Whether the policy answers the batch form (policy/batch.py); a policy built before it is
    # asked entity by entity.
    batch_form: bool = False
    # Whether that form also takes restricted groups; a policy built before them is sent those
    # entities whole.
    batch_restricted: bool = False
    # Whether it takes group members of seven, bounds rounded (policy/batch.py); a policy built
    # before them is sent members of six, exact.
    batch_rounded: bool = False
    # Whether a group may carry its members as columns (``MemberPlan.groups``); a policy built
    # before is sent members of seven.
    batch_columns: bool = False
    # SHA-256 of the config this view validated (``params.config_digest``). Sent with every
    # query, so that OPA does not validate the same config again in each one (about 1.7 ms a
    # query); a policy built before it reports none, and validates it in every query.
    config_digest: str | None = None

    @classmethod
    def from_answer(cls, answer: Answer, fallback_revision: str) -> PolicyView:
        """The view from OPA's answer; an invalid config is an error naming each parameter."""
        doc: Any = answer.result
        if not isinstance(doc, dict) or not isinstance(doc.get("valid"), bool):
            raise PolicyEvaluationError(f"{VIEW_QUERY} is not a policy view: {str(doc)[:200]}")
        if not doc["valid"]:
            raise PolicyEvaluationError(_problems_message(doc.get("problems")))
        classification = doc.get("classification")
        if not isinstance(classification, dict) or not all(
            isinstance(region, str | None) for region in classification.values()
        ):
            raise PolicyEvaluationError(f"{VIEW_QUERY}: the classification is not an object")
        params = PolicyParams.from_json(doc.get("params"))
        return cls(
            answer.revision or fallback_revision,
            params,
            classification,
            fallback_revision,
            parse_regimes(doc.get("regimes"), params.percent_tolerance),
            doc.get("batch_form") is True,
            doc.get("batch_restricted") is True,
            doc.get("batch_rounded") is True,
            doc.get("batch_columns") is True,
            _digest(doc.get("config_digest")),
        )

    def input_head(self, as_of: date) -> bytes:
        """The start of every query's input: ``{"input":{"as_of":…`` and the config digest,
        without a closing brace (each form adds its own fields)."""
        head = b'{"input":{"as_of":"' + as_of.isoformat().encode() + b'"'
        if self.config_digest is None:
            return head
        return head + b',"config_digest":"' + self.config_digest.encode() + b'"'

    def answered_revision(self, answer: Answer) -> str:
        """The revision one answer came from, as decisions report it."""
        return answer.revision or self.fallback_revision

    def region(self, code: str | None) -> str | None:
        """The restricted region ``code`` is in, or None (clear, unknown or absent)."""
        return None if code is None else self.classification.get(code)

    def is_known(self, code: str) -> bool:
        return code in self.classification

    def status(self, entity: Entity) -> Status:
        """RESTRICTED by jurisdiction or headquarters; UNKNOWN without a jurisdiction or with a
        code the policy does not know; else CLEAR."""
        known = self.classification
        j, hq = entity.jurisdiction, entity.headquarters
        if (j is not None and known.get(j)) or (hq is not None and known.get(hq)):
            return Status.RESTRICTED
        if j is None or j not in known or (hq is not None and hq not in known):
            return Status.UNKNOWN
        return Status.CLEAR


def _digest(value: object) -> str | None:
    """The view's config digest: 64 lower-case hex digits, or none (a policy built before it)."""
    if value is None:
        return None
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise PolicyEvaluationError(f"{VIEW_QUERY}: config_digest is not a SHA-256: {value!r}")
    return value


def _problems_message(problems: object) -> str:
    """Every invalid parameter with its value and why, as the policy reports them."""
    lines: list[str] = []
    if isinstance(problems, list):
        for item in problems:
            if isinstance(item, dict):
                lines.append(str(item.get("message") or f"{item.get('parameter')}: invalid"))
            else:
                lines.append(str(item))
    listed = "".join(f"\n  - {line}" for line in lines) or " (the policy names no parameter)"
    return f"the policy's parameters are invalid (config/data.json):{listed}"
