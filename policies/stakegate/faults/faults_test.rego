package stakegate.faults_test

import data.stakegate.faults

_fault := {
	"kind": "oversubscribed",
	"records": ["ownership[0] (a -> b)", "ownership[1] (c -> b)"],
	"message": "owners of 'b' hold at least 110 percent between them, more than 100",
	"details": {"total_percent": 110, "exclusive": false},
}

test_data_fault_with_faults if {
	faults.data_fault({"id": "b", "faults": [_fault]}) == {"code": "data_fault", "severity": "review", "faults": [_fault]}
}

test_reasons_with_faults if {
	faults.reasons({"id": "b", "faults": [_fault]}) == [{"code": "data_fault", "severity": "review", "faults": [_fault]}]
}

test_reasons_without_faults if {
	faults.reasons({"id": "b"}) == []
	faults.reasons({"id": "b", "faults": []}) == []
	faults.reasons({"id": "b", "faults": null}) == []
}
