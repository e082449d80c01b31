package stakegate.threshold_test

import data.stakegate.threshold

_strict := threshold.limits({"value": 50, "comparison": ">", "tolerance": 1e-9})

_inclusive := threshold.limits({"value": 50, "comparison": ">=", "tolerance": 1e-9})

test_limits if {
	_strict == {"value": 50, "comparison": ">", "tolerance": 1e-9, "exceeds": 50.000000001, "reaches": 49.999999999}
}

# The shared table of threshold cases, also run by tests/test_threshold_cases.py against the
# Python side: policies/stakegate/testdata/threshold_cases.json (see its README).
_cases := data.stakegate.testdata.threshold_cases

_limits(case) := threshold.limits({"value": case.value, "comparison": case.comparison, "tolerance": case.tolerance})

test_shared_table_is_loaded if {
	count(_cases) >= 40
}

test_lower_crosses_shared_table if {
	every case in _cases {
		_lower(case) == case.lower_crosses
	}
}

test_upper_crosses_shared_table if {
	every case in _cases {
		_upper(case) == case.upper_crosses
	}
}

default _lower(_) := false

_lower(case) if threshold.lower_crosses(case.interval, _limits(case))

default _upper(_) := false

_upper(case) if threshold.upper_crosses(case.interval, _limits(case))

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
