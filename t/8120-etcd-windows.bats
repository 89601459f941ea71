#!/usr/bin/env bats
# Windows in which a second host could double or lose work (issue 21),
# each shown closed on a real 3-member etcd cluster (t/etcd.bash), with
# the state on its default prefix.

load test_helper
load etcd
load fixtures/route/helpers

setup() {
	ST="$BATS_TEST_TMPDIR/state"
	export ST
	each_policy
	etcd_start 3
}

teardown() {
	etcd_stop
}

# outbox: the records in the outbox, oldest key first (read, not taken).
outbox() {
	local d=$BATS_TEST_TMPDIR/ob.$RANDOM
	mkdir "$d"
	esc-route --outbox "$d" || return
	cat "$d"/outbox.*.ndjson
}

@test "on etcd: a transaction etcd applied whose answer was lost, sent again, is the run's own: exit 0, the inputs taken, each record once" {
	in=$BATS_TEST_TMPDIR/in
	alert DBDown critical firing 0 >"$in"
	: >"$BATS_TEST_TMPDIR/inflight"
	run esc-lock -w 10 -- env ESC_FAILPOINT=etcd-txn-replay \
	    esc-route --now "$(tm 0)" --inflight "$BATS_TEST_TMPDIR/inflight" "$in"
	assert_success
	assert_output ""
	# Taken: esc-tick does not read the inputs again next tick.
	[ ! -e "$BATS_TEST_TMPDIR/inflight" ]
	run outbox
	assert_success
	assert_equal "$(jq -r 'select(.type == "incident") | .event' <<<"$output")" opened
	# Each record once: the batch was not written twice.
	assert_equal "$(sort <<<"$output" | uniq -d)" ""
	assert_equal "$(jq -r 'select(.type == "page") | "\(.level) \(.event)"' <<<"$output" | sort -u)" "1 trigger"
	inc=$(jq -r 'select(.type == "incident") | .incident' <<<"$output")
	# The ack of the next tick is applied once, and journaled once.
	event ack incident "$inc" 1 >"$in"
	: >"$BATS_TEST_TMPDIR/inflight"
	run esc-lock -w 10 -- env ESC_FAILPOINT=etcd-txn-replay \
	    esc-route --now "$(tm 1)" --inflight "$BATS_TEST_TMPDIR/inflight" "$in"
	assert_success
	[ ! -e "$BATS_TEST_TMPDIR/inflight" ]
	run outbox
	assert_equal "$(jq -r 'select(.type == "incident") | .event' <<<"$output" | sort | uniq -c | awk '{print $2 "=" $1}' | paste -sd' ')" "acked=1 opened=1"
}

# many N: N alerts firing at minute 0, each its own incident.
many() {
	jq -nc --arg start "$(tm 0)" --argjson n "$1" 'range($n) | "db\(.)" as $i |
	    {type: "alert", id: "DBDown-\($i)", name: "DBDown",
	    status: "firing", severity: "warning", starts_at: $start,
	    ends_at: null,
	    labels: {alertname: "DBDown", instance: $i, severity: "warning"},
	    annotations: {summary: "DBDown on \($i)"},
	    summary: "DBDown on \($i)", runbook: null, hygiene: [],
	    why: "test", source: "test"}'
}

@test "on etcd: --export-state reads the state at one revision, though a tick commits between two of its pages" {
	# More incidents than one page of a range (2000 keys).
	many 2100 | esc-route --now "$(tm 0)"
	esc-route --export-state >"$BATS_TEST_TMPDIR/before"
	assert_equal "$(grep -c '^[0-9a-f]\{16\}	' "$BATS_TEST_TMPDIR/before")" 2100
	# The export stops itself after its first page.
	ESC_FAILPOINT=etcd-range-pause esc-route --export-state \
	    >"$BATS_TEST_TMPDIR/during" &
	pid=$!
	for ((i = 0; i < 200; i++)); do
		[ "$(ps -o stat= -p "$pid" | cut -c1)" != T ] || break
		sleep 0.05
	done
	assert_equal "$(ps -o stat= -p "$pid" | cut -c1)" T
	# A tick acks the first incident and the last: one in each page.
	first=$(grep -m1 -o '^[0-9a-f]\{16\}' "$BATS_TEST_TMPDIR/before")
	last=$(grep -o '^[0-9a-f]\{16\}' "$BATS_TEST_TMPDIR/before" | tail -1)
	{ event ack incident "$first" 1; event ack incident "$last" 1; } |
	    esc-lock -w 10 -- esc-route --now "$(tm 1)"
	kill -CONT "$pid"
	wait "$pid"
	# The state as it was before the tick, not half of each.
	run diff "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/during"
	assert_success
	# And the tick's, read after it, has both acks.
	esc-route --export-state >"$BATS_TEST_TMPDIR/after"
	run diff "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
	assert_failure
	assert_equal "$(diff "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after" | grep -c '^>')" 2
}
