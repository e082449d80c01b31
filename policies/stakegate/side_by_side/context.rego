# Side-by-side decisions: what one regime's decisions share, once per query (its context), and
# whether the regime is in force. Part of package stakegate.side_by_side (side_by_side.rego).
package stakegate.side_by_side

import data.stakegate.exceptions
import data.stakegate.jurisdiction
import data.stakegate.params
import data.stakegate.result
import data.stakegate.validation

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
