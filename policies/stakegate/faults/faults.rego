# METADATA
# title: Data-fault rules
# description: |
#   Reasons from faults in the registry data of one entity (facts.faults, sent by the engine when
#   it screens with --data-faults review): self-ownership, duplicate holdings, owners holding more
#   than 100 percent between them, or a closed ownership cycle. The entity's shares cannot be
#   trusted, so it gets review with the faults as details.
package stakegate.faults

import data.stakegate.result

# METADATA
# title: Fault reasons
# description: The reasons of this package for one entity's facts (a data_fault reason, or none).
reasons(facts) := [r | r := data_fault(facts)]

# METADATA
# title: Data fault
# description: The entity's registry data has faults (facts.faults is not empty), given as details.
# custom:
#   code: data_fault
#   severity: review
data_fault(facts) := result.reason(rego.metadata.rule(), {"faults": facts.faults}) if {
	is_array(facts.faults)
	count(facts.faults) > 0
}
