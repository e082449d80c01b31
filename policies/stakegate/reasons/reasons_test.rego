package stakegate.reasons_test

import data.stakegate.reasons

_policy := {
	"method": "control", "methods": ["control"], "reported_methods": ["control", "look_through"],
	"threshold": {"value": 50, "comparison": ">", "tolerance": 1e-9, "exceeds": 50.000000001, "reaches": 49.999999999},
	"regions": {"CN"}, "user_assigned_codes": set(), "exceptions": [], "percent_range": {"min": 0, "max": 100},
}

_interval(low, high) := {
	"min": low, "max": high, "min_exclusive": false, "max_exclusive": false,
	"paths": [], "evidence": [],
}

_facts(jurisdiction, control) := {
	"id": "x", "type": "company", "jurisdiction": jurisdiction,
	"ownership": {"control": control, "look_through": _interval(0, 0)},
}

_ownership_reason := {
	"code": "restricted_ownership", "severity": "deny", "method": "control",
	"restricted_percent": {"min": 60, "max": 60, "min_exclusive": false, "max_exclusive": false},
	"paths": [], "evidence": [],
}

_applied := {
	"code": "exception_applied", "severity": "info",
	"reason": "licence", "approver": "legal", "expires": "2030-01-01",
}

_expired := {
	"code": "exception_expired", "severity": "info",
	"reason": "old", "approver": "legal", "expires": "2020-01-01",
}

_ctx(exceptions) := {"policy": _policy, "exceptions": exceptions}

test_of_entity_none if {
	reasons.of_entity(_facts("SG", _interval(0, 0)), _ctx({})) == [[], []]
}

test_of_entity_order_location_faults_ownership if {
	facts := object.union(_facts("XX", _interval(60, 60)), {"faults": [{"kind": "self_ownership"}]})
	reasons.of_entity(facts, _ctx({})) == [
		[
			{"code": "unknown_jurisdiction", "severity": "review", "field": "jurisdiction", "value": "XX"},
			{"code": "data_fault", "severity": "review", "faults": [{"kind": "self_ownership"}]},
			_ownership_reason,
		],
		[],
	]
}

test_of_entity_restricted_location_skips_ownership if {
	[found, _] := reasons.of_entity(_facts("cn", _interval(60, 60)), _ctx({}))
	[r.code | some r in found] == ["restricted_jurisdiction"]
}

test_of_entity_exceptions if {
	entries := {"x": {"applied": [_applied], "expired": [_expired]}}
	reasons.of_entity(_facts("SG", _interval(60, 60)), _ctx(entries)) == [
		[_ownership_reason, _applied, _expired],
		[_applied],
	]

	# An exception does not apply to an entity that is clear without it; expired ones are listed.
	reasons.of_entity(_facts("SG", _interval(0, 0)), _ctx(entries)) == [[_expired], []]
}
