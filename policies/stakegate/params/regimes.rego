# Regimes (see params.rego for the package): the presets of stakegate.regimes, the regimes an
# author adds or replaces in config `regimes`, and `restricted-regions`, the shipped rule, built
# from the top-level parameters. Validated here like every other parameter.
package stakegate.params

import data.stakegate.config
import data.stakegate.regimes as presets
import data.stakegate.regions as matching
import data.stakegate.threshold

# METADATA
# title: Default regime
# description: |
#   The name of the regime of the top-level parameters: today's rule, what every decision is
#   made under without --regimes.
default_regime := "restricted-regions"

_aggregations := {"combined", "per_owner"}

_regime_keys := {
	"title", "restricted_regions", "designation_lists", "ownership_threshold",
	"threshold_comparison", "aggregation", "method", "in_force",
}

_window_keys := {"from", "until", "source", "title"}

# config.regimes, when it is an object (a problem of its own otherwise).
_config_regimes := _config.regimes if {
	is_object(_config.regimes)
} else := {}

# Every regime definition but the default: presets with their windows, each replaced whole by
# the config's regime of the same name, and the config's other regimes.
_definitions := {name: definition |
	some name in (object.keys(presets.presets) | object.keys(_config_regimes))
	definition := _definition(name)
}

_definition(name) := _config_regimes[name] if {
	name in object.keys(_config_regimes)
} else := object.union(presets.presets[name], {"in_force": _preset_windows(name)})

_preset_windows(name) := [object.remove(w, ["regime"]) | some w in presets.windows; w.regime == name]

problems contains _problem("regimes", value, "is not an object {name: regime}") if {
	value := _config.regimes
	not is_object(value)
}

problems contains _problem("regimes", name, "is not a regime name (lower-case letters, digits and '-')") if {
	some name, _ in _definitions
	not _is_regime_name(name)
}

problems contains _problem(
	"regimes",
	default_regime,
	"is the top-level rule: set its parameters at the top level, not in regimes",
) if {
	_config_regimes[default_regime]
}

problems contains _problem(concat(".", ["regimes", name]), definition, "is not a regime object") if {
	some name, definition in _definitions
	not is_object(definition)
}

problems contains _problem(concat(".", ["regimes", name, key]), value, "is not a regime field") if {
	some name, definition in _definitions
	is_object(definition)
	some key, value in definition
	not key in _regime_keys
}

problems contains _problem(concat(".", ["regimes", name, key]), value, message) if {
	some name, definition in _definitions
	is_object(definition)
	some key, message in _regime_checks
	value := object.get(definition, key, null)
	not _is_valid_regime_field(key, value)
}

problems contains _problem(concat(".", ["regimes", name, "restricted_regions"]), code, message) if {
	some name, definition in _definitions
	some code in _list_of(definition, "restricted_regions")
	not matching.is_known(code, _user_assigned_codes)
	message := "is not an ISO 3166 code (nor one of user_assigned_codes)"
}

problems contains _problem(concat(".", ["regimes", name, "designation_lists"]), entry, "is not a list id") if {
	some name, definition in _definitions
	some entry in _list_of(definition, "designation_lists")
	not _is_list_id(entry)
}

problems contains _problem(concat(".", ["regimes", name]), name, message) if {
	some name, definition in _definitions
	message := "restricts nothing: give restricted_regions or designation_lists"
	is_array(object.get(definition, "restricted_regions", null))
	is_array(object.get(definition, "designation_lists", null))
	count(definition.restricted_regions) + count(definition.designation_lists) == 0
}

problems contains _problem(concat(".", ["regimes", name, "aggregation"]), "per_owner", message) if {
	some name, definition in _definitions
	object.get(definition, "aggregation", null) == "per_owner"
	object.get(definition, "method", null) != "control"
	message := "is defined on the control fixpoint (each owner's least fixpoint alone): needs method control"
}

problems contains _problem(concat(".", ["regimes", name, "in_force"]), window, message) if {
	some name, definition in _definitions
	some window in _list_of(definition, "in_force")
	not _is_window(window)
	message := `is not a window {"from": "YYYY-MM-DD", "until"?: "YYYY-MM-DD" (after from), "source", "title"?}`
}

