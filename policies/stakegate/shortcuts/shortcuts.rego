# METADATA
# title: Shortcuts to the common allow
# description: |
#   Most entities of a register are clear (well-formed facts, known codes in no restricted region,
#   no faults, no exception entry) and have no restricted owner, or restricted shares too small to
#   cross the threshold (quiet). The full path, main.decision, evaluates every reason rule to find
#   no reason for them and allow. `decision` reaches the same allow, byte for byte, with a few
#   comparisons against values computed once per query (`context`), and hands every other entity
#   to main.decision. It is the function main.decisions calls per entity, so that a shortcut
#   costs no extra call: in OPA a call costs more than a comparison, and these entities are most
#   of a batch. The shortcuts are exact only with a valid as_of under the ">" comparison
#   (ownership.is_quiet); otherwise `context` turns them off. main_test proves `decision` equal
#   to main.decision on facts variants.
package stakegate.shortcuts

import data.stakegate.jurisdiction
import data.stakegate.main
import data.stakegate.params
import data.stakegate.result
import data.stakegate.validation

# METADATA
# title: Decision
# description: |
#   The decision for one entity's facts under the query context `ctx` (main.context): the
#   common allow when a shortcut applies, else main.decision, the full path.
decision(facts, ctx) := decided if {
	decided := quick(facts, ctx)
} else := main.decision(facts, ctx)

# METADATA
# title: Quick decision
# description: |
#   The common allow for one entity's facts under `ctx` when a shortcut applies; undefined
#   otherwise (main.decision then decides).
quick(facts, ctx) := object.union(ctx.zero.decision, {"entity": facts.id}) if {
	# No restricted owner: both intervals exactly zero, without paths (ctx.zero.ownership,
	# tested first as the most selective check; it is null, which no facts.ownership equals,
	# unless a zero interval is quiet under every reported method, see _zero).
	facts.ownership == ctx.zero.ownership
	_is_clear(facts, ctx)
} else := object.union(ctx.allow, {"entity": facts.id, "ownership": {
	"control": {"min": facts.ownership.control.min, "max": facts.ownership.control.max},
	"look_through": {"min": facts.ownership.look_through.min, "max": facts.ownership.look_through.max},
}}) if {
	# Quiet: both intervals well-formed (validation.is_well_formed) and unable to cross the
	# threshold (ownership.is_quiet) under the methods the policy considers.
	_is_clear(facts, ctx)
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
}

# Clear: a well-formed, non-blank id, a known jurisdiction and headquarters in no restricted
# region, no faults and no exception entry. ctx.types is empty unless the shortcuts are enabled
# (see context), so this also tests that.
_is_clear(facts, ctx) if {
	is_string(facts.id)
	trim_space(facts.id) != ""
	ctx.types[facts.type]
	is_string(object.get(facts, "name", ""))
	ctx.jurisdictions[facts.jurisdiction]
	ctx.headquarters[object.get(facts, "headquarters", "")]
	object.get(facts, "faults", []) == []
	not ctx.exceptions[facts.id]
}

# METADATA
# title: Shortcut context
# description: |
#   What `decision` compares against, computed once per query: "is_enabled" (a valid as_of and
#   the ">" comparison), the batch's clear jurisdiction and headquarters codes (with "" for a
#   missing headquarters), the entity "types" it accepts (none when it is not enabled), per
#   method the highest quiet "max" (the percent range's max, or under a method the policy
#   considers, also at most threshold.exceeds) and the acceptable [min_exclusive, max_exclusive]
#   "flags" (min_exclusive false when considered), the "allow" decision less its entity and
#   ownership, and the zero intervals and decision ("zero", see _zero).
context(as_of, policy, entities) := {
	"is_enabled": _is_enabled(as_of, policy),
	"jurisdictions": jurisdiction.clear_jurisdictions(
		{code | some facts in entities; code := facts.jurisdiction},
		policy,
	),
	"headquarters": jurisdiction.clear_headquarters(
		{""} | {code | some facts in entities; code := facts.headquarters},
		policy,
	),
	"types": _types(as_of, policy),
	"max": {method: _max(method, policy) | some method in params.reported_methods},
	"flags": {method: _flags(method, policy) | some method in params.reported_methods},
	"allow": result.allowed(null, null, result.policy_summary(policy)),
	"zero": _zero(as_of, policy),
}

# The zero intervals ("ownership": both exactly zero, without paths) and their decision (an
# allow less the entity); null unless `decision` accepts a zero interval under every reported
# method. 0.0 as the engine writes it, so the output bytes are the same.
_zero(as_of, policy) := {"ownership": zero, "decision": decision} if {
	_is_enabled(as_of, policy)
	every method in params.reported_methods {
		policy.percent_range.min <= 0
		0 <= _max(method, policy)
		_flags(method, policy)[[false, false]]
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

default _is_enabled(_, _) := false

_is_enabled(as_of, policy) if {
	params.is_date(as_of)
	policy.threshold.comparison == ">"
}

_types(as_of, policy) := validation.entity_types if {
	_is_enabled(as_of, policy)
} else := set()

_max(method, policy) := min({policy.percent_range.max, policy.threshold.exceeds}) if {
	method in policy.methods
} else := policy.percent_range.max

_flags(method, policy) := {[false, false]: true, [false, true]: true} if {
	method in policy.methods
} else := {[false, false]: true, [false, true]: true, [true, false]: true, [true, true]: true}
