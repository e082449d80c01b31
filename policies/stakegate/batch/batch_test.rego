package stakegate.batch_test

import data.stakegate.batch
import data.stakegate.main

_as_of := "2026-11-27"

# The parameters every test relies on; a test that needs others overrides them.
_config := data.stakegate.testdata.config

_exception := {"entity": "excepted", "reason": "licence GL-25", "approver": "legal", "expires": "2026-12-31"}

# Members as the engine sends them: [id, name, control_min, control_max, look_through_min,
# look_through_max, exact], exact null or the bounds before rounding (batch.facts).
_members := [
	["zero", null, 0.0, 0.0, 0.0, 0.0, null],
	["named", "Acme Ltd", 0.0, 0.0, 0.0, 0.0, null],
	["quiet", null, 10, 20, 30, 100, null],
	["near", null, 50.000000001, 50.000000001, 0, 0, null],
	["rounded", null, 0, 33.3333333333334, 14.2857142857142, 14.2857142857143, [0, 33.33333333333333, 14.285714285714285, 14.285714285714286]],
	["over", null, 60, 60, 0, 0, null],
	["band", "Band Ltd", 40, 60, 40, 60, null],
	["inverted", null, 20, 10, 0, 0, null],
	["text", null, 0, "0", 0, 0, null],
	["excepted", null, 0.0, 0.0, 0.0, 0.0, null],
	[" ", null, 0.0, 0.0, 0.0, 0.0, null],
	[7, null, 0.0, 0.0, 0.0, 0.0, null],
	["bad-name", 7, 0.0, 0.0, 0.0, 0.0, null],
	["negative", null, -1, 0, 0, 0, null],
	["six", null, 0.0, 0.0, 0.0, 0.0],
]

_groups := [
	{"facts": {"type": "company", "jurisdiction": "SG"}, "members": _members},
	{"facts": {"type": "company", "jurisdiction": "SG", "headquarters": "GB"}, "members": _members},
	{"facts": {"type": "person", "jurisdiction": "gb-eng"}, "members": _members},
	{"facts": {"type": "company", "jurisdiction": "CN"}, "members": _members},
	{"facts": {"type": "company", "jurisdiction": "SG", "headquarters": "RU"}, "members": _members},
	{"facts": {"type": "company"}, "members": _members},
	{"facts": {"type": "trust", "jurisdiction": "SG"}, "members": _members},
	{"facts": {"type": "company", "jurisdiction": "SG", "faults": []}, "members": _members},
	{"facts": {"type": "company", "jurisdiction": "SG"}, "members": []},
]

# Restricted members: [id, name, control_min, control_max, look_through_min, look_through_max].
_restricted_members := [
	["cn-1", null, 100.0, 100.0, 100.0, 100.0],
	["cn-2", "Dragon Ltd", 100.0, 100.0, 100.0, 100.0],
	["excepted", null, 100.0, 100.0, 100.0, 100.0],
	["lower", null, 60, 100.0, 100.0, 100.0],
	[" ", null, 100.0, 100.0, 100.0, 100.0],
	["bad-name", 7, 100.0, 100.0, 100.0, 100.0],
]

_restricted := [
	{"facts": {"type": "company", "jurisdiction": "CN"}, "members": _restricted_members},
	{"facts": {"type": "company", "jurisdiction": "RU-MOW", "headquarters": "SG"}, "members": _restricted_members},
	{"facts": {"type": "company", "jurisdiction": "SG", "headquarters": "IR"}, "members": _restricted_members},
	{"facts": {"type": "company", "jurisdiction": "CN"}, "members": array.slice(_restricted_members, 3, 6)},
	{"facts": {"type": "company", "jurisdiction": "SG"}, "members": _restricted_members},
	{"facts": {"type": "company", "jurisdiction": "KP"}, "members": []},
]

# A whole entity beside the groups, as main.decisions takes it.
_single := {
	"id": "whole", "type": "company", "jurisdiction": "SG",
	"ownership": {
		"control": {"min": 60, "max": 60, "min_exclusive": false, "max_exclusive": false, "paths": [], "evidence": []},
		"look_through": {"min": 0, "max": 0, "min_exclusive": false, "max_exclusive": false, "paths": [], "evidence": []},
	},
}

# Every member's facts, in group and member order.
_expanded := [batch.facts(g.facts, m) | some g in _groups; some m in g.members]

_restricted_expanded := [batch.restricted_facts(g.facts, m) | some g in _restricted; some m in g.members]

