# METADATA
# title: Threshold test
# description: |
#   Whether a bound of a restricted-share interval crosses the ownership threshold. Mirrors
#   Threshold.lower_crosses / upper_crosses in engine/stakegate/interval.py exactly, so that the
#   Python control fixpoint and the Rego decision agree. `threshold` is
#   {"value": number, "comparison": ">" | ">=", "tolerance": number}; the tolerance absorbs binary
#   floating-point noise (50.00000000000001 and 49.99999999999999 both count as 50).
package stakegate.threshold

# METADATA
# title: Lower bound crosses
# description: True when every share at or above this lower bound crosses the threshold.
lower_crosses(share, _, threshold) if {
	threshold.comparison == ">"
	is_number(share)
	share > threshold.value + threshold.tolerance
}

lower_crosses(share, is_exclusive, threshold) if {
	threshold.comparison == ">"
	is_exclusive == true
	_is_at(share, threshold)
}

lower_crosses(share, _, threshold) if {
	threshold.comparison == ">="
	is_number(share)
	share >= threshold.value - threshold.tolerance
}

# METADATA
# title: Upper bound crosses
# description: True when some share at or below this upper bound crosses the threshold.
upper_crosses(share, _, threshold) if {
	threshold.comparison in {">", ">="}
	is_number(share)
	share > threshold.value + threshold.tolerance
}

upper_crosses(share, is_exclusive, threshold) if {
	threshold.comparison == ">="
	is_exclusive == false
	_is_at(share, threshold)
}

_is_at(share, threshold) if {
	is_number(share)
	abs(share - threshold.value) <= threshold.tolerance
}
