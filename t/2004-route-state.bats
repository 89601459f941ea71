#!/usr/bin/env bats
# esc-route's state file: permissions, format version, corruption, the
# lock, a run killed half-way, output that cannot be written.

load test_helper
load fixtures/route/helpers

@test "no state file named is a usage error; ESC_STATE names it" {
	run esc-route --now "$(tm 0)" </dev/null
	assert_failure 2
	assert_line --index 0 'esc-route: no state file: give -s or set ESC_STATE'
	assert_line --index 1 --partial 'usage: esc-route [-p policy] -s state'
	ESC_STATE=$ST run esc-route --now "$(tm 0)" <<<"$(alert StemeDBAPIDown critical firing 0)"
	assert_success
	[ -f "$ST" ]
}

@test "the state is owner-only, versioned, and the lock file beside it too" {
	umask 022
	route 0 <<<"$(alert StemeDBAPIDown critical firing 0)" >/dev/null
	assert_equal "$(stat -c %a "$ST")" 600
	assert_equal "$(stat -c %a "$ST.lock")" 600
	assert_equal "$(head -1 "$ST")" 'esc-route-state 3'
	# The incident and the seed of the SMS codes.
	assert_equal "$(tail -1 "$ST")" 'end 2'
	# No temporary file is left behind.
	assert_equal "$(ls "$BATS_TEST_TMPDIR" | grep -c tmp)" 0
}

@test "a corrupt state is an error naming the file, and is left as it was" {
	route 0 <<<"$(alert StemeDBAPIDown critical firing 0)" >/dev/null
	cp "$ST" "$BATS_TEST_TMPDIR/good"
	sed -i '2s/\t/ /' "$ST"
	cp "$ST" "$BATS_TEST_TMPDIR/bad"
	run route 10 <<<"$(alert StemeDBAPIDown critical firing 0)"
	assert_failure 2
	assert_output "esc-route: $ST:2: corrupt state"
	cmp "$ST" "$BATS_TEST_TMPDIR/bad"
	# Cut short: the end line is missing.
	head -2 "$BATS_TEST_TMPDIR/good" >"$ST"
	refuses_state 10 "esc-route: $ST: corrupt state: truncated (no end line)"
	# Not a state file at all, or a newer format.
	echo '{"hello": 1}' >"$ST"
	refuses_state 10 "esc-route: $ST:1: not an esc-route state file"
	sed '1s/ 3$/ 9/' "$BATS_TEST_TMPDIR/good" >"$ST"
	refuses_state 10 "esc-route: $ST:1: state format 9, this esc-route reads 1 to 3"
	: >"$ST"
	refuses_state 10 "esc-route: $ST: corrupt state: empty file"
	# Labels that are not a JSON object would go into records as they are.
	sed '2s/{"alertname":/{"alertname"/' "$BATS_TEST_TMPDIR/good" >"$ST"
	grep -q '{"alertname""' "$ST"
	refuses_state 10 "esc-route: $ST:2: corrupt state"
	# Text that is not UTF-8 would go into pages every reader refuses
	# (found by t/fuzz/fuzz-state): in the summary, and in the labels.
	sed '2s/StemeDBAPIDown on/StemeDBAPIDown \xff on/' "$BATS_TEST_TMPDIR/good" >"$ST"
	grep -q $'\xff on' "$ST"
	refuses_state 10 "esc-route: $ST:2: corrupt state"
	# An object with more after it (found by t/fuzz/fuzz-state).
	sed '2s/"severity":"critical"}\t/"severity":"critical"}ations":\t/' "$BATS_TEST_TMPDIR/good" >"$ST"
	grep -q 'critical"}ations":'$'\t' "$ST"
	refuses_state 10 "esc-route: $ST:2: corrupt state"
	sed '2s/"instance":"db1"/"instance":"db\xc0\xaf"/' "$BATS_TEST_TMPDIR/good" >"$ST"
	grep -q $'db\xc0' "$ST"
	refuses_state 10 "esc-route: $ST:2: corrupt state"
}

@test "output that cannot be written: exit 1 and the state is not committed" {
	run bash -c 'source "$ESC_SRC/t/fixtures/route/helpers.bash"; ST='"$ST"' route 0 <<<"$(alert StemeDBAPIDown critical firing 0)" >/dev/full'
	assert_failure 1
	assert_output --partial 'esc-route: standard output: '
	assert_output --partial '; state not updated'
	[ ! -e "$ST" ]
	# The next run that can write sends the pages.
	run route 1 <<<"$(alert StemeDBAPIDown critical firing 0)"
	assert_success
	assert_equal "$(jq -r 'select(.type == "page") | .level' <<<"$output" | uniq)" 1
}

