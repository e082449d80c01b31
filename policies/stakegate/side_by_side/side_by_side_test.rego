package stakegate.side_by_side_test

import data.stakegate.params
import data.stakegate.side_by_side

_as_of := "2026-11-30"

_list_regime := {
	"title": "List regime",
	"restricted_regions": [],
	"designation_lists": ["sdn"],
	"ownership_threshold": 50,
	"threshold_comparison": ">=",
	"aggregation": "combined",
	"method": "control",
}

# The test config with two regimes of its own: "lists" (no windows) and "later" (in force from
# 2027), and the presets.
_config := object.union(data.stakegate.testdata.config, {"regimes": {
	"lists": _list_regime,
	"later": object.union(_list_regime, {"in_force": [{"from": "2027-01-01", "source": "test source"}]}),
}})

_zero := {"min": 0.0, "max": 0.0, "min_exclusive": false, "max_exclusive": false, "paths": [], "evidence": []}

_bare(low, high) := {"min": low, "max": high, "min_exclusive": false, "max_exclusive": false, "paths": [], "evidence": []}

_with_paths(share) := object.union(share, {"paths": [["x", "acme"]], "evidence": []})

_own(control, look_through) := {"control": control, "look_through": look_through}

# An SG company whose default facts are zero and whose facts under "lists" are `lists`.
_facts(id, lists) := {
	"id": id, "type": "company", "jurisdiction": "SG",
	"ownership": _own(_zero, _zero),
	"regimes": {
		"restricted-regions": {"ownership": _own(_zero, _zero)},
		"lists": {"ownership": lists},
		"later": {"ownership": lists},
	},
}

_decide(entities, names) := answer.decisions if {
	answer := side_by_side.decisions with input as {"as_of": _as_of, "regimes": names, "entities": entities}
		with data.stakegate.config as _config
}

_summary(own) := {
	"control": {"min": own.control.min, "max": own.control.max},
	"look_through": {"min": own.look_through.min, "max": own.look_through.max},
}

_policy(regime, comparison) := {"method": "control", "threshold": 50, "comparison": comparison, "regime": regime}

test_decisions_combine_most_restrictive if {
	over := _with_paths(_bare(60, 60))
	[d] := _decide([_facts("acme", _own(over, over))], ["restricted-regions", "lists"])
	reason := {
		"code": "restricted_ownership", "severity": "deny", "method": "control",
		"restricted_percent": {"min": 60, "max": 60, "min_exclusive": false, "max_exclusive": false},
		"paths": [["x", "acme"]], "evidence": [],
	}
	lists := {"decision": "deny", "reasons": [reason], "ownership": _summary(_own(over, over))}
	d == object.union(lists, {
		"entity": "acme",
		"policy": _policy("lists", ">="),
		"reasons": [object.union(reason, {"regime": "lists"})],
		"regimes": {
			"restricted-regions": {"decision": "allow", "reasons": [], "ownership": _summary(_own(_zero, _zero))},
			"lists": lists,
		},
	})
}

test_decisions_name_each_regimes_policy_once if {
	answer := side_by_side.decisions with input as {"as_of": _as_of, "regimes": ["lists"], "entities": []}
		with data.stakegate.config as _config
	answer == {"policies": {"lists": _policy("lists", ">=")}, "decisions": []}
}

test_decisions_allow_has_the_first_regimes_policy if {
	[d] := _decide([_facts("acme", _own(_zero, _zero))], ["lists", "restricted-regions"])
	d.decision == "allow"
	d.policy.regime == "lists"
	d.reasons == []
	{name | some name, _ in d.regimes} == {"lists", "restricted-regions"}
}

test_decisions_need_known_distinct_regimes if {
	entities := [_facts("acme", _own(_zero, _zero))]
	not _decide(entities, ["lists", "nope"])
	not _decide(entities, ["lists", "lists"])
	not _decide(entities, [])
	not side_by_side.decisions with input as {"as_of": _as_of, "entities": entities} with data.stakegate.config as _config
	_decide([], ["lists"]) == []
	[d] := _decide([object.union(_facts("acme", _own(_zero, _zero)), {"id": 7})], ["lists"])
	d.entity == null
}

