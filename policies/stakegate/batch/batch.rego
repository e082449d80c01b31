# METADATA
# title: Batch decisions
# description: |
#   The entrypoint the engine screens with. Most entities of a register are clear and quiet
#   (shortcuts.quick): their facts differ only in id, name and four bounds. The engine sends
#   those compactly, grouped by their shared facts, and everything else as main.decisions takes
#   it; every member is decided exactly as main.decisions decides its facts (see `facts`).
#   Input: schemas/facts.schema.json ("groups"). See docs/ARCHITECTURE.md "Batch form".
# schemas:
#   - input: schema["facts.schema"]
package stakegate.batch

import data.stakegate.main
import data.stakegate.params
import data.stakegate.shortcuts

# METADATA
# title: Batch decisions
# description: |
#   {"entities": one decision per input.entities element, in order (as main.decisions);
#   "groups": one answer per input.groups element, in order}. A group's answer names the
#   members the shortcut allows ("entities", their ids in member order) and the decision they
#   share ("decision", less "entity" and "ownership", which are each member's id and bounds),
#   and holds the full decision of every other member ("decisions", in member order).
#   Undefined when the config is invalid or a decision could not be made (a malformed member),
#   which the engine reports as an error: never a silent allow.
# entrypoint: true
decisions := {"entities": singles, "groups": grouped, "restricted": restricted} if {
	shared := [g.facts | some g in array.concat(_groups, _restricted_groups)]
	ctx := main.context(_as_of, params.policy, array.concat(_entities, shared))
	singles := [shortcuts.decision(f, ctx) | some f in _entities]
	count(singles) == count(_entities)
	grouped := [_group(g, ctx) | some g in _groups]
	count(grouped) == count(_groups)
	restricted := [_restricted(g, ctx) | some g in _restricted_groups]
	count(restricted) == count(_restricted_groups)
}

# METADATA
# title: Member facts
# description: |
#   The facts of one group member [id, name, control_min, control_max, look_through_min,
#   look_through_max, exact] (name null when there is none): the group's facts with the
#   member's id, name and exact bounds (both flags false, no paths, no evidence). "exact" is
#   null when the four bounds are exact, else those bounds as the engine computed them,
#   [control_min, control_max, look_through_min, look_through_max], and the four before it
#   are them rounded outward (lower bounds down, upper bounds up) to 15 significant digits.
#   OPA compares such numbers without big-number arithmetic; a longer one cost it about 2 µs
#   per comparison. The quiet check reads the rounded bounds: it passes only below a
#   threshold, so it passing for the wider bounds implies it for the exact ones. A member it
#   does not pass is decided on these facts, with the exact bounds. A member of six (an
#   engine that does not round) is decided the same way.
facts(shared, member) := _named(_unnamed(shared, member[0], _exact(member)), member[1])

_exact(member) := member[6] if {
	is_array(member[6])
} else := array.slice(member, 2, 6)

# METADATA
# title: Restricted member facts
# description: |
#   The facts of one member of a restricted group (input.restricted): as `facts`, except that
#   the member itself is the one path and the one piece of evidence of both methods, as the
#   engine computes them for an entity restricted by its own jurisdiction or headquarters that
#   nobody else restricted owns.
restricted_facts(shared, member) := _named(
	object.union(shared, {
		"id": member[0],
		"ownership": {
			"control": _self_evident(member[0], member[2], member[3]),
			"look_through": _self_evident(member[0], member[4], member[5]),
		},
	}),
	member[1],
)

_self_evident(id, low, high) := {
	"min": low, "max": high, "min_exclusive": false, "max_exclusive": false,
	"paths": [[id]], "evidence": [{"contribution": {"max": high, "min": low}, "edges": [], "path": [id]}],
}

_named(doc, null) := doc

_named(doc, name) := object.union(doc, {"name": name}) if name != null

