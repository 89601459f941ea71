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
