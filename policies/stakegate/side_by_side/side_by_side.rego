# METADATA
# title: Side-by-side decisions
# description: |
#   The entrypoint for decisions under several regimes at once (--regimes): for each entity, one
#   full decision per regime asked (input.regimes, in order), and the most restrictive of them
#   (deny > review > allow) as the entity's decision, with the reasons of the regimes that gave
#   it. Each regime is decided on the facts the engine computed under it (facts.regimes[name]:
#   its restricted share under each method, from its own restricted entities, threshold and
#   aggregation; its data faults) and the entity's designations. Which regimes exist and what
#   they are is params.regimes; see docs/regimes.md.
# schemas:
#   - input: schema["facts.schema"]
package stakegate.side_by_side

import data.stakegate.designations
import data.stakegate.exceptions
import data.stakegate.faults
import data.stakegate.jurisdiction
import data.stakegate.ownership
import data.stakegate.params
import data.stakegate.result
import data.stakegate.validation

# METADATA
# title: Decisions under several regimes
# description: |
#   {"policies": {name: policy summary}, "decisions": [...]}: one decision per input.entities
#   element, same order, the combined decision (`combined`) with every regime's own under
#   "regimes" as {"decision", "reasons", "ownership"}; the engine completes each with the
#   entity and the regime's policy summary from "policies" (given once per query, not per entity:
#   they are most of the answer's bytes otherwise). Undefined when the config is invalid, or
#   input.regimes is not a non-empty list of distinct regime names: the engine reports that as
#   an error, never an allow.
# entrypoint: true
decisions := {"policies": {name: ctx.summary | some name, ctx in contexts}, "decisions": screened} if {
	names := _requested
	count(names) > 0
	count({name | some name in names}) == count(names)
	every name in names {
		params.regime_policies[name]
	}
	codes := batch_codes(_entities)
	contexts := {name: context(name, _as_of, params.regime_policies[name], _entities, codes) | some name in names}
	screened := [combined(facts, names, contexts) | some facts in _entities]
	count(screened) == count(_entities)
}

# METADATA
# title: Combined decision
# description: |
#   Every regime's decision of `facts` (contexts: {name: context}) under "regimes", and on top
#   the most restrictive outcome, deny > review > allow, for the entity. The top-level ownership
#   and policy are those of the first regime (in `names` order) that gave that outcome; its
#   reasons are the reasons of every regime that gave it, each with its "regime".
combined(facts, names, contexts) := object.union(per[names[0]], {
	"entity": _entity_id(facts),
	"policy": contexts[names[0]].summary,
	"regimes": per,
}) if {
	plain := is_plain(facts, contexts[names[0]])

	# The zero and quiet (short form) shortcuts of `decision`, inline: a function call costs more
	# than these lookups, and most entities have no or a small restricted share under a regime.
	zero := {name: ctx.zero.decision |
		plain == true
		some name in names
		ctx := contexts[name]
		facts.regimes[name] == ctx.zero.entry
		ctx.jurisdictions[object.get(facts, "jurisdiction", "")]
		ctx.headquarters[object.get(facts, "headquarters", "")]
	}
	quiet := {name: {"decision": "allow", "reasons": [], "ownership": {
		"control": {"min": control_min, "max": control_max},
		"look_through": {"min": look_through_min, "max": look_through_max},
	}} |
		plain == true
		some name in names
		not zero[name]
		ctx := contexts[name]
		{"ownership": {
			"control": [control_min, control_max],
			"look_through": [look_through_min, look_through_max],
		}} := facts.regimes[name]
		ctx.jurisdictions[object.get(facts, "jurisdiction", "")]
		ctx.headquarters[object.get(facts, "headquarters", "")]
		ctx.policy.percent_range.min <= control_min
		control_min <= control_max
		control_max < ctx.quiet_below
		ctx.policy.percent_range.min <= look_through_min
		look_through_min <= look_through_max
		look_through_max < ctx.quiet_below
	}

	# Every regime allows without reasons (the common case): that is the outcome.
	count(zero) + count(quiet) == count(names)
	per := object.union(zero, quiet)
} else := object.union(per[first], {
	"entity": _entity_id(facts),
	"policy": contexts[first].summary,
	"reasons": reasons,
	"regimes": per,
}) if {
	plain := is_plain(facts, contexts[names[0]])

	# The zero and quiet (short form) shortcuts of `decision`, inline: a function call costs more
	# than these lookups, and most entities have no or a small restricted share under a regime.
	zero := {name: ctx.zero.decision |
		plain == true
		some name in names
		ctx := contexts[name]
		facts.regimes[name] == ctx.zero.entry
		ctx.jurisdictions[object.get(facts, "jurisdiction", "")]
		ctx.headquarters[object.get(facts, "headquarters", "")]
	}
	quiet := {name: {"decision": "allow", "reasons": [], "ownership": {
		"control": {"min": control_min, "max": control_max},
		"look_through": {"min": look_through_min, "max": look_through_max},
	}} |
		plain == true
		some name in names
		not zero[name]
		ctx := contexts[name]
		{"ownership": {
			"control": [control_min, control_max],
			"look_through": [look_through_min, look_through_max],
		}} := facts.regimes[name]
		ctx.jurisdictions[object.get(facts, "jurisdiction", "")]
		ctx.headquarters[object.get(facts, "headquarters", "")]
		ctx.policy.percent_range.min <= control_min
		control_min <= control_max
		control_max < ctx.quiet_below
		ctx.policy.percent_range.min <= look_through_min
		look_through_min <= look_through_max
		look_through_max < ctx.quiet_below
	}
	per := object.union_n([
		zero, quiet,
		{name: decision(facts, contexts[name], plain) | some name in names; not zero[name]; not quiet[name]},
	])
	outcome := most_restrictive({d.decision | some d in per})
	givers := [name | some name in names; per[name].decision == outcome]
	first := givers[0]
	reasons := [object.union(r, {"regime": name}) | some name in givers; some r in per[name].reasons]
}

