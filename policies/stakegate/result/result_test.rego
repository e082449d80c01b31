package stakegate.result_test

import data.stakegate.result

_deny := {"code": "restricted_jurisdiction", "severity": "deny"}

_review := {"code": "unknown_jurisdiction", "severity": "review"}

_info := {"code": "exception_expired", "severity": "info"}

_policy := {"method": "either", "threshold": {"value": 25, "comparison": ">=", "tolerance": 0}}

# METADATA
# custom:
#   code: example_code
#   severity: review
_annotated(details) := result.reason(rego.metadata.rule(), details)

test_reason_from_metadata if {
	_annotated({"field": "jurisdiction"}) == {"code": "example_code", "severity": "review", "field": "jurisdiction"}
}

test_reason_metadata_wins_over_details if {
	_annotated({"code": "forged", "severity": "info"}) == {"code": "example_code", "severity": "review"}
}

test_reason_missing_metadata if {
	not result.reason({}, {"field": "jurisdiction"})
}

test_outcome_deny_over_review if {
	result.outcome([_review, _deny, _info], false) == "deny"
}

test_outcome_review if {
	result.outcome([_info, _review], false) == "review"
}

test_outcome_allow if {
	result.outcome([_info], false) == "allow"
	result.outcome([], false) == "allow"
}

test_outcome_excepted if {
	result.outcome([_deny, _info], true) == "allow"
}

test_outcome_unreadable_reasons if {
	result.outcome(null, false) == "review"
	result.outcome("deny", false) == "review"
}

test_outcome_missing_severity if {
	result.outcome([_info, {"code": "restricted_ownership"}], false) == "review"
	result.outcome([{"code": "x", "severity": "fatal"}], false) == "review"
}

test_is_clear_cases if {
	result.is_clear([_info])
	not result.is_clear([_review])
	not result.is_clear(null)
}

test_decision_shape if {
	ownership := {"control": {"min": 60, "max": 60}, "look_through": {"min": 36, "max": 36}}
	result.decision("acme-sg", [_deny], false, ownership, _policy) == {
		"entity": "acme-sg",
		"decision": "deny",
		"reasons": [_deny],
		"ownership": ownership,
		"policy": {"method": "either", "threshold": 25, "comparison": ">="},
	}
}

test_allowed_is_the_decision_without_reasons if {
	ownership := {"control": {"min": 10, "max": 20}, "look_through": {"min": 5, "max": 20}}
	summary := {"method": "either", "threshold": 25, "comparison": ">="}
	result.policy_summary(_policy) == summary
	result.allowed("acme-sg", ownership, summary) == {
		"entity": "acme-sg",
		"decision": "allow",
		"reasons": [],
		"ownership": ownership,
		"policy": summary,
	}
	result.allowed("acme-sg", ownership, summary) == result.decision("acme-sg", [], false, ownership, _policy)
}
