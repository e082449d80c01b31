# Side-by-side decisions: the full check of one entity under one regime, for the facts the
# shortcut (side_by_side.rego, decision) does not decide. Part of package stakegate.side_by_side.
package stakegate.side_by_side

import data.stakegate.designations
import data.stakegate.faults
import data.stakegate.jurisdiction
import data.stakegate.ownership
import data.stakegate.result
import data.stakegate.validation

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
