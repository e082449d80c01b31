# METADATA
# title: Policy parameters
# description: |
#   The validated view of data.stakegate.config, the one place where policy authors set regions,
#   the threshold, the method and exceptions (see config/README.md). Every other package reads
#   parameters from here, never from the config directly. When any parameter is invalid, `effective`
#   and `policy` are undefined and `problems` says which parameter and value are wrong, and why.
package stakegate.params

import data.stakegate.config
import data.stakegate.threshold

# METADATA
# title: Percent range
# description: The closed range of percent shares; a domain constant, not a policy parameter.
percent_range := {"min": 0, "max": 100}

# METADATA
# title: Reported methods
# description: The methods the Python side always computes and every decision reports.
reported_methods := ["control", "look_through"]

# The methods each `method` setting considers; `either` denies when either method denies.
_methods_for := {
	"control": ["control"],
	"look_through": ["look_through"],
	"either": reported_methods,
}

_date_pattern := `^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$`

# METADATA
# title: Valid config
# description: True when every parameter passes validation.
is_valid if {
	input.config_digest == config_digest
} else if {
	count(problems) == 0
}

# METADATA
# title: Config digest
# description: |
#   SHA-256 of data.stakegate.config as OPA encodes it (json.marshal): the config that
#   data.stakegate.view.policy validated and reports. A query that carries it as
#   input.config_digest, as the engine's queries do, is answered without validating the same
#   config again (about 1.7 ms of every query); any other query validates it in full.
config_digest := crypto.sha256(json.marshal(config))

# METADATA
# title: Restricted regions
# description: The configured regions, upper-cased, as a set.
regions := {upper(r) | some r in config.restricted_regions} if is_valid

# METADATA
# title: User-assigned codes
# description: The configured user-assigned codes, upper-cased, as a set; known codes like ISO's.
user_assigned_codes := _user_assigned_codes if is_valid

# METADATA
# title: Effective parameters
# description: |
#   The validated parameters the Python side reads before it computes facts, also part of
#   data.stakegate.view.policy. Undefined when the config is invalid.
# entrypoint: true
effective := {
	"restricted_regions": sort(regions),
	"user_assigned_codes": sort(user_assigned_codes),
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
	"user_assigned_codes": user_assigned_codes,
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
