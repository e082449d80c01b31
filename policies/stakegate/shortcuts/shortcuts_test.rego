package stakegate.shortcuts_test

import data.stakegate.main
import data.stakegate.shortcuts

_as_of := "2026-11-27"

_strict := {"method": "control", "threshold": 50, "comparison": ">"}

_policy := {
	"method": "control", "methods": ["control"], "reported_methods": ["control", "look_through"],
	"threshold": {"value": 50, "comparison": ">", "tolerance": 1e-9, "exceeds": 50.000000001, "reaches": 49.999999999},
	"regions": {"CN"}, "user_assigned_codes": set(), "exceptions": [], "percent_range": {"min": 0, "max": 100},
}

_zero := {"min": 0.0, "max": 0.0, "min_exclusive": false, "max_exclusive": false, "paths": [], "evidence": []}

_all_flags := {[false, false]: true, [false, true]: true, [true, false]: true, [true, true]: true}

_interval(low, high) := {
	"min": low, "max": high, "min_exclusive": false, "max_exclusive": false,
	"paths": [], "evidence": [],
}

_facts(id, jurisdiction, control, look_through) := {
	"id": id, "type": "company", "jurisdiction": jurisdiction,
	"ownership": {"control": control, "look_through": look_through},
}

# main.context, with the answers of the shortcuts marked.
_ctx(as_of, policy, entities) := object.union(main.context(as_of, policy, entities), {
	"allow": {"shortcut": true},
	"zero": {"decision": {"shortcut": true}},
})

test_context if {
	entities := [
		_facts("a", "SG", _zero, _zero), _facts("b", "cn", _zero, _zero),
		_facts("c", "XX", _zero, _zero),
		object.union(_facts("d", " ", _zero, _zero), {"headquarters": "GB"}),
		object.union(_facts("e", "SG", _zero, _zero), {"headquarters": "ZZ"}),
	]
	shortcuts.context(_as_of, _policy, entities) == {
		"is_enabled": true,
		"jurisdictions": {"SG": true},
		"headquarters": {"": true, "GB": true},
		"types": {"company", "person", "state", "other"},
		"max": {"control": 50.000000001, "look_through": 100},
		"flags": {"control": {[false, false]: true, [false, true]: true}, "look_through": _all_flags},
		"allow": {"entity": null, "decision": "allow", "reasons": [], "ownership": null, "policy": _strict},
		"zero": {
			"ownership": {"control": _zero, "look_through": _zero},
			"decision": {
				"entity": null, "decision": "allow", "reasons": [],
				"ownership": {"control": {"min": 0.0, "max": 0.0}, "look_through": {"min": 0.0, "max": 0.0}},
				"policy": _strict,
			},
		},
	}
}

test_context_disabled_without_date_or_under_at_least if {
	at_least := object.union(_policy, {"threshold": {"comparison": ">="}})
	every ctx in [shortcuts.context(_as_of, at_least, []), shortcuts.context(null, _policy, [])] {
		ctx.is_enabled == false
		ctx.types == set()
		ctx.zero == {"ownership": null, "decision": null}
	}
}

test_context_zero_off_when_zero_is_not_quiet if {
	# A percent range that excludes 0 (no real config has one) must turn the zero shortcut off.
	policy := object.union(_policy, {"percent_range": {"min": 1, "max": 100}})
	shortcuts.context(_as_of, policy, []).zero.ownership == null
}

test_decision_no_restricted_owner if {
	facts := _facts("a", "SG", _zero, _zero)
	shortcuts.decision(facts, _ctx(_as_of, _policy, [facts])) == {
		"entity": "a", "decision": "allow", "reasons": [], "shortcut": true,
		"ownership": {"control": {"min": 0.0, "max": 0.0}, "look_through": {"min": 0.0, "max": 0.0}},
		"policy": _strict,
	}
}

test_decision_clear_and_quiet if {
	facts := _facts("q", "SG", _interval(10, 50), _interval(60, 100))
	shortcuts.decision(facts, _ctx(_as_of, _policy, [facts])) == {
		"entity": "q", "decision": "allow", "reasons": [], "shortcut": true,
		"ownership": {"control": {"min": 10, "max": 50}, "look_through": {"min": 60, "max": 100}},
		"policy": _strict,
	}
}

test_decision_full_path_otherwise if {
	variants := [
		_facts("restricted", "CN", _zero, _zero),
		_facts("unknown", "XX", _zero, _zero),
		_facts("over", "SG", _interval(10, 51), _zero),
		_facts("exclusive", "SG", object.union(_interval(10, 20), {"min_exclusive": true}), _zero),
		_facts("paths", "SG", object.union(_interval(10, 20), {"paths": [["a", "b"]]}), _zero),
		object.union(_facts("fault", "SG", _zero, _zero), {"faults": [{"kind": "self_ownership"}]}),
	]
	ctx := _ctx(_as_of, _policy, variants)
	every facts in variants {
		shortcuts.decision(facts, ctx) == main.decision(facts, ctx)
		not shortcuts.decision(facts, ctx).shortcut
	}
	excepted := _facts("excepted", "SG", _zero, _zero)
	with_entry := object.union(_policy, {"exceptions": [
		{"entity": "excepted", "reason": "licence", "approver": "legal", "expires": "2020-01-01"},
	]})
	not shortcuts.decision(excepted, _ctx(_as_of, with_entry, [excepted])).shortcut
	not shortcuts.decision(excepted, _ctx(null, _policy, [excepted])).shortcut
	shortcuts.decision(excepted, _ctx(_as_of, _policy, [excepted])).shortcut
}
