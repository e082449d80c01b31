package stakegate.exceptions_test

import data.stakegate.exceptions

_entries := [
	{"entity": "acme-sg", "reason": "licence GL-25", "approver": "legal", "expires": "2026-12-31"},
	{"entity": "acme-sg", "reason": "old waiver", "approver": "cfo", "expires": "2025-01-31"},
	{"entity": "other", "reason": "waiver", "approver": "legal", "expires": "2027-01-01"},
]

_reason(code, entry) := {
	"code": code, "severity": "info",
	"reason": entry.reason, "approver": entry.approver, "expires": entry.expires,
}

test_reason_helper if {
	_reason("exception_expired", _entries[1]) == {
		"code": "exception_expired", "severity": "info",
		"reason": "old waiver", "approver": "cfo", "expires": "2025-01-31",
	}
}

test_applied_unexpired if {
	exceptions.applied("acme-sg", "2026-11-27", _entries) == [
		_reason("exception_applied", _entries[0]),
	]
}

test_applied_on_expiry_date if {
	exceptions.applied("acme-sg", "2026-12-31", _entries) == [
		_reason("exception_applied", _entries[0]),
	]
}

test_applied_none_after_expiry if {
	exceptions.applied("acme-sg", "2027-01-01", _entries) == []
}

test_applied_other_entity if {
	exceptions.applied("nobody", "2026-11-27", _entries) == []
}

test_applied_missing_as_of if {
	exceptions.applied("acme-sg", null, _entries) == []
	exceptions.applied("acme-sg", "27/11/2026", _entries) == []
}

test_expired_reported if {
	exceptions.expired("acme-sg", "2026-11-27", _entries) == [
		_reason("exception_expired", _entries[1]),
	]
}

test_expired_both_after_expiry if {
	exceptions.expired("acme-sg", "2027-01-01", _entries) == [
		_reason("exception_expired", _entries[0]),
		_reason("exception_expired", _entries[1]),
	]
}

test_expired_missing_as_of if {
	exceptions.expired("acme-sg", null, _entries) == []
}

test_by_entity if {
	exceptions.by_entity("2026-11-27", _entries) == {
		"acme-sg": {
			"applied": [_reason("exception_applied", _entries[0])],
			"expired": [_reason("exception_expired", _entries[1])],
		},
		"other": {"applied": [_reason("exception_applied", _entries[2])], "expired": []},
	}
	exceptions.by_entity("2026-11-27", []) == {}
}