# METADATA
# title: Most restrictive outcome
# description: deny over review over allow; anything else (or nothing) is review.
most_restrictive(outcomes) := "deny" if {
	"deny" in outcomes
} else := "review" if {
	"review" in outcomes
} else := "allow" if {
	outcomes == {"allow"}
} else := "review"

# METADATA
# title: Regime context
# description: |
#   What one regime's decisions share, once per query: its name and policy
#   (params.regime_policies[name]), as_of and whether it is a date, whether the regime is in
#   force on it (and the reason when not), the exceptions by entity, the policy summary the
#   decisions name, and what the shortcut to the common allow compares against (see decision;
#   `codes` is batch_codes(entities)). A regime not in force takes no shortcut.
context(name, as_of, policy, entities, codes) := {
	"name": name,
	"as_of": as_of,
	"policy": policy,
	"is_dated": params.is_date(as_of),
	"in_force": in_force(policy.regime.in_force, as_of),
	"not_in_force": _not_in_force(policy, as_of),
	"exceptions": exceptions.by_entity(as_of, policy.exceptions),
	"summary": summary(policy),
	"types": _types(as_of),
	"jurisdictions": _clear_codes("jurisdiction", policy, entities, codes),
	"headquarters": _clear_codes("headquarters", policy, entities, codes),
	"quiet_below": _quiet_below(policy, as_of),
	"allow": _allow,
	"zero": _zero(policy, as_of),
}

# METADATA
# title: Batch codes
# description: |
#   {"jurisdiction": {code: true}, "headquarters": {code: true}} for every string code of the
#   batch, and "" (no code): what a regime without regions accepts, computed once per query.
batch_codes(entities) := {field: {code: true |
	some code in ({""} | {c | some facts in entities; c := object.get(facts, field, "")})
	is_string(code)
} |
	some field in ["jurisdiction", "headquarters"]
}

# Shares below this are quiet (threshold - tolerance); none when the regime is not in force.
_quiet_below(policy, as_of) := policy.threshold.reaches if {
	in_force(policy.regime.in_force, as_of)
} else := -1