# The member's facts less its name. Its arguments carry the member's id, so OPA's
# function memo keeps members apart (docs/ARCHITECTURE.md "OPA cost per entity").
_unnamed(shared, id, bounds) := object.union(shared, {
	"id": id,
	"ownership": {
		"control": {
			"min": bounds[0], "max": bounds[1], "min_exclusive": false, "max_exclusive": false,
			"paths": [], "evidence": [],
		},
		"look_through": {
			"min": bounds[2], "max": bounds[3], "min_exclusive": false, "max_exclusive": false,
			"paths": [], "evidence": [],
		},
	},
})

# A group: the members in its "columns" are allowed together when every one of them passes
# the quiet check (_are_quiet_columns); otherwise they are checked one by one with the group's
# members of seven. Answers list the members in columns first.
_group(group, ctx) := _clear_group(group.facts, group.columns.ids, group.members, ctx) if {
	_is_clear(group.facts, ctx)
	_are_quiet_columns(group.columns, ctx)
} else := _clear_group(group.facts, [], _members(group), ctx) if {
	_is_clear(group.facts, ctx)
} else := {"decision": null, "entities": [], "decisions": decided} if {
	members := _members(group)
	decided := [shortcuts.decision(facts(group.facts, member), ctx) | some member in members]
	count(decided) == count(members)
}

_clear_group(shared, allowed, members, ctx) := {"decision": object.remove(ctx.allow, ["entity", "ownership"]), "entities": array.concat(allowed, quiet), "decisions": rest} if {
	quiet := _quiet_ids(members, ctx)
	rest := _rest(shared, members, quiet, ctx)
	count(quiet) + count(rest) == count(members)
}

_rest(_, members, quiet, _) := [] if count(quiet) == count(members)

_rest(shared, members, quiet, ctx) := [shortcuts.decision(facts(shared, member), ctx) |
	some member in members
	not _is_quiet(member, ctx)
] if count(quiet) != count(members)

# Every member of the group as a member of seven, those in columns first. Undefined when the
# columns are not an object with an "ids" array.
_members(group) := array.concat(_column_members(object.get(group, "columns", {"ids": []})), group.members)

_column_members(columns) := [[id, _at(columns.names, i), _at(columns.control_min, i), _at(columns.control_max, i), _at(columns.look_through_min, i), _at(columns.look_through_max, i), _at(columns.exact, i)] |
	some i, id in columns.ids
] if is_array(columns.ids)

_at(values, i) := value if {
	value := values[i]
} else := null

_column_names := ["ids", "names", "control_min", "control_max", "look_through_min", "look_through_max", "exact"]

# Every member in the columns passes every check of _quiet_ids, by builtins over whole columns
# and searches that stop at the first failure, rather than a comprehension over members of
# seven (opa bench, one batch of 2,000 entities of the 100k register: 32 ms of evaluation as
# members of seven, 22 ms as columns; docs/ARCHITECTURE.md "Columns"). min and max order
# values of any type: with the order of each member's two bounds they prove every bound a
# number (a string is above any number, null and booleans below), and every id a string.
_are_quiet_columns(columns, ctx) if {
	every name in _column_names {
		is_array(columns[name])
		count(columns[name]) == count(columns.ids)
	}
	_are_quiet_column_values(columns, ctx)
}

_are_quiet_column_values(columns, _) if count(columns.ids) == 0

_are_quiet_column_values(columns, ctx) if {
	ids := columns.ids
	range_min := ctx.policy.percent_range.min
	range_min <= min(columns.control_min)
	max(columns.control_max) <= ctx.max.control
	range_min <= min(columns.look_through_min)
	max(columns.look_through_max) <= ctx.max.look_through
	not _has_inverted(columns.control_min, columns.control_max)
	not _has_inverted(columns.look_through_min, columns.look_through_max)
	is_string(min(ids))
	is_string(max(ids))
	not _has_blank(ids)
	not _has_bad_name(columns.names)
	count(object.filter(ctx.exceptions, ids)) == 0
}

