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
#   Undefined when the config is invalid or a decision could not be made (a member that is not
#   an array of six), which the engine reports as an error: never a silent allow.
# entrypoint: true
decisions := {"entities": singles, "groups": grouped} if {
	ctx := main.context(_as_of, params.policy, array.concat(_entities, [g.facts | some g in _groups]))
	singles := [shortcuts.decision(f, ctx) | some f in _entities]
	count(singles) == count(_entities)
	grouped := [_group(g, ctx) | some g in _groups]
	count(grouped) == count(_groups)
}

# METADATA
# title: Member facts
# description: |
#   The facts of one group member [id, name, control_min, control_max, look_through_min,
#   look_through_max] (name null when there is none): the group's facts with the member's id,
#   name and bounds (both flags false, no paths, no evidence).
facts(shared, member) := _unnamed(shared, member) if {
	member[1] == null
} else := object.union(_unnamed(shared, member), {"name": member[1]})

# The member's facts less its name. Its arguments carry the member's id, so OPA's
# function memo keeps members apart (docs/ARCHITECTURE.md "OPA cost per entity").
_unnamed(shared, member) := object.union(shared, {
	"id": member[0],
	"ownership": {
		"control": {
			"min": member[2], "max": member[3], "min_exclusive": false, "max_exclusive": false,
			"paths": [], "evidence": [],
		},
		"look_through": {
			"min": member[4], "max": member[5], "min_exclusive": false, "max_exclusive": false,
			"paths": [], "evidence": [],
		},
	},
})

_group(group, ctx) := {"decision": object.remove(ctx.allow, ["entity", "ownership"]), "entities": allowed, "decisions": rest} if {
	_is_clear(group.facts, ctx)
	allowed := _quiet_ids(group.members, ctx)
	rest := _rest(group, allowed, ctx)
	count(allowed) + count(rest) == count(group.members)
} else := {"decision": null, "entities": [], "decisions": decided} if {
	decided := [shortcuts.decision(facts(group.facts, member), ctx) | some member in group.members]
	count(decided) == count(group.members)
}

_rest(group, allowed, _) := [] if count(allowed) == count(group.members)

_rest(group, allowed, ctx) := [shortcuts.decision(facts(group.facts, member), ctx) |
	some member in group.members
	not _is_quiet(member, ctx)
] if count(allowed) != count(group.members)

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
# member order. One comprehension, not a function call per member: the calls cost OPA more
# than the checks themselves (27.6 against 16.1 µs per member on a 100k register).
_quiet_ids(members, ctx) := [id |
	some [id, name, control_min, control_max, look_through_min, look_through_max] in members
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

_entities := input.entities if {
	is_array(input.entities)
} else := []

_groups := input.groups if {
	is_array(input.groups)
} else := []

_as_of := input.as_of

default _as_of := null
