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
	r := _method_reason(share(facts, method, policy.percent_range), method, policy)
]

# METADATA
# title: Ownership summary
# description: The restricted share {min, max} under every reported method.
summary(facts, policy) := {method: {"min": s.min, "max": s.max} |
	some method in policy.reported_methods
	s := share(facts, method, policy.percent_range)
}

# METADATA
# title: Share
# description: The interval facts.ownership[method], with defaults for missing or malformed parts.
share(facts, method, percent_range) := {
	"min": _number(interval, "min", percent_range.min),
	"max": _number(interval, "max", percent_range.max),
	"min_exclusive": _flag(interval, "min_exclusive"),
	"max_exclusive": _flag(interval, "max_exclusive"),
	"paths": _list(interval, "paths"),
	"evidence": _list(interval, "evidence"),
} if {
	interval := _interval(facts, method)
}

# METADATA
# title: Restricted ownership
# description: Under `method`, every share in the interval crosses the threshold.
# custom:
#   code: restricted_ownership
#   severity: deny
restricted_ownership(interval, method, policy) := _reason(rego.metadata.rule(), interval, method) if {
	threshold.lower_crosses(interval.min, interval.min_exclusive, policy.threshold)
}

# METADATA
# title: Possible restricted ownership
# description: Under `method`, some share in the interval crosses the threshold, but not all.
# custom:
#   code: possible_restricted_ownership
#   severity: review
possible_restricted_ownership(interval, method, policy) := _reason(rego.metadata.rule(), interval, method) if {
	not threshold.lower_crosses(interval.min, interval.min_exclusive, policy.threshold)
	threshold.upper_crosses(interval.max, interval.max_exclusive, policy.threshold)
}

_method_reason(interval, method, policy) := restricted_ownership(interval, method, policy)

_method_reason(interval, method, policy) := possible_restricted_ownership(interval, method, policy)

_reason(annotations, interval, method) := result.reason(annotations, {
	"method": method,
	"restricted_percent": object.filter(interval, ["min", "max", "min_exclusive", "max_exclusive"]),
	"paths": interval.paths,
	"evidence": interval.evidence,
})

_interval(facts, method) := facts.ownership[method] if {
	is_object(facts.ownership[method])
} else := {}

_number(interval, key, fallback) := interval[key] if {
	is_number(interval[key])
} else := fallback

_flag(interval, key) := interval[key] if {
	is_boolean(interval[key])
} else := false

_list(interval, key) := interval[key] if {
	is_array(interval[key])
} else := []
