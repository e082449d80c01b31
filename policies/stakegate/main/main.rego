# METADATA
# title: Decisions
# description: |
#   The entrypoint the engine queries: one decision per entity of the input facts
#   (schemas/facts.schema.json), in input order. See docs/ARCHITECTURE.md "OPA output".
# schemas:
#   - input: schema["facts.schema"]
package stakegate.main

import data.stakegate.exceptions
import data.stakegate.ownership
import data.stakegate.params
import data.stakegate.reasons
import data.stakegate.result
import data.stakegate.shortcuts
import data.stakegate.validation

# METADATA
# title: Decisions
# description: |
#   One decision per input.entities element, same order (shortcuts.decision, which is `decision`
#   reached quicker for most entities); [] without entities. Undefined only
#   when the config is invalid (params.problems says why) or a decision could not be made, which
#   the engine reports as an error: never a silent allow.
# entrypoint: true
decisions := screened if {
	ctx := context(_as_of, params.policy, _entities)
	screened := [shortcuts.decision(facts, ctx) | some facts in _entities]
	count(screened) == count(_entities)
}

# METADATA
# title: Context
# description: |
#   Everything the decisions of one query share, computed once per query rather than per entity:
#   the date as_of, the policy (params.policy), whether as_of is a valid date, each excepted
#   entity's exception reasons, and what the shortcuts compare against (shortcuts.context).
context(as_of, policy, entities) := object.union(shortcuts.context(as_of, policy, entities), {
	"as_of": as_of,
	"policy": policy,
	"is_dated": params.is_date(as_of),
	"exceptions": exceptions.by_entity(as_of, policy.exceptions),
})

# METADATA
# title: Decision
# description: |
#   The decision for one entity's facts under a context (see context), from every reason of
#   the full check. main.decisions asks shortcuts.decision, which gives the same decision
#   quicker for most entities, and this one for the rest.
decision(facts, ctx) := result.decision(facts.id, found, applied != [], ownership.summary(facts, policy), policy) if {
	# The quick check implies the full one passes; the full one runs only when it fails.
	ctx.is_dated == true
	policy := ctx.policy
	validation.is_well_formed(facts, policy)
	[found, applied] := reasons.of_entity(facts, ctx)
} else := result.decision(_entity_id(facts), [invalid], false, ownership.summary(facts, policy), policy) if {
	policy := ctx.policy
	invalid := validation.invalid_facts(facts, ctx.as_of, policy)
} else := result.decision(facts.id, found, applied != [], ownership.summary(facts, policy), policy) if {
	policy := ctx.policy
	[found, applied] := reasons.of_entity(facts, ctx)
}

_entities := input.entities if {
	is_array(input.entities)
} else := []

_as_of := input.as_of

default _as_of := null

_entity_id(facts) := facts.id if {
	is_string(facts.id)
} else := null