# The facts of an entity without restricted owners under the regime ({"ownership": "none"}: both
# shares exactly 0.0, without paths) and their decision less the entity, when such facts cannot
# cross the threshold (0 < threshold - tolerance); else null, which no facts equal (they then take
# the full check, which reads "none" as the two zero shares).
_zero(policy, as_of) := {"entry": _none, "decision": decision} if {
	policy.threshold.reaches > 0
	in_force(policy.regime.in_force, as_of)
	decision := object.union(_allow, {"ownership": {"control": _zero_bounds, "look_through": _zero_bounds}})
} else := {"entry": null, "decision": null}

_zero_interval := {"min": 0.0, "max": 0.0, "min_exclusive": false, "max_exclusive": false, "paths": [], "evidence": []}

_zero_bounds := {"min": 0.0, "max": 0.0}

_none := {"ownership": "none"}

_zero_ownership := {"ownership": {"control": _zero_interval, "look_through": _zero_interval}}

# A share [min, max] in full; anything that is not two values stays malformed (invalid_facts).
_short_share(share) := {
	"min": low, "max": high, "min_exclusive": false, "max_exclusive": false,
	"paths": [], "evidence": [],
} if {
	[low, high] := share
} else := share

# METADATA
# title: Policy summary
# description: The policy member of a regime decision, result.policy_summary with the regime name.
summary(policy) := object.union(result.policy_summary(policy), {"regime": policy.regime.name})

# METADATA
# title: In force
# description: |
#   True when the regime has no windows, or `as_of` is in one of them (from <= as_of < until,
#   until null: open), or `as_of` is not a date (the decision is then invalid_facts anyway).
default in_force(_, _) := false

in_force([], _)

in_force(windows, as_of) if {
	params.is_date(as_of)
	some w in windows
	w.from <= as_of
	_before_until(as_of, w.until)
}

in_force(_, as_of) if not params.is_date(as_of)

_before_until(_, null)

_before_until(as_of, until) if as_of < until

# METADATA
# title: Regime not in force
# description: |
#   The regime is not in force on as_of: it restricts nothing that day. Details: the regime,
#   as_of and its windows with their sources.
# custom:
#   code: regime_not_in_force
#   severity: info
regime_not_in_force(policy, as_of) := result.reason(rego.metadata.rule(), {
	"regime": policy.regime.name,
	"as_of": as_of,
	"in_force": policy.regime.in_force,
}) if {
	not in_force(policy.regime.in_force, as_of)
}

_not_in_force(policy, as_of) := regime_not_in_force(policy, as_of)

default _not_in_force(_, _) := null

