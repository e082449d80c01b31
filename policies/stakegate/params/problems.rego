# Validation of data.stakegate.config: `problems` (see params.rego for the package).
package stakegate.params

import data.stakegate.config
import data.stakegate.regions as matching

# ISO 3166-1 leaves these alpha-2 codes to users: AA, QM to QZ, XA to XZ and ZZ.
_user_assigned_pattern := `^(AA|Q[M-Z]|X[A-Z]|ZZ)$`

_config := config if {
	is_object(config)
} else := {}

# METADATA
# title: Invalid parameters
# description: |
#   One {"parameter", "value", "message"} per problem, the message naming both (a list gets one
#   per bad entry); empty for a valid config. Every parameter of config/README.md is required.
problems contains {"parameter": name, "value": null, "message": sprintf("%s: missing", [name])} if {
	some name, _ in _checks
	not name in object.keys(_config)
}

problems contains _problem(name, value, "is not a parameter") if {
	some name, value in _config
	not name in object.keys(_checks)
	name != "regimes" # optional, validated in regimes.rego
}

problems contains _problem(name, value, message) if {
	some name, message in _checks
	value := _config[name]
	not _is_valid(name, value)
}

problems contains _problem(name, entry, message) if {
	some name, message in _entry_checks
	some entry in _list(name)
	not _is_valid_entry(name, entry)
}

_checks := {
	"method": `is not one of "control", "look_through", "either"`,
	"threshold_comparison": `is not one of ">", ">="`,
	"ownership_threshold": "is not a percent in [0, 100]",
	"percent_tolerance": "is not a number >= 0",
	"consolidation_share": "is not a band {min, max, min_exclusive?, max_exclusive?} in [0, 100] with min <= max",
	"restricted_regions": "is not a list of codes",
	"user_assigned_codes": "is not a list of codes",
	"exceptions": "is not a list of exceptions",
}

_entry_checks := {
	"restricted_regions": "is not an ISO 3166 code (nor one of user_assigned_codes)",
	"user_assigned_codes": "is not a user-assigned ISO 3166-1 alpha-2 code (AA, QM-QZ, XA-XZ, ZZ)",
	"exceptions": `is not an exception {"entity", "reason", "approver", "expires": "YYYY-MM-DD"}`,
}

_problem(name, value, message) := {
	"parameter": name,
	"value": value,
	"message": sprintf("%s: %s %s", [name, _shown(value), message]),
}

# A value as the author wrote it: strings in quotes, anything else as Rego prints it.
_shown(value) := concat("", [`"`, value, `"`]) if {
	is_string(value)
} else := sprintf("%v", [value])

# The entries of a list parameter; none when it is not a list (a problem of its own).
_list(name) := _config[name] if {
	is_array(_config[name])
} else := []

# The valid entries of user_assigned_codes, also while other parameters are invalid, so that
# restricted_regions entries are checked against them.
_user_assigned_codes := {upper(code) | some code in _list("user_assigned_codes"); _is_user_assigned(code)}

default _is_valid(_, _) := false

_is_valid("method", value) if value in object.keys(_methods_for)

_is_valid("threshold_comparison", value) if value in {">", ">="}

_is_valid("ownership_threshold", value) if is_percent(value)

# The tolerance is in percentage points, so it is non-negative like a percent.
_is_valid("percent_tolerance", value) if {
	is_number(value)
	value >= percent_range.min
}

# A share band {min, max, min_exclusive?, max_exclusive?} within percent_range, min <= max.
_is_valid("consolidation_share", band) if {
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

_is_valid("restricted_regions", value) if is_array(value)

_is_valid("user_assigned_codes", value) if is_array(value)

_is_valid("exceptions", value) if is_array(value)

default _is_valid_entry(_, _) := false

_is_valid_entry("restricted_regions", code) if matching.is_known(code, _user_assigned_codes)

_is_valid_entry("user_assigned_codes", code) if _is_user_assigned(code)

_is_valid_entry("exceptions", entry) if {
	is_object(entry)
	every field in ["entity", "reason", "approver"] {
		_is_text(object.get(entry, field, null))
	}
	is_date(object.get(entry, "expires", null))
}

_is_user_assigned(code) if {
	is_string(code)
	regex.match(`^[A-Za-z]{2}$`, code)
	regex.match(_user_assigned_pattern, upper(code))
}

_is_text(value) if {
	is_string(value)
	trim_space(value) != ""
}
