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

import data.stakegate.ownership
import data.stakegate.params

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

_requested := input.regimes if {
	is_array(input.regimes)
} else := []

_entities := input.entities if {
	is_array(input.entities)
} else := []

_as_of := input.as_of

default _as_of := null