# METADATA
# title: Decision under one regime
# description: |
#   The decision {"decision", "reasons", "ownership"} of one entity's facts under the regime of
#   `ctx` (context); `plain` is
#   is_plain(facts, ctx), the same under every regime, so computed once per entity. Most
#   entities take a shortcut to the allow the full check gives them (only where the regime is in
#   force: see context): plain, with codes in none of the regime's regions (known
#   codes, when it has regions), and both shares of the regime's facts exactly zero or below
#   threshold - tolerance, which neither comparison crosses. Everything else takes the full
#   check (`full`), but a regime not in force, which allows with regime_not_in_force.
#   side_by_side_test proves the shortcut equal to the full check.
decision(facts, ctx, plain) := ctx.zero.decision if {
	# No restricted owner: tested first, as the most selective and cheapest (one comparison).
	facts.regimes[ctx.name] == ctx.zero.entry
	plain == true
	ctx.jurisdictions[object.get(facts, "jurisdiction", "")]
	ctx.headquarters[object.get(facts, "headquarters", "")]
} else := object.union(ctx.allow, {"ownership": {
	"control": {"min": control_min, "max": control_max},
	"look_through": {"min": look_through_min, "max": look_through_max},
}}) if {
	# Quiet, in the short form: [min, max] per method.
	plain == true
	ctx.jurisdictions[object.get(facts, "jurisdiction", "")]
	ctx.headquarters[object.get(facts, "headquarters", "")]
	{"ownership": {
		"control": [control_min, control_max],
		"look_through": [look_through_min, look_through_max],
	}} := facts.regimes[ctx.name]
	range_min := ctx.policy.percent_range.min
	range_min <= control_min
	control_min <= control_max
	control_max < ctx.quiet_below
	range_min <= look_through_min
	look_through_min <= look_through_max
	look_through_max < ctx.quiet_below
} else := object.union(ctx.allow, {"ownership": {
	"control": {"min": control_min, "max": control_max},
	"look_through": {"min": look_through_min, "max": look_through_max},
}}) if {
	plain == true
	ctx.jurisdictions[object.get(facts, "jurisdiction", "")]
	ctx.headquarters[object.get(facts, "headquarters", "")]
	{"ownership": {
		"control": {
			"min": control_min, "max": control_max, "min_exclusive": control_min_exclusive,
			"max_exclusive": control_max_exclusive, "paths": [], "evidence": [],
		},
		"look_through": {
			"min": look_through_min, "max": look_through_max,
			"min_exclusive": look_through_min_exclusive,
			"max_exclusive": look_through_max_exclusive, "paths": [], "evidence": [],
		},
	}} := facts.regimes[ctx.name]

	# number <= x <= y < number also proves x and y numbers (OPA orders values by type).
	range_min := ctx.policy.percent_range.min
	range_min <= control_min
	control_min <= control_max
	control_max < ctx.quiet_below
	is_boolean(control_min_exclusive)
	is_boolean(control_max_exclusive)
	range_min <= look_through_min
	look_through_min <= look_through_max
	look_through_max < ctx.quiet_below
	is_boolean(look_through_min_exclusive)
	is_boolean(look_through_max_exclusive)
} else := {
	"decision": "allow",
	"ownership": ownership.summary(_regime_facts(facts, ctx.name), ctx.policy),
	"reasons": [ctx.not_in_force],
} if {
	ctx.not_in_force != null
} else := full(facts, ctx)

# METADATA
# title: Plain
# description: |
#   What the shortcut asks of an entity under every regime (ctx: any regime's context): a
#   non-blank id, a known type, a string name, no designations, no exception entry, and a valid
#   as_of (ctx.types is empty otherwise). The regime's codes and shares are checked per regime.
default is_plain(_, _) := false

is_plain(facts, ctx) if {
	is_string(facts.id)
	trim_space(facts.id) != ""
	ctx.types[facts.type]
	is_string(object.get(facts, "name", ""))
	object.get(facts, "designations", []) == []
	not ctx.exceptions[facts.id]
}

_types(as_of) := validation.entity_types if {
	params.is_date(as_of)
} else := set()

# {code: true} for the codes of `field` in the batch that give no location reason under the
# regime: without regions every string (and "" for no headquarters: without regions a missing
# jurisdiction is no reason either, but the full check's well-formed test still wants strings);
# with regions those jurisdiction.clear_jurisdictions / clear_headquarters accept.
_clear_codes(field, policy, entities, codes) := codes[field] if {
	count(policy.regions) == 0
} else := jurisdiction.clear_jurisdictions({code | some facts in entities; code := facts.jurisdiction}, policy) if {
	field == "jurisdiction"
} else := jurisdiction.clear_headquarters({""} | {code | some facts in entities; code := facts.headquarters}, policy)

# METADATA
# title: Full check
# description: |
#   The decision from every reason of the regime: the facts under it (_regime_facts) must be
#   well-formed (else invalid_facts, review), then designated, location (only when the regime has
#   regions), data_fault, ownership (moot for an entity restricted by designation or location),
#   and exceptions, in that order.
full(facts, ctx) := _decision(found, applied != [], rfacts, ctx) if {
	ctx.is_dated == true
	rfacts := _regime_facts(facts, ctx.name)
	validation.is_well_formed(rfacts, ctx.policy)
	designations.is_well_formed(facts)
	[found, applied] := reasons(facts, rfacts, ctx)
} else := _decision([invalid_facts(fields)], false, rfacts, ctx) if {
	rfacts := _regime_facts(facts, ctx.name)
	fields := validation.problems(rfacts, ctx.as_of, ctx.policy) | _designation_problems(facts)
	fields != set()
} else := _decision(found, applied != [], rfacts, ctx) if {
	rfacts := _regime_facts(facts, ctx.name)
	[found, applied] := reasons(facts, rfacts, ctx)
}