test_regime_not_in_force if {
	[d] := _decide([_facts("acme", _own(_bare(60, 60), _zero))], ["later"])
	d.decision == "allow"
	d.reasons == [{
		"code": "regime_not_in_force", "severity": "info", "regime": "later", "as_of": _as_of,
		"in_force": [{"from": "2027-01-01", "until": null, "source": "test source", "title": null}],
	}]
	d.regimes.later.ownership == {"control": {"min": 60, "max": 60}, "look_through": {"min": 0.0, "max": 0.0}}
}

test_in_force_windows if {
	windows := [
		{"from": "2025-09-29", "until": "2025-11-10"},
		{"from": "2026-11-10", "until": null},
	]
	side_by_side.in_force(windows, "2025-09-29")
	side_by_side.in_force(windows, "2025-11-09")
	not side_by_side.in_force(windows, "2025-11-10")
	not side_by_side.in_force(windows, "2026-11-09")
	side_by_side.in_force(windows, "2026-11-10")
	not side_by_side.in_force(windows, "2025-09-28")
	side_by_side.in_force([], "1900-01-01")
	side_by_side.in_force(windows, "not a date")
}

# The BIS Affiliates Rule under its shipped windows: in force at first, suspended from
# 2025-11-10 through 2026-11-09, in force again from 2026-11-10.
test_bis_suspension_dates if {
	facts := {
		"id": "sub", "type": "company", "jurisdiction": "SG",
		"ownership": _own(_zero, _zero),
		"regimes": {"us-bis-affiliates": {"ownership": _own(_with_paths(_bare(50, 50)), _zero)}},
	}
	outcomes := {day: d.decision |
		some day in ["2025-09-28", "2025-09-29", "2025-11-09", "2025-11-10", "2026-11-09", "2026-11-10", "2026-11-30"]
		answer := side_by_side.decisions with input as {"as_of": day, "regimes": ["us-bis-affiliates"], "entities": [facts]}
			with data.stakegate.config as data.stakegate.testdata.config
		[d] := answer.decisions
	}
	outcomes == {
		"2025-09-28": "allow", "2025-09-29": "deny", "2025-11-09": "deny", "2025-11-10": "allow",
		"2026-11-09": "allow", "2026-11-10": "deny", "2026-11-30": "deny",
	}
}

test_designated_entity_denied_without_ownership_reasons if {
	facts := object.union(_facts("x", _own(_bare(100, 100), _bare(100, 100))), {"designations": [
		{"list": "sdn", "since": "2020-01-01"},
		{"list": "other"},
	]})
	[d] := _decide([facts], ["lists"])
	d.regimes.lists.reasons == [{"code": "designated", "severity": "deny", "list": "sdn", "since": "2020-01-01"}]
	d.decision == "deny"
}

test_malformed_designations_are_invalid_facts if {
	facts := object.union(_facts("x", _own(_zero, _zero)), {"designations": [{"list": 7}]})
	[d] := _decide([facts], ["lists"])
	d.decision == "review"
	d.regimes.lists.reasons == [{"code": "invalid_facts", "severity": "review", "fields": ["designations"]}]
}

test_missing_regime_facts_are_invalid_facts if {
	facts := object.remove(_facts("x", _own(_zero, _zero)), ["regimes"])
	[d] := _decide([facts], ["lists"])
	d.regimes.lists.reasons == [{
		"code": "invalid_facts", "severity": "review",
		"fields": ["ownership.control", "ownership.look_through"],
	}]
	d.regimes.lists.ownership == {"control": {"min": 0, "max": 100}, "look_through": {"min": 0, "max": 100}}
}

test_bad_as_of_is_invalid_facts if {
	answer := side_by_side.decisions with input as {"as_of": "today", "regimes": ["later"], "entities": [_facts("x", _own(_zero, _zero))]}
		with data.stakegate.config as _config
	[d] := answer.decisions
	d.regimes.later.reasons == [{"code": "invalid_facts", "severity": "review", "fields": ["as_of"]}]
}

