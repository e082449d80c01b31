# METADATA
# title: Exceptions
# description: |
#   Reviewed allowlist entries from params (config `exceptions`): {entity, reason, approver,
#   expires: YYYY-MM-DD}. An entry applies through its expiry date (expires >= as_of); an expired
#   entry changes nothing and is reported. Without a valid as_of no entry applies (fail closed).
package stakegate.exceptions

import data.stakegate.params
import data.stakegate.result

# METADATA
# title: Exception applied
# description: An unexpired exception for this entity turns its deny or review into allow.
# custom:
#   code: exception_applied
#   severity: info
applied(entity_id, as_of, entries) := [result.reason(annotations, _details(e)) |
	some e in _entries_for(entity_id, as_of, entries)
	e.expires >= as_of
] if {
	annotations := rego.metadata.rule()
}

# METADATA
# title: Exception expired
# description: An expired exception for this entity; reported, ignored.
# custom:
#   code: exception_expired
#   severity: info
expired(entity_id, as_of, entries) := [result.reason(annotations, _details(e)) |
	some e in _entries_for(entity_id, as_of, entries)
	e.expires < as_of
] if {
	annotations := rego.metadata.rule()
}

# METADATA
# title: Exceptions by entity
# description: |
#   {entity id: {"applied": applied(...), "expired": expired(...)}} for every entity that has an
#   entry: computed once per query, so that each decision only looks its entity up.
by_entity(as_of, entries) := {entity_id: {
	"applied": applied(entity_id, as_of, entries),
	"expired": expired(entity_id, as_of, entries),
} |
	some entry in entries
	entity_id := entry.entity
}

_entries_for(entity_id, as_of, entries) := [e |
	params.is_date(as_of)
	some e in entries
	e.entity == entity_id
]

_details(entry) := object.filter(entry, ["reason", "approver", "expires"])
