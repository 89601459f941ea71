#!/usr/bin/env bats
# Two hosts on a real 3-member etcd cluster, struck at random: ticks
# killed (a stage, or the whole tick with its lease), a host paused past
# its lease, an etcd member and the leader killed, a host half-dead (no
# provider reachable) for a while; every delivery compared
# with an undisturbed one-host run on files (the short version; see
# t/etcdfault.sh for the long one, and its figures in the closing note of
# issue 14).

load test_helper
bats_require_minimum_version 1.5.0

@test "two hosts on etcd, struck at random: no page lost, doubles only where a kill fell between an answer and its done mark" {
	# Under make check SANITIZE=1 6 minutes, not 10: the sanitizers see
	# every stage, on etcd, killed and run again, in the first minutes.
	m=10
	[ "${SANITIZE:-}" != 1 ] || m=6
	# Its standard error has bash's word on each tick it killed.
	run --separate-stderr "$ESC_SRC/t/etcdfault.sh" -m "$m" -a 5 -k 50 -p 15 -e 30 -H 20 -s 1414
	assert_success
	assert_output --regexp "^etcdfault: seed 1414: $m minutes on two hosts, [0-9]+ kills .*, [0-9]+ half-dead periods, [0-9]+ deliveries checked, 0 lost, [0-9]+ doubled, .*, 0 keys left in etcd"
}
