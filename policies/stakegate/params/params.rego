# METADATA
# title: Policy parameters
# description: |
#   The validated view of data.stakegate.config, the one place where policy authors set regions,
#   the threshold, the method and exceptions (see config/README.md). Every other package reads
#   parameters from here, never from the config directly. When any parameter is invalid, `effective`
#   and `policy` are undefined and `problems` names the offending parameters.
package stakegate.params

import data.stakegate.config
import data.stakegate.threshold

# Percent shares live in this closed range; a domain constant, not a policy parameter.
percent_range := {"min": 0, "max": 100}

# Methods both always computed by the Python side and reported in every decision.
reported_methods := ["control", "look_through"]

# The methods each `method` setting considers; `either` denies when either method denies.
_methods_for := {
	"control": ["control"],
	"look_through": ["look_through"],
	"either": reported_methods,
}

_comparisons := {">", ">="}

# Region codes: an ISO 3166-1 alpha-2 country or an ISO 3166-2 subdivision, any case.
_region_pattern := `^[A-Za-z]{2}(-[A-Za-z0-9]{1,3})?$`

_date_pattern := `^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$`

# OPA hoists the arguments of a negated call out of the negation (open-policy-agent/opa#7558),
# so `not f(config.x)` is undefined, not true, when config.x is missing: read through _setting.
_config := config if {
	is_object(config)
} else := {}

_setting(key) := object.get(_config, key, null)

# METADATA
# title: Invalid parameters
# description: Names of the config parameters that fail validation; empty for a valid config.
problems contains "method" if not _setting("method") in object.keys(_methods_for)

problems contains "threshold_comparison" if not _setting("threshold_comparison") in _comparisons

problems contains "ownership_threshold" if not is_percent(_setting("ownership_threshold"))

problems contains "percent_tolerance" if not _is_tolerance(_setting("percent_tolerance"))

problems contains "consolidation_share" if not _is_band(_setting("consolidation_share"))

problems contains "restricted_regions" if not _is_region_list(_setting("restricted_regions"))

problems contains "exceptions" if not _is_exception_list(_setting("exceptions"))

# METADATA
# title: Valid config
# description: True when every parameter passes validation.
is_valid if problems == set()

# METADATA
# title: Restricted regions
# description: The configured regions, upper-cased, as a set.
regions := {upper(r) | some r in config.restricted_regions} if is_valid

# METADATA
# title: Effective parameters
# description: |
#   The validated parameters the Python side reads before it computes facts.
#   Undefined when the config is invalid.
# entrypoint: true
effective := {
	"restricted_regions": sort(regions),
	"threshold": config.ownership_threshold,
	"comparison": config.threshold_comparison,
	"method": config.method,
	"percent_tolerance": config.percent_tolerance,
	"consolidation_share": config.consolidation_share,
} if is_valid

# METADATA
# title: Policy
# description: Everything the decision rules need, passed to them as one argument.
policy := {
	"method": config.method,
	"methods": _methods_for[config.method],
	"reported_methods": reported_methods,
	"threshold": threshold.limits({
		"value": config.ownership_threshold,
		"comparison": config.threshold_comparison,
		"tolerance": config.percent_tolerance,
	}),
	"regions": regions,
	"exceptions": config.exceptions,
	"percent_range": percent_range,
} if is_valid

# METADATA
# title: Percent
# description: True for a number within percent_range.
default is_percent(_) := false

is_percent(value) if {
	is_number(value)
	value >= percent_range.min
	value <= percent_range.max
}

# METADATA
# title: Date
# description: True for a YYYY-MM-DD string.
default is_date(_) := false

is_date(value) if {
	is_string(value)
	regex.match(_date_pattern, value)
}

# The tolerance is in percentage points, so it is non-negative like a percent.
_is_tolerance(value) if {
	is_number(value)
	value >= percent_range.min
}

# A share band {min, max, min_exclusive?, max_exclusive?} within percent_range, min <= max.
_is_band(band) if {
	is_object(band)
	is_percent(band.min)
	is_percent(band.max)
	band.min <= band.max
	every key in object.keys(band) {
		key in {"min", "max", "min_exclusive", "max_exclusive"}
	}
	every flag in ["min_exclusive", "max_exclusive"] {
		is_boolean(object.get(band, flag, false))
	}
}

_is_region_list(codes) if {
	is_array(codes)
	every r in codes {
		is_string(r)
		regex.match(_region_pattern, r)
	}
}

_is_exception_list(entries) if {
	is_array(entries)
	every e in entries {
		_is_exception(e)
	}
}

_is_exception(entry) if {
	is_object(entry)
	every field in ["entity", "reason", "approver"] {
		_is_text(object.get(entry, field, null))
	}
	is_date(object.get(entry, "expires", null))
}

_is_text(value) if {
	is_string(value)
	trim_space(value) != ""
}