_has_inverted(lows, highs) if {
	some i, low in lows
	low > highs[i]
}

_has_blank(ids) if {
	some id in ids
	trim_space(id) == ""
}

_has_bad_name(names) if {
	some name in names
	name != null
	not is_string(name)
}

# The group's facts pass every check of shortcuts._is_clear that is not about the id or name.
_is_clear(shared, ctx) if {
	is_object(shared)
	count(object.remove(shared, ["type", "jurisdiction", "headquarters"])) == 0
	ctx.types[shared.type]
	ctx.jurisdictions[shared.jurisdiction]
	ctx.headquarters[object.get(shared, "headquarters", "")]
	ctx.flags.control[[false, false]]
	ctx.flags.look_through[[false, false]]
}

# The ids of the members that pass every check of shortcuts.quick not made by _is_clear, in
# member order, on the bounds as sent (see `facts`; only members of seven). One comprehension,
# not a function call per member: the calls cost OPA more than the checks themselves (27.6
# against 16.1 µs per member on a 100k register).
_quiet_ids(members, ctx) := [id |
	some [id, name, control_min, control_max, look_through_min, look_through_max, _] in members
	is_string(id)
	trim_space(id) != ""
	type_name(name) in {"null", "string"}
	not ctx.exceptions[id]
	range_min <= control_min
	control_min <= control_max
	control_max <= max_control
	range_min <= look_through_min
	look_through_min <= look_through_max
	look_through_max <= max_look_through
] if {
	range_min := ctx.policy.percent_range.min
	max_control := ctx.max.control
	max_look_through := ctx.max.look_through
}

# The member passes the rest: shortcuts.quick allows its facts.
_is_quiet(member, ctx) if _quiet_ids([member], ctx) != []

# A restricted group: entities restricted by their own jurisdiction or headquarters, whose
# facts differ only in id and name. One decision is made for a stand-in member with the first
# member's bounds; members share it when they have those bounds, a valid id and name, and no
# exception, and the decision names no id but its entity (were a reason to quote its evidence,
# every member would be decided whole). Everyone else is decided whole.
_restricted(group, ctx) := {"decision": object.remove(stand_in, ["entity", "ownership"]), "entities": sharing, "decisions": rest} if {
	bounds := array.slice(group.members[0], 2, 6)
	stand_in := shortcuts.decision(restricted_facts(group.facts, array.concat([_stand_in, null], bounds)), ctx)
	not contains(json.marshal(object.remove(stand_in, ["entity"])), _stand_in)
	sharing := _sharing(group.members, bounds, ctx)
	rest := [shortcuts.decision(restricted_facts(group.facts, member), ctx) |
		some member in group.members
		_sharing([member], bounds, ctx) == []
	]
	count(sharing) + count(rest) == count(group.members)
} else := {"decision": null, "entities": [], "decisions": decided} if {
	decided := [shortcuts.decision(restricted_facts(group.facts, member), ctx) | some member in group.members]
	count(decided) == count(group.members)
}

# The id of the stand-in member of a restricted group: no entity is expected to have it, and a
# decision that contains it names something of its member.
_stand_in := "stakegate:stand-in"

# The ids of the members with these bounds, a valid id and name, and no exception.
_sharing(members, bounds, ctx) := [id |
	some [id, name, control_min, control_max, look_through_min, look_through_max] in members
	[control_min, control_max, look_through_min, look_through_max] == bounds
	is_string(id)
	trim_space(id) != ""
	type_name(name) in {"null", "string"}
	not ctx.exceptions[id]
]

_entities := input.entities if {
	is_array(input.entities)
} else := []

_restricted_groups := input.restricted if {
	is_array(input.restricted)
} else := []

_groups := input.groups if {
	is_array(input.groups)
} else := []

_as_of := input.as_of

default _as_of := null
