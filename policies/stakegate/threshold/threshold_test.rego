package stakegate.threshold_test

import data.stakegate.threshold

_strict := threshold.limits({"value": 50, "comparison": ">", "tolerance": 1e-9})

_inclusive := threshold.limits({"value": 50, "comparison": ">=", "tolerance": 1e-9})

test_limits if {
	_strict == {"value": 50, "comparison": ">", "tolerance": 1e-9, "exceeds": 50.000000001, "reaches": 49.999999999}
}

# Expected results computed with engine/stakegate/interval.py (Threshold(50, cmp, 1e-9)):
# [share, exclusive, lower_crosses, upper_crosses].
_strict_cases := [
	[51, false, true, true],
	[50.000001, false, true, true],
	[50, false, false, false],
	[50, true, true, false],
	[50.00000000000001, false, false, false],
	[49.99999999999999, false, false, false],
	[49.99999999999999, true, true, false],
	[50.0000000009, true, true, false],
	[49.9999999995, true, true, false],
	[49.99999998, true, false, false],
	[49, true, false, false],
	[0, false, false, false],
	[100, true, true, true],
]

_inclusive_cases := [
	[51, false, true, true],
	[50, false, true, true],
	[50, true, true, false],
	[50.00000000000001, true, true, false],
	[49.99999999999999, false, true, true],
	[49.99999999999999, true, true, false],
	[49.9999999995, false, true, true],
	[49.99999998, false, false, false],
	[50.0000000005, true, true, false],
	[50.000000002, true, true, true],
	[49, false, false, false],
	[0, true, false, false],
]

_lower(share, is_exclusive, t) if threshold.lower_crosses({"min": share, "min_exclusive": is_exclusive}, t)

default _lower(_, _, _) := false

_upper(share, is_exclusive, t) if threshold.upper_crosses({"max": share, "max_exclusive": is_exclusive}, t)

default _upper(_, _, _) := false

test_lower_crosses_strict_table if {
	every case in _strict_cases {
		_lower(case[0], case[1], _strict) == case[2]
	}
}

test_upper_crosses_strict_table if {
	every case in _strict_cases {
		_upper(case[0], case[1], _strict) == case[3]
	}
}

test_lower_crosses_inclusive_table if {
	every case in _inclusive_cases {
		_lower(case[0], case[1], _inclusive) == case[2]
	}
}

test_upper_crosses_inclusive_table if {
	every case in _inclusive_cases {
		_upper(case[0], case[1], _inclusive) == case[3]
	}
}

test_lower_crosses_float_sum_at_threshold if {
	# 0.03 + 0.29 + 0.18 scaled to percent: float noise either side of 50 counts as exactly 50.
	not threshold.lower_crosses({"min": 50.00000000000001, "min_exclusive": false}, _strict)
	threshold.lower_crosses({"min": 49.99999999999999, "min_exclusive": false}, _inclusive)
}

test_lower_crosses_zero_tolerance if {
	exact := threshold.limits({"value": 50, "comparison": ">", "tolerance": 0})
	threshold.lower_crosses({"min": 50.00000000000001, "min_exclusive": false}, exact)
	not threshold.lower_crosses({"min": 50, "min_exclusive": false}, exact)
}

test_crosses_missing_share if {
	not threshold.lower_crosses({"min": null, "min_exclusive": true}, _strict)
	not threshold.upper_crosses({"max": null, "max_exclusive": false}, _inclusive)
	not threshold.lower_crosses({"min": "60", "min_exclusive": false}, _inclusive)
	not threshold.upper_crosses({"max": "60", "max_exclusive": false}, _strict)
}

test_crosses_missing_comparison if {
	no_comparison := object.remove(_strict, ["comparison"])
	not threshold.lower_crosses({"min": 60, "min_exclusive": true}, no_comparison)
	not threshold.upper_crosses({"max": 60, "max_exclusive": false}, no_comparison)
}

test_crosses_missing_exclusive_flag if {
	not threshold.lower_crosses({"min": 50, "min_exclusive": null}, _strict)
	not threshold.upper_crosses({"max": 50, "max_exclusive": null}, _inclusive)
}
