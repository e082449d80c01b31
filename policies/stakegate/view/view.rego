# METADATA
# title: Policy view
# description: |
#   Everything the engine reads from a policy before it computes facts, in one query that needs
#   no input: whether the config is valid and why not, the effective parameters, and the region
#   of every known code. The engine reads it once per OPA start.
package stakegate.view

import data.stakegate.params
import data.stakegate.regions

# METADATA
# title: Policy view
# description: |
#   {"valid", "problems", "params", "classification", "regimes", "batch_form",
#   "batch_restricted", "batch_rounded", "batch_columns"}, defined for every config. "batch_form" is true: this
#   policy answers data.stakegate.batch.decisions, which the engine then screens with (a policy
#   built before it has no such key, and is asked entity by entity). "batch_restricted" is true: that entrypoint
#   also takes restricted groups (input.restricted; a policy built before them is sent those
#   entities whole). "batch_rounded" is true: it takes group members of seven, whose bounds may
#   be rounded outward with the exact ones beside them (batch.facts; a policy built before
#   them is sent members of six, exact). "batch_columns" is true: a group may carry members as
#   columns (input.groups[_].columns; a policy built before is sent members of seven).
#   "config_digest" is params.config_digest when the config
#   is valid (null otherwise): the engine sends it with every query, which then does not
#   validate the same config again. The view itself always validates in full.
#   "problems" lists params.problems sorted by parameter (then message), [] when valid. "params"
#   is params.effective and "classification" maps every known code (ISO 3166 and
#   user_assigned_codes, upper case) to its restricted region or null. "regimes" is
#   params.regimes (the default first), each with "restricted_codes": {code: region} for the
#   known codes its regions restrict (every other known code is clear under it). All three are
#   null when the config is invalid. A code absent from "classification" is unknown.
# entrypoint: true
policy := {
	"valid": true,
	"problems": [],
	"params": params.effective,
	"classification": regions.known_classification(params.regions, params.user_assigned_codes),
	"regimes": [object.union(regime, {"restricted_codes": _restricted_codes(regime)}) | some regime in params.regimes],
	"batch_form": true,
	"batch_restricted": true,
	"batch_rounded": true,
	"batch_columns": true,
	"config_digest": params.config_digest,
} if {
	count(params.problems) == 0
} else := {
	"valid": false,
	"problems": [problem | some [_, _, problem] in sort({[p.parameter, p.message, p] | some p in params.problems})],
	"params": null,
	"classification": null,
	"regimes": null,
	"batch_form": true,
	"batch_restricted": true,
	"batch_rounded": true,
	"batch_columns": true,
	"config_digest": null,
}

_restricted_codes(regime) := regions.restricted_classification({code | some code in regime.restricted_regions})