# METADATA
# title: Reasons under a regime
# description: |
#   [reasons, applied]: the reasons of `facts` (rfacts: its facts under the regime) in the order
#   of `full`, with the exception reasons last, and the exceptions applied among them.
reasons(facts, rfacts, ctx) := [found, applied] if {
	policy := ctx.policy
	designated := designations.reasons(facts, policy.regime.designation_lists, ctx.as_of)
	rule_reasons := [r |
		some part in [
			designated,
			_location_reasons(rfacts, policy),
			faults.reasons(rfacts),
			_ownership_reasons(rfacts, policy, designated),
		]
		some r in part
	]
	entries := object.get(ctx.exceptions, facts.id, _no_exceptions)
	applied := [r |
		entries.applied != []
		not result.is_clear(rule_reasons)
		some r in entries.applied
	]
	found := [r | some part in [rule_reasons, applied, entries.expired]; some r in part]
}

_no_exceptions := {"applied": [], "expired": []}

_location_reasons(rfacts, policy) := [] if {
	count(policy.regions) == 0
} else := jurisdiction.reasons(rfacts, policy)

# Ownership is moot for an entity restricted by a designation or its location.
_ownership_reasons(rfacts, policy, designated) := [] if {
	designated != []
} else := [] if {
	jurisdiction.is_restricted(rfacts, policy.regions)
} else := ownership.reasons(rfacts, policy)

# METADATA
# title: Invalid facts
# description: |
#   The entity's facts under the regime (or its designations, or the input's as_of) are missing
#   or malformed: the named fields. The same reason as validation.invalid_facts, with the
#   designations checked too.
# custom:
#   code: invalid_facts
#   severity: review
invalid_facts(fields) := result.reason(rego.metadata.rule(), {"fields": sort(fields)})

_designation_problems(facts) := {"designations"} if {
	is_object(facts)
	not designations.is_well_formed(facts)
} else := set()

# The facts of one entity under a regime: its own fields, with the ownership and faults of
# facts.regimes[name] in place of the default regime's (none when that is missing: invalid); an
# ownership of "none" reads as both shares exactly zero, a share [min, max] as one with inclusive
# bounds, both without paths. Anything else malformed stays as it is: invalid_facts.
_regime_facts(facts, name) := object.union(_base(facts), object.union(facts.regimes[name], _zero_ownership)) if {
	facts.regimes[name].ownership == "none"
} else := object.union(_base(facts), object.union(facts.regimes[name], {"ownership": {
	"control": _short_share(control),
	"look_through": _short_share(look_through),
}})) if {
	{"control": control, "look_through": look_through} := facts.regimes[name].ownership
	is_array(control)
	is_array(look_through)
} else := object.union(_base(facts), facts.regimes[name]) if {
	is_object(facts.regimes[name])
} else := _base(facts) if {
	is_object(facts)
} else := facts

_base(facts) := object.remove(facts, ["regimes", "designations", "faults", "ownership"])

# A regime's decision as the answer carries it: {"decision", "reasons", "ownership"} (see
# decisions: the engine adds the entity and the regime's policy summary).
_decision(found, is_excepted, rfacts, ctx) := {
	"decision": result.outcome(found, is_excepted),
	"reasons": found,
	"ownership": ownership.summary(rfacts, ctx.policy),
}

_allow := {"decision": "allow", "reasons": []}

_entity_id(facts) := facts.id if {
	is_string(facts.id)
} else := null

_requested := input.regimes if {
	is_array(input.regimes)
} else := []

_entities := input.entities if {
	is_array(input.entities)
} else := []

_as_of := input.as_of

default _as_of := null
