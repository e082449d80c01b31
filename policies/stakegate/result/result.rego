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
decision(entity_id, reasons, is_excepted, ownership, policy) := object.union(
	allowed(entity_id, ownership, policy_summary(policy)),
	{"decision": outcome(reasons, is_excepted), "reasons": reasons},
)

# METADATA
# title: Allowed
# description: |
#   The decision without reasons, decision(entity_id, [], false, ownership, policy) where
#   `summary` is policy_summary(policy): computed once per query rather than once per entity.
#   The one place that spells out the decision object; `decision` replaces its outcome and reasons.
allowed(entity_id, ownership, summary) := {
	"entity": entity_id,
	"decision": "allow",
	"reasons": [],
	"ownership": ownership,
	"policy": summary,
}

# METADATA
# title: Policy summary
# description: The "policy" member of every decision under `policy` (params.policy).
policy_summary(policy) := {
	"method": policy.method,
	"threshold": policy.threshold.value,
	"comparison": policy.threshold.comparison,
}

_has_severity(reasons, severity) if {
	some r in reasons
	r.severity == severity
}
