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
	policy := params.policy
	screened := [decision(facts, _as_of, policy) | some facts in _entities]
	count(screened) == count(_entities)
}

# METADATA
# title: Decision
# description: The decision for one entity's facts, on the date as_of, under policy (params.policy).
decision(facts, as_of, policy) := result.decision(
	_entity_id(facts),
	[invalid],
	false,
	ownership.summary(facts, policy),
	policy,
) if {
	invalid := validation.invalid_facts(facts, as_of, policy)
} else := _screened(facts, as_of, policy)

_screened(facts, as_of, policy) := result.decision(
	facts.id,
	array.concat(array.concat(reasons, applied), exceptions.expired(facts.id, as_of, policy.exceptions)),
	applied != [],
	ownership.summary(facts, policy),
	policy,
) if {
	reasons := array.concat(
		array.concat(jurisdiction.reasons(facts, policy.regions), faults.reasons(facts)),
		_ownership_reasons(facts, policy),
	)
	applied := _applied_exceptions(facts.id, as_of, policy.exceptions, reasons)
}

# Ownership is moot for an entity restricted by its own location.
_ownership_reasons(facts, policy) := [] if {
	jurisdiction.is_restricted(facts, policy.regions)
} else := ownership.reasons(facts, policy)

# Exceptions only ever turn deny or review into allow.
_applied_exceptions(entity_id, as_of, entries, reasons) := [] if {
	result.is_clear(reasons)
} else := exceptions.applied(entity_id, as_of, entries)

_entities := input.entities if {
	is_array(input.entities)
} else := []

_as_of := input.as_of

default _as_of := null

_entity_id(facts) := facts.id if {
	is_string(facts.id)
} else := null