test_regime_faults_not_the_default_ones if {
	fault := {"kind": "closed_cycle", "records": ["ownership[0]"], "message": "m"}
	facts := object.union(_facts("x", _own(_zero, _zero)), {
		"faults": [fault],
		"regimes": {"lists": {"ownership": _own(_zero, _zero), "faults": [fault]}},
	})
	[d] := _decide([object.union(facts, {"regimes": {"restricted-regions": {"ownership": _own(_zero, _zero)}}})], ["restricted-regions", "lists"])
	d.regimes["restricted-regions"].decision == "allow"
	d.regimes.lists.reasons == [{"code": "data_fault", "severity": "review", "faults": [fault]}]
	d.decision == "review"
}

test_location_only_under_regions if {
	facts := object.union(_facts("cn", _own(_zero, _zero)), {"jurisdiction": "CN"})
	unknown := object.union(_facts("xx", _own(_zero, _zero)), {"jurisdiction": "XX"})
	[d, u] := _decide([facts, unknown], ["restricted-regions", "lists"])
	d.regimes["restricted-regions"].decision == "deny"
	d.regimes.lists.decision == "allow"
	u.regimes["restricted-regions"].decision == "review"
	u.regimes.lists.decision == "allow"
}

test_exception_applies_under_each_regime if {
	config := object.union(_config, {"exceptions": [{"entity": "acme", "reason": "r", "approver": "a", "expires": "2027-01-01"}]})
	over := _with_paths(_bare(60, 60))
	answer := side_by_side.decisions with input as {"as_of": _as_of, "regimes": ["lists"], "entities": [_facts("acme", _own(over, over))]}
		with data.stakegate.config as config
	[d] := answer.decisions
	d.decision == "allow"
	[r.code | some r in d.regimes.lists.reasons] == ["restricted_ownership", "exception_applied"]
}

test_most_restrictive if {
	side_by_side.most_restrictive({"allow", "deny", "review"}) == "deny"
	side_by_side.most_restrictive({"allow", "review"}) == "review"
	side_by_side.most_restrictive({"allow"}) == "allow"
	side_by_side.most_restrictive(set()) == "review"
	side_by_side.most_restrictive({"allow", "maybe"}) == "review"
}

