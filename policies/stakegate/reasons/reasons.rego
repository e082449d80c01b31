# METADATA
# title: Reasons
# description: |
#   Every reason of one entity's valid facts, from each rule package in a fixed order
#   (location, data faults, ownership), and the exceptions that apply to it.
package stakegate.reasons

import data.stakegate.faults
import data.stakegate.jurisdiction
import data.stakegate.ownership
import data.stakegate.result

# METADATA
# title: Reasons of an entity
# description: |
#   [reasons, applied]: all reasons of `facts` under the query context `ctx` (main.context), in
#   order, with the entity's exception reasons last, and the exceptions applied among them.
#   Exceptions only ever turn deny or review into allow, so none applies to clear reasons.
of_entity(facts, ctx) := [found, applied] if {
	policy := ctx.policy
	rule_reasons := [r |
		some part in [
			jurisdiction.reasons(facts, policy),
			faults.reasons(facts),
			_ownership_reasons(facts, policy),
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

# Ownership is moot for an entity restricted by its own location.
_ownership_reasons(facts, policy) := [] if {
	jurisdiction.is_restricted(facts, policy.regions)
} else := ownership.reasons(facts, policy)
