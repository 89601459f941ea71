#!/usr/bin/env bats
# The etcd cluster the tests of issue 14 run esc against (t/etcd.bash):
# three real members on 127.0.0.1, seen as a user of etcd sees them.  Each
# test starts a cluster of its own and kills it in teardown.

load test_helper
load etcd

setup() {
	etcd_start 3
}

teardown() {
	etcd_stop
}

# put_via I KEY VALUE: a put through member I alone.
put_via() {
	etcdctl_ --endpoints="${ETCD_URL[$1]}" --command-timeout=2s put -- "$2" "$3"
}

# get_local I KEY: member I's own copy of KEY (a serializable read: no
# round to the leader, so it shows what that member has applied).
get_local() {
	etcdctl_ --endpoints="${ETCD_URL[$1]}" --command-timeout=2s \
	    get --consistency=s --print-value-only -- "$2"
}

# has_local I KEY VALUE: member I holds KEY=VALUE.
has_local() {
	[ "$(get_local "$1" "$2" 2>/dev/null)" = "$3" ]
}

# no_leader: no member says it leads.
no_leader() {
	! etcd_leader >/dev/null
}

# leader_of I: the leader member I names, as an index (0: none known).
leader_of() {
	_etcd_stat "$1" && _etcd_index "$ETCD_SLEADER" || echo 0
}

# agreed: every running member names the same leader, one of them.
agreed() {
	local l
	l=$(etcd_leader) && all_name "$l"
}

# all_name I: every running member names member I its leader.
all_name() {
	local i
	for ((i = 1; i <= ETCD_N; i++)); do
		[ -z "${ETCD_PID[$i]}" ] || [ "$(leader_of "$i")" = "$1" ] || return 1
	done
}

@test "three members answer /health and name one leader, one of them" {
	assert_equal "$ESC_ETCD_ENDPOINTS" "${ETCD_URL[1]},${ETCD_URL[2]},${ETCD_URL[3]}"
	for i in 1 2 3; do
		assert_regex "${ETCD_URL[$i]}" '^http://127\.0\.0\.1:[0-9]+$'
		run curl -s --max-time 2 "${ETCD_URL[$i]}/health"
		assert_output '{"health":"true"}'
	done
	run etcdctl_ member list
	assert_success
	assert_equal "$(grep -c ', started, m[123], http://127.0.0.1:' <<<"$output")" 3
	# (An election may come between two looks on a loaded machine.)
	wait_until agreed
	assert_regex "$(etcd_leader)" '^[123]$'
	# The ids etcd_start noted are the members' own.
	# (etcdctl's JSON has them as numbers, past what jq keeps exact:
	# its table, in hex.)  One says it leads.
	run etcdctl_ endpoint status
	assert_success
	assert_equal "$(cut -d, -f2 <<<"$output" | tr -d ' ' | sort)" \
	    "$(printf '%x\n' "${ETCD_ID[@]}" | sort)"
	assert_equal "$(cut -d, -f5 <<<"$output" | grep -c true)" 1
}

@test "a key put through one member is read through another, and the gateway" {
	run put_via 1 /esc-test/k 'hello etcd'
	assert_success
	assert_output OK
	run etcdctl_ --endpoints="${ETCD_URL[3]}" get --print-value-only /esc-test/k
	assert_output 'hello etcd'
	wait_until has_local 2 /esc-test/k 'hello etcd'
	# The JSON gateway esc speaks: keys and values in base64.
	run curl -s --max-time 2 -X POST -d "{\"key\":\"$(printf /esc-test/k | base64)\"}" \
	    "${ETCD_URL[2]}/v3/kv/range"
	assert_equal "$(jq -r '.kvs[0].value | @base64d' <<<"$output")" 'hello etcd'
	put_via 2 /esc-test/j 2 >/dev/null
	run etcd_keys /esc-test/
	assert_output "$(printf '%s\n' /esc-test/j /esc-test/k)"
	run etcd_get /esc-test/j
	assert_output 2
	run etcd_get /esc-test/none
	assert_success
	assert_output ''
}