# The shortcut gives what the full check gives, on facts variants under regimes with and without
# regions and both comparisons; marked answers show where it was taken.
test_decision_shortcut_equals_the_full_check if {
	near := _bare(49.9999999999, 49.9999999999)
	none := {
		"id": "none", "type": "company", "jurisdiction": "SG", "ownership": _own(_zero, _zero),
		"regimes": {"restricted-regions": {"ownership": "none"}, "lists": {"ownership": "none"}},
	}
	short := {
		"id": "short", "type": "company", "jurisdiction": "SG", "ownership": _own(_zero, _zero),
		"regimes": {
			"restricted-regions": {"ownership": {"control": [10, 20], "look_through": [0, 49.5]}},
			"lists": {"ownership": {"control": [10, 20], "look_through": [0, 49.5]}},
		},
	}
	short_over := object.union(short, {"id": "short-over", "regimes": {
		"restricted-regions": {"ownership": {"control": [55, 60], "look_through": [0, 1]}},
		"lists": {"ownership": {"control": [50, 50], "look_through": [0, 1]}},
	}})
	short_bad := object.union(short, {"id": "short-bad", "regimes": {
		"restricted-regions": {"ownership": {"control": [20, 10], "look_through": [0]}},
		"lists": {"ownership": {"control": ["a", 1], "look_through": [0, 1]}},
	}})
	variants := [
		none,
		short,
		short_over,
		short_bad,
		object.union(none, {"id": "none-cn", "jurisdiction": "CN"}),
		_facts("zero", _own(_zero, _zero)),
		_facts("quiet", _own(_bare(10, 20), _bare(30, 49))),
		_facts("near", _own(near, near)),
		_facts("at", _own(_bare(50, 50), _zero)),
		_facts("band", _own(_bare(40, 60), _zero)),
		_facts("excl", _own(object.union(_bare(10, 20), {"min_exclusive": true}), _zero)),
		_facts("inverted", _own(_bare(20, 10), _zero)),
		_facts("paths", _own(_with_paths(_bare(10, 10)), _zero)),
		_facts("text", _own(object.union(_zero, {"max": "0"}), _zero)),
		_facts("extra", _own(object.union(_zero, {"note": 1}), _zero)),
		object.union(_facts("cn", _own(_zero, _zero)), {"jurisdiction": "CN"}),
		object.union(_facts("xx", _own(_zero, _zero)), {"jurisdiction": "XX"}),
		object.union(_facts("no-j", _own(_zero, _zero)), {"jurisdiction": null}),
		object.remove(_facts("absent-j", _own(_zero, _zero)), ["jurisdiction"]),
		object.union(_facts("hq", _own(_zero, _zero)), {"headquarters": "RU-MOW"}),
		object.union(_facts("name", _own(_zero, _zero)), {"name": 7}),
		object.union(_facts("type", _own(_zero, _zero)), {"type": "trust"}),
		object.union(_facts("listed", _own(_zero, _zero)), {"designations": [{"list": "sdn"}]}),
		object.union(_facts("other-list", _own(_zero, _zero)), {"designations": [{"list": "other"}]}),
		object.union(_facts("fault", _own(_zero, _zero)), {"faults": [{"kind": "k", "records": [], "message": "m"}]}),
		object.union(_facts("excepted", _own(_zero, _zero)), {}),
		_facts(" ", _own(_zero, _zero)),
		object.remove(_facts("no-regimes", _own(_zero, _zero)), ["regimes"]),
	]
	excepted := object.union(_config, {"exceptions": [{"entity": "excepted", "reason": "r", "approver": "a", "expires": "2020-01-01"}]})
	at_most := object.union(excepted, {"regimes": {"lists": object.union(_list_regime, {"threshold_comparison": ">"})}})
	at_zero := object.union(excepted, {"regimes": {"lists": object.union(_list_regime, {"ownership_threshold": 0})}})
	every config in [excepted, at_most, at_zero] {
		every name in ["restricted-regions", "lists"] {
			policy := params.regime_policies[name] with data.stakegate.config as config
			ctx := side_by_side.context(name, _as_of, policy, variants, side_by_side.batch_codes(variants))
				with data.stakegate.config as config
			every facts in variants {
				side_by_side.decision(facts, ctx, side_by_side.is_plain(facts, ctx)) == side_by_side.full(facts, ctx)
			}
		}

		# combined's inline zero shortcut gives the full check's decisions too.
		names := ["restricted-regions", "lists"]
		contexts := {name: ctx |
			some name in names
			policy := params.regime_policies[name] with data.stakegate.config as config
			ctx := side_by_side.context(name, _as_of, policy, variants, side_by_side.batch_codes(variants))
				with data.stakegate.config as config
		}
		every facts in variants {
			every name in names {
				side_by_side.combined(facts, names, contexts).regimes[name] == side_by_side.full(facts, contexts[name])
			}
		}
	}
	_shortcut_ids(variants, "lists") == {
		"none", "short", "none-cn", "zero", "quiet", "excl", "cn", "xx", "hq", "fault", "excepted", "absent-j",
	}
	_shortcut_ids(variants, "restricted-regions") == {
		"none", "short", "zero", "quiet", "near", "at", "band", "excl", "inverted", "paths", "text", "extra", "fault",
		"excepted",
	}
}

_shortcut_ids(variants, name) := {facts.id |
	policy := params.regime_policies[name] with data.stakegate.config as _config
	ctx := side_by_side.context(name, _as_of, policy, variants, side_by_side.batch_codes(variants))
		with data.stakegate.config as _config
	marked := object.union(ctx, {"allow": {"shortcut": true}, "zero": {"decision": {"shortcut": true}}})
	some facts in variants
	side_by_side.decision(facts, marked, side_by_side.is_plain(facts, marked)).shortcut
}

test_facts_that_are_not_an_object_are_invalid_facts if {
	[d] := _decide(["acme"], ["lists"])
	d.decision == "review"
	d.regimes.lists.reasons[0].code == "invalid_facts"
}

test_entities_not_a_list_decide_nothing if {
	answer := side_by_side.decisions with input as {"as_of": _as_of, "regimes": ["lists"], "entities": "acme"}
		with data.stakegate.config as _config
	answer.decisions == []
}

test_missing_as_of_is_invalid_facts if {
	answer := side_by_side.decisions with input as {"regimes": ["later"], "entities": [_facts("x", _own(_zero, _zero))]}
		with data.stakegate.config as _config
	[d] := answer.decisions
	d.regimes.later.reasons == [{"code": "invalid_facts", "severity": "review", "fields": ["as_of"]}]
}
