# METADATA
# title: Decisions
# description: |
#   The entrypoint the engine queries: one decision per entity of the input facts
#   (schemas/facts.schema.json), in input order. See docs/ARCHITECTURE.md "OPA output".
# schemas:
#   - input: schema["facts.schema"]
package stakegate.main

import data.stakegate.exceptions
import data.stakegate.faults
import data.stakegate.jurisdiction
import data.stakegate.ownership
import data.stakegate.params
import data.stakegate.result
import data.stakegate.validation

# METADATA
# title: Decisions
# description: |
#   One decision per input.entities element, same order; [] without entities. Undefined only
#   when the config is invalid (params.problems says why) or a decision could not be made, which
#   the engine reports as an error: never a silent allow.
# entrypoint: true
decisions := screened if {
	ctx := context(_as_of, params.policy, _entities)
	screened := [decision(facts, ctx) | some facts in _entities]
	count(screened) == count(_entities)
}

# METADATA
# title: Context
# description: |
#   Everything the decisions of one query share, computed once per query rather than per entity:
#   the date as_of, the policy (params.policy), whether as_of is a valid date, each excepted
#   entity's exception reasons, and what the quiet path of `decision` compares against (see
#   quiet_context).
context(as_of, policy, entities) := object.union(
	{
		"as_of": as_of,
		"policy": policy,
		"is_dated": params.is_date(as_of),
		"exceptions": exceptions.by_entity(as_of, policy.exceptions),
	},
	quiet_context(as_of, policy, entities),
)

# METADATA
# title: Quiet context
# description: |
#   The per-query part of the zero and quiet paths: "is_quiet_enabled" (a valid as_of and the
#   ">" comparison, under which ownership.is_quiet is exact), the batch's clear jurisdiction and
#   headquarters codes (with "" for a missing headquarters), the entity "types" it accepts (none
#   when it is not enabled, so that `decision` tests both at once), per method the highest quiet
#   "max" (the percent range's max, or under a method the policy considers, also at most
#   threshold.exceeds) and the acceptable [min_exclusive, max_exclusive] "flags" (min_exclusive
#   false when considered), the "allow" decision less its entity and ownership, and the zero
#   path's values ("zero", see _quiet_zero).
quiet_context(as_of, policy, entities) := {
	"is_quiet_enabled": _is_quiet_enabled(as_of, policy),
	"jurisdictions": jurisdiction.clear_jurisdictions(
		{code | some facts in entities; code := facts.jurisdiction},
		policy.regions,
	),
	"headquarters": jurisdiction.clear_headquarters(
		{""} | {code | some facts in entities; code := facts.headquarters},
		policy.regions,
	),
	"types": _quiet_types(as_of, policy),
	"max": {method: _quiet_max(method, policy) | some method in params.reported_methods},
	"flags": {method: _quiet_flags(method, policy) | some method in params.reported_methods},
	"allow": result.allowed(null, null, result.policy_summary(policy)),
	"zero": _quiet_zero(as_of, policy),
}

# The zero path's "ownership" (both intervals exactly zero, without paths) and its "decision"
# (an allow less the entity); "ownership" is null unless the quiet path accepts a zero interval
# under every reported method. 0.0 as the engine writes it, so the output bytes are the same.
_quiet_zero(as_of, policy) := {"ownership": zero, "decision": decision} if {
	_is_quiet_enabled(as_of, policy)
	every method in params.reported_methods {
		policy.percent_range.min <= 0
		0 <= _quiet_max(method, policy)
		_quiet_flags(method, policy)[[false, false]]
	}
	zero := {method: _zero_interval | some method in params.reported_methods}
	decision := result.allowed(
		null,
		{method: {"min": 0.0, "max": 0.0} | some method in params.reported_methods},
		result.policy_summary(policy),
	)
} else := {"ownership": null, "decision": null}

_zero_interval := {
	"min": 0.0, "max": 0.0, "min_exclusive": false, "max_exclusive": false,
	"paths": [], "evidence": [],
}

default _is_quiet_enabled(_, _) := false

_quiet_types(as_of, policy) := validation.entity_types if {
	_is_quiet_enabled(as_of, policy)
} else := set()

_is_quiet_enabled(as_of, policy) if {
	params.is_date(as_of)
	policy.threshold.comparison == ">"
}

_quiet_max(method, policy) := min({policy.percent_range.max, policy.threshold.exceeds}) if {
	method in policy.methods
} else := policy.percent_range.max

_quiet_flags(method, policy) := {[false, false]: true, [false, true]: true} if {
	method in policy.methods
} else := {[false, false]: true, [false, true]: true, [true, false]: true, [true, true]: true}