_regime_checks := {
	"title": "is not a title (a non-blank string)",
	"restricted_regions": "is not a list of codes",
	"designation_lists": "is not a list of list ids",
	"ownership_threshold": "is not a percent in [0, 100]",
	"threshold_comparison": `is not one of ">", ">="`,
	"aggregation": `is not one of "combined", "per_owner"`,
	"method": `is not one of "control", "look_through", "either"`,
	"in_force": "is not a list of windows",
}

default _is_valid_regime_field(_, _) := false

_is_valid_regime_field("title", value) if _is_text(value)

_is_valid_regime_field("restricted_regions", value) if is_array(value)

_is_valid_regime_field("designation_lists", value) if is_array(value)

_is_valid_regime_field("ownership_threshold", value) if is_percent(value)

_is_valid_regime_field("threshold_comparison", value) if value in {">", ">="}

_is_valid_regime_field("aggregation", value) if value in _aggregations

_is_valid_regime_field("method", value) if value in object.keys(_methods_for)

# Optional: absent (null) means always in force.
_is_valid_regime_field("in_force", null)

_is_valid_regime_field("in_force", value) if is_array(value)

_is_regime_name(name) if {
	is_string(name)
	regex.match(`^[a-z0-9][a-z0-9-]{0,62}$`, name)
	name != "all"
}

_is_list_id(value) if {
	is_string(value)
	regex.match(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`, value)
}

_is_window(window) if {
	is_object(window)
	every key in object.keys(window) {
		key in _window_keys
	}
	is_date(object.get(window, "from", null))
	_is_text(object.get(window, "source", null))
	_is_optional_text(object.get(window, "title", null))
	_is_until(window.from, object.get(window, "until", null))
}

_is_until(_, null)

_is_until(from, until) if {
	is_date(until)
	from < until
}

_is_optional_text(null)

_is_optional_text(value) if _is_text(value)

_list_of(definition, key) := definition[key] if {
	is_array(definition[key])
} else := []

# METADATA
# title: Regimes
# description: |
#   Every regime, the default first and then by name: {"name", "title", "restricted_regions"
#   (upper case, sorted), "designation_lists" (sorted), "threshold", "comparison", "aggregation",
#   "method", "in_force" (windows {"from", "until", "source", "title"} by date; none: always in
#   force)}. Undefined when the config is invalid.
regimes := [regime |
	some name in array.concat([default_regime], sort(object.keys(_definitions)))
	regime := _regime(name)
] if is_valid

_regime(name) := {
	"name": name,
	"title": "Restricted regions (the top-level parameters)",
	"restricted_regions": sort(regions),
	"designation_lists": [],
	"threshold": config.ownership_threshold,
	"comparison": config.threshold_comparison,
	"aggregation": "combined",
	"method": config.method,
	"in_force": [],
} if {
	name == default_regime
} else := {
	"name": name,
	"title": definition.title,
	"restricted_regions": sort({upper(code) | some code in definition.restricted_regions}),
	"designation_lists": sort({list | some list in definition.designation_lists}),
	"threshold": definition.ownership_threshold,
	"comparison": definition.threshold_comparison,
	"aggregation": definition.aggregation,
	"method": definition.method,
	"in_force": [window |
		some [_, window] in sort({[w.from, _normal_window(w)] | some w in object.get(definition, "in_force", [])})
	],
} if {
	definition := _definitions[name]
}

_normal_window(w) := {
	"from": w.from,
	"until": object.get(w, "until", null),
	"source": w.source,
	"title": object.get(w, "title", null),
}

# METADATA
# title: Regime policies
# description: |
#   {name: policy} for every regime: params.policy with the regime's regions, threshold, method,
#   and its "regime" (name, title, aggregation, designation lists as a set, windows). What the
#   side-by-side decisions (stakegate.side_by_side) pass to the rule packages.
regime_policies := {regime.name: _regime_policy(regime) | some regime in regimes}

_regime_policy(regime) := object.union(policy, {
	"method": regime.method,
	"methods": _methods_for[regime.method],
	"threshold": threshold.limits({
		"value": regime.threshold,
		"comparison": regime.comparison,
		"tolerance": config.percent_tolerance,
	}),
	"regions": {code | some code in regime.restricted_regions},
	"regime": {
		"name": regime.name,
		"title": regime.title,
		"aggregation": regime.aggregation,
		"designation_lists": {list | some list in regime.designation_lists},
		"in_force": regime.in_force,
	},
})
