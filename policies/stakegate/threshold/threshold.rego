# METADATA
# title: Threshold test
# description: |
#   Whether a bound of a restricted-share interval crosses the ownership threshold. Mirrors
#   Threshold.lower_crosses / upper_crosses in engine/stakegate/interval.py exactly, so that the
#   Python control fixpoint and the Rego decision agree. `interval` is an object with "min",
#   "max", "min_exclusive" and "max_exclusive" (ownership.share, which also carries the entity id:
#   OPA memoizes calls by their arguments and hashes numbers by their integer part, so bare
#   numbers as arguments would make a batch quadratic). `threshold` is limits({"value": number,
#   "comparison": ">" | ">=", "tolerance": number}); the tolerance absorbs binary floating-point
#   noise (50.00000000000001 and 49.99999999999999 both count as 50).
package stakegate.threshold

# METADATA
# title: Limits
# description: |
#   The threshold with value + tolerance ("exceeds") and value - tolerance ("reaches") added.
#   OPA's arithmetic is slow next to a comparison, so params.policy computes them once per query
#   rather than once per entity; the sums are the same as the per-entity ones would be.
limits(threshold) := object.union(threshold, {
	"exceeds": threshold.value + threshold.tolerance,
	"reaches": threshold.value - threshold.tolerance,
})

# METADATA
# title: Lower bound crosses
# description: True when every share at or above this lower bound crosses the threshold.
default lower_crosses(_, _) := false

lower_crosses(interval, threshold) if {
	threshold.comparison == ">"
	is_number(interval.min)
	interval.min > threshold.exceeds
}

lower_crosses(interval, threshold) if {
	threshold.comparison == ">"
	interval.min_exclusive == true
	is_number(interval.min)
	abs(interval.min - threshold.value) <= threshold.tolerance
}

lower_crosses(interval, threshold) if {
	threshold.comparison == ">="
	is_number(interval.min)
	interval.min >= threshold.reaches
}

# METADATA
# title: Upper bound crosses
# description: True when some share at or below this upper bound crosses the threshold.
default upper_crosses(_, _) := false

upper_crosses(interval, threshold) if {
	threshold.comparison in {">", ">="}
	is_number(interval.max)
	interval.max > threshold.exceeds
}

upper_crosses(interval, threshold) if {
	threshold.comparison == ">="
	interval.max_exclusive == false
	is_number(interval.max)
	abs(interval.max - threshold.value) <= threshold.tolerance
}