# The batch answer made into one decision per entity, as the engine does (policy/batch.py).
_unfolded(answer) := array.concat(
	array.concat(answer.entities, [d | some i, g in _groups; some d in _unfold(answer.groups[i], g)]),
	[d | some i, g in _restricted; some d in _unfold(answer.restricted[i], g)],
)

_unfold(group_answer, group) := [_member_decision(group_answer, group, k) | some k, _ in group.members]

# The shared decision for a member it lists, else the next of the full decisions, in member order.
# The bounds are the exact ones, as the engine fills them in.
_member_decision(group_answer, group, k) := object.union(group_answer.decision, {
	"entity": member[0],
	"ownership": {
		"control": {"min": own.control.min, "max": own.control.max},
		"look_through": {"min": own.look_through.min, "max": own.look_through.max},
	},
}) if {
	member := group.members[k]
	member[0] in group_answer.entities
	own := batch.facts(group.facts, member).ownership
} else := group_answer.decisions[count([j |
	some j, earlier in group.members
	j < k
	not earlier[0] in group_answer.entities
])]

# The batch form decides every member exactly as main.decisions decides its facts, under
# policies with and without the shortcuts (">=" turns them off), with and without exceptions.
test_batch_equals_main_decisions if {
	configs := [
		_config,
		object.union(_config, {"exceptions": [_exception]}),
		object.union(_config, {"threshold_comparison": ">="}),
		object.union(_config, {"method": "either"}),
		object.union(_config, {"method": "look_through", "ownership_threshold": 25}),
		object.union(_config, {"ownership_threshold": 33.333333333333336, "percent_tolerance": 0}),
	]
	every config in configs {
		answer := batch.decisions with input as {"as_of": _as_of, "entities": [_single], "groups": _groups, "restricted": _restricted}
			with data.stakegate.config as config
		whole := array.concat(array.concat([_single], _expanded), _restricted_expanded)
		expected := main.decisions with input as {"as_of": _as_of, "entities": whole}
			with data.stakegate.config as config
		_unfolded(answer) == expected
	}
}

# The shared decision is taken exactly by the plain, clear and quiet members.
test_batch_shares_only_quiet_members if {
	answer := batch.decisions with input as {"as_of": _as_of, "entities": [], "groups": _groups}
		with data.stakegate.config as object.union(_config, {"exceptions": [_exception]})
	first := answer.groups[0]
	with_hq := answer.groups[1]
	person := answer.groups[2]
	first.entities == ["zero", "named", "quiet", "near", "rounded"]
	first.decision == {"decision": "allow", "reasons": [], "policy": {"method": "control", "threshold": 50, "comparison": ">"}}
	with_hq.entities == first.entities
	person.entities == first.entities
	count(first.decisions) == count(_members) - 5
	first.decisions[count(first.decisions) - 1].entity == "six" # of six: decided whole
	answer.groups[8] == {"decision": first.decision, "entities": [], "decisions": []}
	every g in array.slice(answer.groups, 3, 8) {
		g.decision == null
		g.entities == []
	}
}

test_batch_shortcuts_off_under_at_least if {
	answer := batch.decisions with input as {"as_of": _as_of, "entities": [], "groups": _groups}
		with data.stakegate.config as object.union(_config, {"threshold_comparison": ">="})
	every i, g in answer.groups {
		g.entities == []
		count(g.decisions) == count(_groups[i].members)
	}
}

test_batch_without_input if {
	batch.decisions == {"entities": [], "groups": [], "restricted": []} with input as {}
		with data.stakegate.config as _config
}

test_batch_undefined_on_invalid_config if {
	not batch.decisions with input as {"as_of": _as_of, "entities": [_single], "groups": _groups}
		with data.stakegate.config as object.union(_config, {"method": "both"})
}

# A member that is not [id, name, four bounds, exact] cannot be decided: no answer at all.
test_batch_undefined_on_malformed_member if {
	every shared in [{"type": "company", "jurisdiction": "SG"}, {"type": "company", "jurisdiction": "CN"}] {
		every member in [["short", null, 0, 0, 0], ["bad-exact", null, 60, 60, 0, 0, [60]]] {
			not batch.decisions with input as {"as_of": _as_of, "groups": [{"facts": shared, "members": [member]}]}
				with data.stakegate.config as _config
		}
	}
}

# Rounded bounds the quiet check does not pass, where the exact ones would: the member is
# decided whole, on its exact bounds, and allowed.
test_rounded_member_decided_on_its_exact_bounds if {
	answer := batch.decisions with input as {"as_of": _as_of, "groups": [{"facts": {"type": "company", "jurisdiction": "SG"}, "members": [_members[4]]}]}
		with data.stakegate.config as object.union(_config, {"ownership_threshold": 33.333333333333336, "percent_tolerance": 0})
	[group] := answer.groups
	group.entities == []
	[decision] := group.decisions
	decision.decision == "allow"
	decision.ownership.control == {"min": 0, "max": 33.33333333333333}
	decision.ownership.look_through == {"min": 14.285714285714285, "max": 14.285714285714286}
}

