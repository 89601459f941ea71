#!/usr/bin/env bats
# Crash safety: the pipeline killed at random moments loses and doubles
# nothing (the short version; see t/faultinject.sh for the long one).

load test_helper

@test "random SIGKILLs of the pipeline: no page lost, none doubled" {
	run "$ESC_SRC/t/faultinject.sh" -m 20 -a 8 -k 80 -s 2026
	assert_success
	assert_output --regexp '^faultinject: seed 2026: 20 runs, [0-9]+ kills .*, [0-9]+ deliveries checked, 0 lost, '
}