# METADATA
# title: Decision
# description: The decision for one entity's facts under a context (see context).
decision(facts, ctx) := object.union(ctx.zero.decision, {"entity": facts.id}) if {
	# The zero path, for most entities of a register: no restricted owner at all, so both
	# intervals equal ctx.zero.ownership exactly (tested first, as the most selective check),
	# and otherwise what the quiet path below checks. ctx.zero.ownership is null, which no
	# facts.ownership equals, unless the quiet path accepts zero intervals (quiet_context).
	facts.ownership == ctx.zero.ownership
	_is_quiet_entity(facts, ctx)
} else := object.union(ctx.allow, {"entity": facts.id, "ownership": {
	"control": {"min": control_min, "max": control_max},
	"look_through": {"min": look_through_min, "max": look_through_max},
}}) if {
	# The quiet path: what the full path below decides for well-formed facts
	# (validation.is_well_formed) with a clear jurisdiction and headquarters, no faults, no
	# exception entry and both intervals quiet (ownership.is_quiet). Inline, in one body, and
	# without function calls per entity: in OPA a call costs more than these comparisons.
	_is_quiet_entity(facts, ctx)
	{
		"control": {
			"min": control_min, "max": control_max, "min_exclusive": control_min_exclusive,
			"max_exclusive": control_max_exclusive, "paths": [], "evidence": [],
		},
		"look_through": {
			"min": look_through_min, "max": look_through_max,
			"min_exclusive": look_through_min_exclusive,
			"max_exclusive": look_through_max_exclusive, "paths": [], "evidence": [],
		},
	} := facts.ownership

	# OPA orders values of different types (null < booleans < numbers < strings < ...), so
	# number <= min <= max <= number also tests that min and max are numbers.
	range_min := ctx.policy.percent_range.min
	range_min <= control_min
	control_min <= control_max
	control_max <= ctx.max.control
	ctx.flags.control[[control_min_exclusive, control_max_exclusive]]
	range_min <= look_through_min
	look_through_min <= look_through_max
	look_through_max <= ctx.max.look_through
	ctx.flags.look_through[[look_through_min_exclusive, look_through_max_exclusive]]
} else := result.decision(facts.id, reasons, applied != [], ownership.summary(facts, policy), policy) if {
	# The quick checks imply the full one passes; the full one runs only when they fail.
	ctx.is_dated == true
	policy := ctx.policy
	validation.is_well_formed(facts, policy)
	[reasons, applied] := _reasons(facts, ctx)
} else := result.decision(
	_entity_id(facts),
	[invalid],
	false,
	ownership.summary(facts, ctx.policy),
	ctx.policy,
) if {
	invalid := validation.invalid_facts(facts, ctx.as_of, ctx.policy)
} else := result.decision(facts.id, reasons, applied != [], ownership.summary(facts, policy), policy) if {
	policy := ctx.policy
	[reasons, applied] := _reasons(facts, ctx)
}

# Everything but the ownership intervals that the zero and quiet paths of `decision` require: a
# well-formed, non-blank id, a clear jurisdiction and headquarters, no faults and no exception
# entry. ctx.types is empty unless those paths are enabled (quiet_context), so this also tests
# that.
_is_quiet_entity(facts, ctx) if {
	is_string(facts.id)
	trim_space(facts.id) != ""
	ctx.types[facts.type]
	is_string(object.get(facts, "name", ""))
	ctx.jurisdictions[facts.jurisdiction]
	ctx.headquarters[object.get(facts, "headquarters", "")]
	object.get(facts, "faults", []) == []
	not ctx.exceptions[facts.id]
}

# All reasons of valid facts, in order, and the exceptions applied among them.
_reasons(facts, ctx) := [reasons, applied] if {
	policy := ctx.policy
	found := [r |
		some part in [
			jurisdiction.reasons(facts, policy.regions),
			faults.reasons(facts),
			_ownership_reasons(facts, policy),
		]
		some r in part
	]
	entries := object.get(ctx.exceptions, facts.id, _no_exceptions)

	# Exceptions only ever turn deny or review into allow.
	applied := [r |
		entries.applied != []
		not result.is_clear(found)
		some r in entries.applied
	]
	reasons := [r | some part in [found, applied, entries.expired]; some r in part]
}

_no_exceptions := {"applied": [], "expired": []}

# Ownership is moot for an entity restricted by its own location.
_ownership_reasons(facts, policy) := [] if {
	jurisdiction.is_restricted(facts, policy.regions)
} else := ownership.reasons(facts, policy)

_entities := input.entities if {
	is_array(input.entities)
} else := []

_as_of := input.as_of

default _as_of := null

_entity_id(facts) := facts.id if {
	is_string(facts.id)
} else := null
