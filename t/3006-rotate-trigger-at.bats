#!/usr/bin/env bats
# esc-rotate: a bad trigger_at is reported as trigger_at, not as at, and
# is not quietly replaced by at.

load test_helper
bats_require_minimum_version 1.5.0

@test "rotate: a trigger_at that is not a time is named, and the record passed on unchanged" {
	TEAM="$FIX/rotate/team.json"
	printf '%s\n' \
	    '{"type":"page","incident":"i1","event":"resolve","channel":"sms","to":["primary"],"at":"2026-01-14T03:00:00Z","trigger_at":"yesterday"}' \
	    '{"type":"page","incident":"i1","event":"resolve","channel":"sms","to":["primary"],"at":"2026-01-14T03:00:00Z","trigger_at":5}' \
	    '{"type":"page","incident":"i1","event":"resolve","channel":"sms","to":["primary"],"at":"soon","trigger_at":null}' \
	    '{"type":"page","incident":"i1","event":"resolve","channel":"sms","to":["primary"],"at":"2026-01-14T03:00:00Z","trigger_at":"2026-01-12T13:00:00Z"}' \
	    >"$BATS_TEST_TMPDIR/in.ndjson"
	run -1 --separate-stderr esc-rotate -r "$TEAM" "$BATS_TEST_TMPDIR/in.ndjson"
	assert_equal "$stderr" "esc-rotate: $BATS_TEST_TMPDIR/in.ndjson:1: bad \"trigger_at\"; passed on unchanged
esc-rotate: $BATS_TEST_TMPDIR/in.ndjson:2: bad \"trigger_at\"; passed on unchanged
esc-rotate: $BATS_TEST_TMPDIR/in.ndjson:3: bad \"at\"; passed on unchanged"
	assert_equal "${lines[1]}" "$(sed -n 2p "$BATS_TEST_TMPDIR/in.ndjson")"
	# A good trigger_at picks who held the role then (before the Monday
	# 14:00 handoff: alice).
	assert_equal "$(jq -r '.recipients[0].person // "none"' <<<"$output" | paste -sd,)" "none,none,none,alice"
}
