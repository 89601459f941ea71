#!/usr/bin/env bats
# esc-notify --spool: durable deliveries, recovery after kill -9, no
# delivery twice, a lock against a second run.

load test_helper
load fixtures/notify/helper
bats_require_minimum_version 1.5.0

setup() {
	notify_setup
	# 30 webhook pages, dedup keys ...-1 to ...-30: 3 jq runs, not 60.
	page webhook | jq -c '. as $p | range(1; 31) | . as $i | $p |
	    .dedup_key += "-\($i)"' >"$BATS_TEST_TMPDIR/in"
}

teardown() {
	reap -9 ${BG:-}
	stop_servers
}

# Waits (bounded: wait_until's WAIT_SECS) until the provider has seen $1 requests.
wait_requests() {
	wait_until has_lines "$1" "$PROV_LOG"
}

# The spool is locked and holds a delivery: a run is sending.
sending() {
	[ -e "$SP/lock" ] && [ -n "$(ls "$SP/new")" ]
}

@test "a second run over the same input sends nothing new; spool files are owner-only" {
	run --separate-stderr esc-notify --spool "$SP" "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_equal "$(jq -s 'map(select(.type == "receipt" and .status == "delivered")) | length' <<<"$output")" 30
	assert_equal "$(wc -l <"$PROV_LOG")" 30
	assert_equal "$(ls "$SP/done" | wc -l) $(ls "$SP/new" | wc -l)" "30 0"
	assert_equal "$(find "$SP" -type f ! -perm 600 | wc -l)" 0
	assert_equal "$(find "$SP" -type d ! -perm 700 | wc -l)" 0
	run --separate-stderr esc-notify --spool "$SP" "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_equal "$(wc -l <"$PROV_LOG")" 30
	# The records pass through again; no receipt: nothing was delivered.
	assert_equal "$(jq -s 'map(select(.type == "receipt")) | length' <<<"$output")" 0
	assert_equal "$(jq -s 'map(select(.type == "page")) | length' <<<"$output")" 30
	# ESC_SPOOL stands for the option.
	ESC_SPOOL=$SP run --separate-stderr esc-notify "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_equal "$(wc -l <"$PROV_LOG")" 30
}

@test "kill -9 in the middle of a batch: the next run finishes it, no page lost, none doubled" {
	prov_ctl '{"mode": "slow", "latency_ms": 150}'
	esc-notify --spool "$SP" -j 2 "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out1" 2>&1 &
	BG=$!
	wait_requests 6
	kill -9 "$BG"
	wait "$BG" || true
	BG=
	sent=$(wc -l <"$PROV_LOG")
	[ "$sent" -lt 30 ]
	undone=$(ls "$SP/new" | wc -l)
	[ "$undone" -gt 0 ]
	# Every delivery was in the spool before its first try.
	assert_equal "$(( $(ls "$SP/new" | wc -l) + $(ls "$SP/done" | wc -l) ))" 30
	prov_ctl '{"mode": "clear"}'
	run --separate-stderr esc-notify --spool "$SP" "$BATS_TEST_TMPDIR/in"
	assert_success
	# The undone deliveries first, each with its receipt.
	assert_equal "$(jq -s 'map(select(.type == "receipt")) | length' <<<"$output")" "$undone"
	assert_equal "$(jq -s 'map(select(.type == "receipt" and .status == "delivered") | .dedup_key) | unique | length' <<<"$output")" "$undone"
	assert_equal "$(jq -r .type <<<"${lines[0]}")" receipt
	assert_equal "$(ls "$SP/done" | wc -l) $(ls "$SP/new" | wc -l)" "30 0"
	# No page lost: the provider processed all 30.
	assert_equal "$(jq -rs 'map(select(.status == 200) | .body | fromjson | .dedup_key) | unique | length' "$PROV_LOG")" 30
	# None doubled.  Requests in flight at the kill were abandoned (the
	# provider saw the sender gone: 499) and sent again; only one the
	# provider answered in the instant before the kill, unmarked, could
	# be processed twice: at most -j of them.
	[ "$(jq -s 'map(select(.status == 200)) | length' "$PROV_LOG")" -le 32 ]
	# And a third run sends nothing at all.
	run --separate-stderr esc-notify --spool "$SP" "$BATS_TEST_TMPDIR/in"
	assert_success
	total=$(wc -l <"$PROV_LOG")
	run --separate-stderr esc-notify --spool "$SP" "$BATS_TEST_TMPDIR/in"
	assert_equal "$(wc -l <"$PROV_LOG")" "$total"
}

@test "two concurrent runs over one spool: every delivery made exactly once" {
	prov_ctl '{"mode": "slow", "latency_ms": 50}'
	esc-notify --spool "$SP" -j 4 "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/o1" 2>"$BATS_TEST_TMPDIR/e1" &
	p1=$!
	esc-notify --spool "$SP" -j 4 "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/o2" 2>"$BATS_TEST_TMPDIR/e2" &
	p2=$!
	BG="$p1 $p2"
	wait "$p1"
	wait "$p2"
	BG=
	assert_equal "$(wc -l <"$PROV_LOG")" 30
	assert_equal "$(jq -rs 'map(.body | fromjson | .dedup_key) | unique | length' "$PROV_LOG")" 30
	assert_equal "$(cat "$BATS_TEST_TMPDIR/o1" "$BATS_TEST_TMPDIR/o2" | jq -s 'map(select(.type == "receipt")) | length')" 30
}

@test "a locked spool: --lock-wait 0 gives up at once" {
	prov_ctl '{"mode": "slow", "latency_ms": 3000}'
	page webhook >"$BATS_TEST_TMPDIR/one"
	esc-notify --spool "$SP" "$BATS_TEST_TMPDIR/one" >/dev/null 2>&1 &
	BG=$!
	wait_requests 0
	wait_until sending || true
	run esc-notify --spool "$SP" --lock-wait 0 "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	assert_output "esc-notify: $SP/lock: still locked by another run after 0 s"
}

@test "a dead delivery is kept in dead/ and not retried by the next run" {
	channels '.retry = {"max_time": "300ms", "base": "50ms"}'
	prov_ctl '{"mode": "500"}'
	page webhook >"$BATS_TEST_TMPDIR/one"
	run --separate-stderr esc-notify --spool "$SP" "$BATS_TEST_TMPDIR/one"
	assert_failure 1
	assert_equal "$(jq -r 'select(.type == "receipt") | .status' <<<"$output")" dead
	assert_equal "$(ls "$SP/dead" | wc -l) $(ls "$SP/new" | wc -l)" "1 0"
	prov_ctl '{"mode": "clear"}'
	n=$(wc -l <"$PROV_LOG")
	run --separate-stderr esc-notify --spool "$SP" "$BATS_TEST_TMPDIR/one"
	assert_success
	assert_equal "$(wc -l <"$PROV_LOG")" "$n"
}

@test "a spool open to others is refused" {
	mkdir -m 755 "$SP"
	run esc-notify --spool "$SP" "$BATS_TEST_TMPDIR/in"
	assert_failure 2
	assert_output "esc-notify: $SP: spool open to group or others (chmod 700)"
}