test_member_facts if {
	batch.facts({"type": "company", "jurisdiction": "SG"}, ["a", "Acme", 1, 2, 3, 4]) == {
		"id": "a", "name": "Acme", "type": "company", "jurisdiction": "SG",
		"ownership": {
			"control": {"min": 1, "max": 2, "min_exclusive": false, "max_exclusive": false, "paths": [], "evidence": []},
			"look_through": {"min": 3, "max": 4, "min_exclusive": false, "max_exclusive": false, "paths": [], "evidence": []},
		},
	}
	not "name" in object.keys(batch.facts({"type": "company"}, ["a", null, 1, 2, 3, 4]))
	batch.facts({"type": "company"}, ["a", null, 1, 2, 3, 4, null]) == batch.facts({"type": "company"}, ["a", null, 1, 2, 3, 4])
	batch.facts({"type": "company"}, ["a", null, 0, 2, 3, 5, [1, 2, 3, 4]]) == batch.facts({"type": "company"}, ["a", null, 1, 2, 3, 4])
}

# A restricted group shares one decision, reasons and all, among the members with the first
# member's bounds, a valid id and name, and no exception; the rest are decided whole.
test_restricted_group_shares_the_stand_in_decision if {
	answer := batch.decisions with input as {"as_of": _as_of, "restricted": _restricted}
		with data.stakegate.config as object.union(_config, {"exceptions": [_exception]})
	[cn, ru, hq, lower, clear, empty] := answer.restricted
	cn.entities == ["cn-1", "cn-2"]
	cn.decision.decision == "deny"
	[reason] := cn.decision.reasons
	reason.code == "restricted_jurisdiction"
	reason.value == "CN"
	not "entity" in object.keys(cn.decision)
	not "ownership" in object.keys(cn.decision)
	[d.entity | some d in cn.decisions] == ["excepted", "lower", " ", "bad-name"]
	ru.entities == cn.entities
	ru.decision.reasons[0].value == "RU-MOW"
	hq.entities == cn.entities
	hq.decision.reasons[0].field == "headquarters"
	lower.entities == ["lower"] # the first member's bounds are the group's

	# Not restricted by jurisdiction, yet wholly owned by something restricted (itself, say its
	# facts): the decision quotes that evidence, which names the member, so none is shared.
	clear == {"decision": null, "entities": [], "decisions": [d | some d in clear.decisions]}
	count(clear.decisions) == count(_restricted_members)
	empty == {"decision": null, "entities": [], "decisions": []}
}

# A shared decision that names its member (here: any decision, as every one holds "deny" or
# "allow") is not shared: each member is decided whole.
test_restricted_group_decided_whole_when_the_decision_names_its_member if {
	answer := batch.decisions with input as {"as_of": _as_of, "restricted": [_restricted[0]]}
		with data.stakegate.config as _config
		with batch._stand_in as "deny"
	answer.restricted[0].decision == null
	answer.restricted[0].entities == []
	count(answer.restricted[0].decisions) == count(_restricted_members)
}

test_restricted_facts if {
	batch.restricted_facts({"type": "company", "jurisdiction": "CN"}, ["a", "Acme", 100.0, 100.0, 90, 100.0]) == {
		"id": "a", "name": "Acme", "type": "company", "jurisdiction": "CN",
		"ownership": {
			"control": {
				"min": 100.0, "max": 100.0, "min_exclusive": false, "max_exclusive": false, "paths": [["a"]],
				"evidence": [{"contribution": {"max": 100.0, "min": 100.0}, "edges": [], "path": ["a"]}],
			},
			"look_through": {
				"min": 90, "max": 100.0, "min_exclusive": false, "max_exclusive": false, "paths": [["a"]],
				"evidence": [{"contribution": {"max": 100.0, "min": 90}, "edges": [], "path": ["a"]}],
			},
		},
	}
}

# A restricted member that is not [id, name, four bounds] cannot be decided: no answer at all.
test_batch_undefined_on_malformed_restricted_member if {
	not batch.decisions with input as {"as_of": _as_of, "restricted": [{"facts": {"type": "company", "jurisdiction": "CN"}, "members": [["cn-1", null, 100.0, 100.0, 100.0, 100.0], ["short", null]]}]}
		with data.stakegate.config as _config
}
