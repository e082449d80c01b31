# METADATA
# title: Result objects
# description: |
#   The one package that builds reason and decision objects, so the shape the Python side parses
#   (schemas/decision.schema.json) is defined in exactly one place. Reason rules pass their own
#   annotations (rego.metadata.rule()), whose custom code and severity name the reason.
package stakegate.result

# METADATA
# title: Reason
# description: A reason object with the code and severity of the rule whose `annotations` are given.
reason(annotations, details) := object.union(details, {
	"code": annotations.custom.code,
	"severity": annotations.custom.severity,
})

# METADATA
# title: Outcome
# description: |
#   allow when an exception applies; otherwise deny if any reason has severity deny, allow if
#   every reason has severity info (or there are none), else review: a reason with severity
#   review, or one without a known severity, or reasons that cannot be read fail closed to review.
default outcome(_, _) := "review"

outcome(reasons, is_excepted) := "allow" if {
	is_excepted == true
} else := "allow" if {
	reasons == []
} else := "deny" if {
	_has_severity(reasons, "deny")
} else := "allow" if {
	is_array(reasons)
	every r in reasons {
		r.severity == "info"
	}
}

# METADATA
# title: Clear
# description: True when `reasons` alone, without exceptions, allow.
is_clear(reasons) if outcome(reasons, false) == "allow"

# METADATA
# title: Decision
# description: One decision object, as in docs/ARCHITECTURE.md "OPA output" (less policy.revision).
decision(entity_id, reasons, is_excepted, ownership, policy) := {
	"entity": entity_id,
	"decision": outcome(reasons, is_excepted),
	"reasons": reasons,
	"ownership": ownership,
	"policy": {
		"method": policy.method,
		"threshold": policy.threshold.value,
		"comparison": policy.threshold.comparison,
	},
}

_has_severity(reasons, severity) if {
	some r in reasons
	r.severity == severity
}
