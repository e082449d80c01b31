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
	ctx := context(_as_of, params.policy)
	screened := [decision(facts, ctx) | some facts in _entities]
	count(screened) == count(_entities)
}

# METADATA
# title: Context
# description: |
#   Everything the decisions of one query share, computed once per query rather than per entity:
#   the date as_of, the policy (params.policy), whether as_of is a valid date, and each
#   excepted entity's exception reasons.
context(as_of, policy) := {
	"as_of": as_of,
	"policy": policy,
	"is_dated": params.is_date(as_of),
	"exceptions": exceptions.by_entity(as_of, policy.exceptions),
}

# METADATA
# title: Decision
# description: The decision for one entity's facts under a context (see context).
decision(facts, ctx) := result.decision(facts.id, reasons, applied != [], ownership.summary(facts, policy), policy) if {
	# The quick check implies the full one passes; the full one runs only when it fails.
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
