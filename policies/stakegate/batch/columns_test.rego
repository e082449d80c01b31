package stakegate.batch_columns_test

import data.stakegate.batch

_as_of := "2026-11-27"

# The parameters every test relies on; a test that needs others overrides them.
_config := data.stakegate.testdata.config

_configs := [
	_config,
	object.union(_config, {"exceptions": [{"entity": "p2", "reason": "licence GL-25", "approver": "legal", "expires": "2026-12-31"}]}),
	object.union(_config, {"threshold_comparison": ">="}),
	object.union(_config, {"method": "either"}),
	object.union(_config, {"method": "look_through", "ownership_threshold": 25}),
]

_quiet := {
	"ids": ["p1", "p2", "p3"],
	"names": [null, "P Two", null],
	"control_min": [0, 10.5, 0],
	"control_max": [0, 20, 0],
	"look_through_min": [0, 0, 10],
	"look_through_max": [0, 0, 30],
	"exact": [null, null, [0, 0, 10.000000000000002, 29.999999999999996]],
}

# Columns the shortcut must not allow together: each differs from _quiet in one column.
_hostile := [
	object.union(_quiet, {"ids": ["p1", " ", "p3"]}),
	object.union(_quiet, {"ids": ["p1", 7, "p3"]}),
	object.union(_quiet, {"ids": ["p1", ["p2"], "p3"]}),
	object.union(_quiet, {"names": [null, 7, null]}),
	object.union(_quiet, {"names": [null, false, "x"]}),
	object.union(_quiet, {"control_min": [0, "10.5", 0]}),
	object.union(_quiet, {"control_min": [0, 30, 0]}),
	object.union(_quiet, {"control_min": [0, -1, 0]}),
	object.union(_quiet, {"control_max": [0, null, 0]}),
	object.union(_quiet, {"control_max": [0, true, 0]}),
	object.union(_quiet, {"control_max": [0, 60, 0]}),
	object.union(_quiet, {"control_max": [0, 50.000000001, 0]}),
	object.union(_quiet, {"look_through_min": [0, -1, 10]}),
	object.union(_quiet, {"look_through_min": [0, {}, 10]}),
	object.union(_quiet, {"look_through_min": [0, 0, 40]}),
	object.union(_quiet, {"look_through_max": [0, 0, 100.5]}),
	object.union(_quiet, {"look_through_max": [0, "0", 30]}),
]

# The same members written as members of seven, by hand (not by batch._column_members).
_rows(c) := [[id, c.names[i], c.control_min[i], c.control_max[i], c.look_through_min[i], c.look_through_max[i], c.exact[i]] |
	some i, id in c.ids
]

_others := [["m1", null, 20, 30, 0, 0, null], ["m2", "Over", 60, 60, 0, 0, null]]

_answer(groups, config) := answer if {
	answer := batch.decisions with input as {"as_of": _as_of, "groups": groups}
		with data.stakegate.config as config
}

_sg := {"type": "company", "jurisdiction": "SG"}

# A group with columns answers exactly as the same members sent as members of seven, those in
# columns first: quiet or hostile columns, clear or restricted group facts, under each of
# _configs (with and without the shortcuts, with an exception on a member in the columns).
# Groups are decided on their own, so one query holds them all; one test per policy, as all
# five in one test took OPA near its default 5 s per test.
_pairs := [[shared, columns] |
	some columns in array.concat([_quiet], _hostile)
	some shared in [_sg, {"type": "company", "jurisdiction": "CN"}]
]

test_columns_answer_as_members_of_seven if _as_members_of_seven(_pairs, _configs[0])

test_columns_answer_as_members_of_seven_with_an_exception if _as_members_of_seven(_pairs, _configs[1])

test_columns_answer_as_members_of_seven_at_least if _as_members_of_seven(_pairs, _configs[2])

test_columns_answer_as_members_of_seven_either if _as_members_of_seven(_pairs, _configs[3])

test_columns_answer_as_members_of_seven_look_through if _as_members_of_seven(_pairs, _configs[4])

# pairs: [[group facts, columns]]
_as_members_of_seven(pairs, config) if {
	got := _answer([{"facts": shared, "columns": columns, "members": _others} | some [shared, columns] in pairs], config)
	rows := _answer([{"facts": shared, "members": array.concat(_rows(columns), _others)} | some [shared, columns] in pairs], config)
	count(got.groups) == count(pairs)
	got == rows
}

# Quiet columns are allowed together, ahead of the quiet members of seven.
test_quiet_columns_share_the_decision if {
	[group] := _answer([{"facts": _sg, "columns": _quiet, "members": _others}], _config).groups
	group.entities == ["p1", "p2", "p3", "m1"]
	group.decision.decision == "allow"
	[decision] := group.decisions
	decision.entity == "m2"
	decision.decision == "deny"
}

# Only the member with an exception is decided whole (allowed: it is clear anyway); the others
# still share the allow.
test_an_excepted_member_in_columns_is_decided_whole if {
	[group] := _answer([{"facts": _sg, "columns": _quiet, "members": []}], _configs[1]).groups
	group.entities == ["p1", "p3"]
	[decision] := group.decisions
	decision.entity == "p2"
	decision.decision == "allow"
}

# A member in columns that is decided whole is decided on its exact bounds.
test_a_member_in_columns_is_decided_on_its_exact_bounds if {
	over := object.union(_quiet, {"look_through_max": [0, 0, 60]})
	[group] := _answer([{"facts": _sg, "columns": over, "members": []}], object.union(_config, {"method": "look_through"})).groups
	group.entities == ["p1", "p2"]
	[decision] := group.decisions
	decision.ownership.look_through == {"min": 10.000000000000002, "max": 29.999999999999996}
	decision.decision == "allow"
}

test_empty_columns if {
	empty := {name: [] | some name in object.keys(_quiet)}
	[group] := _answer([{"facts": _sg, "columns": empty, "members": _others}], _config).groups
	group.entities == ["m1"]
}

# Columns of unequal length: not allowed together, and a missing value is null, which the full
# check refuses (never an allow for a member without bounds).
test_short_columns_are_decided_one_by_one if {
	short := object.union(_quiet, {"control_max": [0, 20], "exact": [null, null, null]})
	[group] := _answer([{"facts": _sg, "columns": short, "members": []}], _config).groups
	group.entities == ["p1", "p2"]
	[decision] := group.decisions
	decision.entity == "p3"
	decision.decision != "allow"
	longer := object.union(_quiet, {"names": [null, null, null, "extra"]})
	[other] := _answer([{"facts": _sg, "columns": longer, "members": []}], _config).groups
	other.entities == ["p1", "p2", "p3"]
	other.decisions == []
}

# Columns that are not an object with an array of ids cannot be read: no answer at all.
test_unreadable_columns_leave_no_answer if {
	every columns in ["p1", [], {"ids": "p1"}, {"names": []}] {
		not _answer([{"facts": _sg, "columns": columns, "members": []}], _config)
	}
}
