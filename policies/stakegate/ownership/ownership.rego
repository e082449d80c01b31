# METADATA
# title: Ownership rules
# description: |
#   Reasons from restricted ownership, per method, from the restricted-share interval the Python
#   side computed (facts.ownership[method]). A deny when the lower bound crosses the threshold,
#   a review when only the upper bound does. Parts of an interval that are missing or malformed
#   default to the widest range (min 0, max 100), so missing facts lead to review, never silence.
package stakegate.ownership

import data.stakegate.result
import data.stakegate.threshold

# METADATA
# title: Ownership reasons
# description: The reasons of this package for one entity's facts, in the order of policy.methods.
reasons(facts, policy) := [r |
	some method in policy.methods
	not is_quiet(facts, method, policy.threshold)
	r := _method_reason(share(facts, method, policy.percent_range), method, policy)
]

# METADATA
# title: Quiet
# description: |
#   A cheap, exact test that facts.ownership[method] can produce no reason, so that most
#   entities skip share() and the threshold rules (a function call costs more in OPA than a
#   comparison): under ">", min <= max <= limits.exceeds (value + tolerance) with an inclusive
#   min, so neither bound crosses. `limits` is policy.threshold (threshold.limits). Undefined
#   when unsure, e.g. under ">=".
is_quiet(facts, method, limits) if {
	limits.comparison == ">"
	interval := facts.ownership[method]
	interval.min_exclusive == false
	is_number(interval.min)
	is_number(interval.max)
	interval.min <= interval.max
	interval.max <= limits.exceeds
}

# METADATA
# title: Ownership summary
# description: The restricted share {min, max} under every reported method.
summary(facts, policy) := bounds if {
	# The common case without a share() call per method: both bounds are numbers.
	bounds := {method: {"min": s.min, "max": s.max} |
		some method in policy.reported_methods
		s := facts.ownership[method]
		is_number(s.min)
		is_number(s.max)
	}
	count(bounds) == count(policy.reported_methods)
} else := {method: {"min": s.min, "max": s.max} |
	some method in policy.reported_methods
	s := share(facts, method, policy.percent_range)
}

# METADATA
# title: Share
# description: |
#   The interval facts.ownership[method], with defaults for missing or malformed parts, and the
#   entity's id ("entity", null when missing). Functions that test an interval take this object,
#   never bare numbers: OPA memoizes every call by its arguments and hashes a number by its integer
#   part, so the many distinct small shares of a batch would share one hash bucket and a batch
#   would take time quadratic in its size; the id keeps the arguments of each entity distinct.
share(facts, method, percent_range) := object.union(interval, {"entity": facts.id}) if {
	# The common case in one step: every part present with its type.
	interval := facts.ownership[method]
	is_string(facts.id)
	is_number(interval.min)
	is_number(interval.max)
	is_boolean(interval.min_exclusive)
	is_boolean(interval.max_exclusive)
	is_array(interval.paths)
	is_array(interval.evidence)
	count(interval) == 6
} else := {
	"entity": _entity_id(facts),
	"min": _number(facts, method, "min", percent_range.min),
	"max": _number(facts, method, "max", percent_range.max),
	"min_exclusive": _flag(facts, method, "min_exclusive"),
	"max_exclusive": _flag(facts, method, "max_exclusive"),
	"paths": _list(facts, method, "paths"),
	"evidence": _list(facts, method, "evidence"),
}

# METADATA
# title: Restricted ownership
# description: Under `method`, every share in the interval crosses the threshold.
# custom:
#   code: restricted_ownership
#   severity: deny
restricted_ownership(interval, method, policy) := _reason(rego.metadata.rule(), interval, method) if {
	threshold.lower_crosses(interval, policy.threshold)
}

# METADATA
# title: Possible restricted ownership
# description: Under `method`, some share in the interval crosses the threshold, but not all.
# custom:
#   code: possible_restricted_ownership
#   severity: review
possible_restricted_ownership(interval, method, policy) := _reason(rego.metadata.rule(), interval, method) if {
	not threshold.lower_crosses(interval, policy.threshold)
	threshold.upper_crosses(interval, policy.threshold)
}

_method_reason(interval, method, policy) := reason if {
	reason := restricted_ownership(interval, method, policy)
} else := possible_restricted_ownership(interval, method, policy)

_reason(annotations, interval, method) := result.reason(annotations, {
	"method": method,
	"restricted_percent": object.filter(interval, ["min", "max", "min_exclusive", "max_exclusive"]),
	"paths": interval.paths,
	"evidence": interval.evidence,
})

_entity_id(facts) := facts.id if {
	is_string(facts.id)
} else := null

# The helpers below take the whole facts object, never the interval: OPA memoizes function calls
# by their arguments, and it hashes a number by its integer part, so intervals of many entities
# would share hash buckets and a batch would take time quadratic in its size.
_number(facts, method, key, fallback) := facts.ownership[method][key] if {
	is_number(facts.ownership[method][key])
} else := fallback

_flag(facts, method, key) := facts.ownership[method][key] if {
	is_boolean(facts.ownership[method][key])
} else := false

_list(facts, method, key) := facts.ownership[method][key] if {
	is_array(facts.ownership[method][key])
} else := []
