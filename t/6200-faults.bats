#!/usr/bin/env bats
# Crash safety: the pipeline killed at random moments loses and doubles
# nothing (the short version; see t/faultinject.sh for the long one).

load test_helper

@test "random SIGKILLs of the pipeline: no page lost, none doubled" {
	# Under make check SANITIZE=1 a story of 10 minutes, not 20: there
	# the stages start so slowly that the random kills nearly all strike
	# esc-tick before its first stage (13 of 15 in a 20-minute run on a
	# busy machine, 187 s of CPU), so the second 10 minutes repeat what
	# the sanitizers already saw: every stage on good and hostile input,
	# and ticks killed and run again.  The plain suite plays 20 minutes.
	m=20
	[ "${SANITIZE:-}" != 1 ] || m=10
	run "$ESC_SRC/t/faultinject.sh" -m "$m" -a 8 -k 80 -s 2026
	assert_success
	assert_output --regexp "^faultinject: seed 2026: $m runs, [0-9]+ kills .*, [0-9]+ deliveries checked, 0 lost, "
}
