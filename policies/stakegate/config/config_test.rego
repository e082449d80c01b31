package stakegate.config_test

import data.stakegate.params

# The shipped values are the policy author's to change (the tests set the parameters they rely
# on); whatever they are, they must be valid, or the policy cannot decide at all.
test_shipped_config_is_valid if {
	params.problems == set()
}