@test "the leader killed: another is elected within 5 s, puts go on, it rejoins" {
	old=$(etcd_leader)
	t0=${EPOCHREALTIME//[.,]/}
	etcd_stop_member "$old"
	etcd_wait_leader 5
	ms=$(((${EPOCHREALTIME//[.,]/} - t0) / 1000))
	echo "# failover in $ms ms" >&3
	new=$(etcd_leader)
	[ "$new" != "$old" ]
	run etcdctl_ --command-timeout=2s put /esc-test/after failover
	assert_success
	# Back on its ports and data directory: the same member, caught up,
	# a follower of the new leader.
	id=${ETCD_ID[$old]}
	etcd_start_member "$old"
	run etcd_status "$old"
	assert_output --regexp "^$id "
	wait_until has_local "$old" /esc-test/after failover
	wait_until agreed
}

@test "two of three stopped: a put fails for want of quorum; one back: it succeeds" {
	etcd_stop_member 1
	etcd_stop_member 2 TERM
	# The last one steps down once it hears from no one.
	_etcd_until 3 no_leader
	run etcdctl_ --command-timeout=2s put /esc-test/q lost
	assert_failure
	assert_output --regexp 'Error: .*(request timed out|context deadline exceeded)'
	run curl -s --max-time 2 "${ETCD_URL[3]}/health"
	assert_output --partial '"health":"false"'
	etcd_start_member 2
	etcd_wait_leader 3
	run etcdctl_ --command-timeout=2s put /esc-test/q back
	assert_success
	run etcd_get /esc-test/q
	assert_output back
}

@test "a leader paused (SIGSTOP) is replaced; continued (SIGCONT), it follows and catches up" {
	old=$(etcd_leader)
	etcd_pause_member "$old"
	etcd_wait_leader 3
	new=$(etcd_leader)
	[ "$new" != "$old" ]
	run etcdctl_ --command-timeout=2s put /esc-test/p while-paused
	assert_success
	# Paused, it answers nothing.
	run curl -s --max-time 1 "${ETCD_URL[$old]}/health"
	assert_failure
	etcd_resume_member "$old"
	wait_until etcd_healthy "$old"
	wait_until has_local "$old" /esc-test/p while-paused
	wait_until agreed
}

@test "etcd_stop leaves no member behind, paused or stopped" {
	pids=("${ETCD_PID[@]}")
	ports=()
	for i in 1 2 3; do ports+=("${ETCD_URL[$i]##*:}" "${ETCD_PEER[$i]##*:}"); done
	etcd_pause_member 2
	etcd_stop_member 3 TERM
	etcd_stop
	for p in "${pids[@]}"; do
		run kill -0 "$p"
		assert_failure
	done
	for p in "${ports[@]}"; do
		run port_open "$p"
		assert_failure
	done
	# Twice is no error.
	etcd_stop
}

# What esc's tick lock must allow for: etcd 3.4 does not carry a lease's
# remaining time over to a new leader, which grants each lease its whole
# TTL again.  A lock left by a host that died is free after at most TTL,
# or twice that and an election when the leader dies meanwhile.
@test "a leader's death gives a lease its whole TTL again; then its key goes with it" {
	run etcdctl_ lease grant 3
	assert_output --regexp '^lease [0-9a-f]+ granted with TTL\(3s\)$'
	t0=${EPOCHREALTIME//[.,]/}
	etcdctl_ put --lease="$(cut -d' ' -f2 <<<"$output")" /esc-test/lock b >/dev/null
	sleep 0.5
	assert_equal "$(etcd_get /esc-test/lock)" b
	etcd_stop_member "$(etcd_leader)"
	etcd_wait_leader 5
	# Past its TTL since the grant, and there still.
	ms=$(((t0 + 3500000 - ${EPOCHREALTIME//[.,]/}) / 1000))
	[ "$ms" -le 0 ] || sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
	[ $((${EPOCHREALTIME//[.,]/} - t0)) -gt 3000000 ]
	assert_equal "$(etcd_get /esc-test/lock)" b
	wait_until eval '[ -z "$(etcd_get /esc-test/lock)" ]'
	echo "# a 3 s lease across a leader's death: gone after $(((${EPOCHREALTIME//[.,]/} - t0) / 1000)) ms" >&3
}