@test "two routers started at once on one state file produce each page once" {
	route 0 <<<"$(alert StemeDBAPIDown critical firing 0)" >/dev/null
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	# The first holds the lock while it waits for its input.
	esc-route -s "$ST" --now "$(tm 16)" "$BATS_TEST_TMPDIR/fifo" >"$BATS_TEST_TMPDIR/out1" &
	p1=$!
	BG_PIDS="$p1"
	exec 5>"$BATS_TEST_TMPDIR/fifo"
	wait_until lock_held
	esc-route -s "$ST" --now "$(tm 16)" </dev/null >"$BATS_TEST_TMPDIR/out2" 5>&- &
	p2=$!
	BG_PIDS="$p1 $p2"
	sleep 0.3
	# The second waits for the lock: it has written nothing yet.
	kill -0 "$p2"
	[ ! -s "$BATS_TEST_TMPDIR/out2" ]
	alert StemeDBAPIDown critical firing 0 >&5
	exec 5>&-
	wait "$p1"
	wait "$p2"
	BG_PIDS=
	run jq -r 'select(.type == "page") | .dedup_key' "$BATS_TEST_TMPDIR/out1" "$BATS_TEST_TMPDIR/out2"
	assert_equal "$(wc -l <<<"$output")" 3
	assert_equal "$(sort <<<"$output" | uniq -d)" ""
	[ ! -s "$BATS_TEST_TMPDIR/out2" ]
}

@test "a lock held too long is work failed (exit 1) after --lock-timeout seconds" {
	route 0 </dev/null >/dev/null
	hold_lock
	SECONDS=0
	run route 1 --lock-timeout 1 <<<"$(alert StemeDBAPIDown critical firing 0)"
	assert_failure 1
	assert_output "esc-route: $ST.lock: still locked by another run after 1 s"
	[ "$SECONDS" -le 5 ]
	[ ! -e "$ST" ] || ! grep -q StemeDBAPIDown "$ST"
}

@test "kill -9 during a run leaves the old state whole; the next run sends what was due" {
	route 0 <<<"$(alert StemeDBAPIDown critical firing 0)" >/dev/null
	cp "$ST" "$BATS_TEST_TMPDIR/before"
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	esc-route -s "$ST" --now "$(tm 6)" "$BATS_TEST_TMPDIR/fifo" >"$BATS_TEST_TMPDIR/killed" &
	p=$!
	BG_PIDS="$p"
	exec 5>"$BATS_TEST_TMPDIR/fifo"
	alert StemeDBAPIDown critical firing 0 >&5
	sleep 0.3
	kill -9 "$p"
	wait "$p" 2>/dev/null || true
	BG_PIDS=
	exec 5>&-
	cmp "$ST" "$BATS_TEST_TMPDIR/before"
	run route 6 </dev/null
	assert_success
	assert_equal "$(jq -r 'select(.type == "page") | "\(.level) \(.channel)"' <<<"$output")" \
	    "$(printf '%s\n' '2 pagerduty' '2 slack')"
}

@test "a state readable by others is rewritten owner-only, with a warning" {
	route 0 <<<"$(alert StemeDBAPIDown critical firing 0)" >/dev/null
	chmod 644 "$ST"
	run route 5 </dev/null
	assert_success
	assert_line --index 0 "esc-route: $ST: readable by others; it will be rewritten 0600"
	assert_equal "$(stat -c %a "$ST")" 600
}

@test "--inflight: removed once the state is committed and every file read whole; left when the run took nothing" {
	M=$BATS_TEST_TMPDIR/inflight
	alert StemeDBAPIDown critical firing 0 >"$BATS_TEST_TMPDIR/a"
	# Committed, and nothing to commit: removed.
	: >"$M"
	route 0 --inflight "$M" "$BATS_TEST_TMPDIR/a" >/dev/null
	[ ! -e "$M" ]
	: >"$M"
	route 0 --inflight "$M" </dev/null >/dev/null
	[ ! -e "$M" ]
	# A refused line, the rest committed: exit 1, removed all the same.
	: >"$M"
	run route 1 --inflight "$M" <<<'{"type":"ack","by":"bob","at":"x"}'
	assert_failure 1
	[ ! -e "$M" ]
	# The output not written: left.
	: >"$M"
	run bash -c 'source "$ESC_SRC/t/fixtures/route/helpers.bash"; ST='"$ST"' route 6 --inflight '"$M"' "$1" >/dev/full' _ "$BATS_TEST_TMPDIR/a"
	assert_failure 1
	[ -e "$M" ]
	# A file that cannot be read: left.
	run route 6 --inflight "$M" "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/none"
	assert_failure 1
	[ -e "$M" ]
	# The lock not had: left.
	hold_lock
	run route 6 --lock-timeout 1 --inflight "$M" "$BATS_TEST_TMPDIR/a"
	assert_failure 1
	[ -e "$M" ]
}
