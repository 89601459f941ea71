#!/usr/bin/env bats
# esc-route: an alert back after its incident was resolved, notes,
# suppressed (silenced or inhibited) alerts, the lock timeout's exit
# status, and alerts that cannot upgrade an info incident.

load test_helper
load fixtures/route/helpers

# The incident, page and task records of $output, compacted.
records() {
	jq -c 'select(.type == "incident" or .type == "page" or .type == "task" or .type == "postmortem") |
	    [.type, .event, .incident, .level, .channel, .at, .opened_at, .dedup_key]' <<<"$output"
}

suppressed() {
	alert "$@" | jq -c '. + {suppressed: true}'
}

# route MIN args... with standard error apart, in $BATS_TEST_TMPDIR/err.
route_err() {
	route "$@" 2>"$BATS_TEST_TMPDIR/err"
}

@test "silenced, resolved by --snapshot, back with its old startsAt: a new incident opens then" {
	OLD=$(fire HighAPIErrorRate critical)
	run route 2 --snapshot <<<"$(suppressed HighAPIErrorRate critical firing 0)"
	assert_success
	assert_equal "$(jq -c 'select(.type == "incident") | [.event, .incident, .at]' <<<"$output")" \
	    "[\"resolved\",\"$OLD\",\"2026-11-27T10:02:00Z\"]"
	run route 7 --snapshot <<<"$(alert HighAPIErrorRate critical firing 0)"
	assert_success
	NEW=$(incident_id)
	[ -n "$NEW" ]
	[ "$NEW" != "$OLD" ]
	assert_equal "$(records)" "$(printf '%s\n' \
	    "[\"incident\",\"opened\",\"$NEW\",1,null,\"2026-11-27T10:07:00Z\",\"2026-11-27T10:07:00Z\",null]" \
	    "[\"page\",\"trigger\",\"$NEW\",1,\"pagerduty\",\"2026-11-27T10:07:00Z\",null,\"$NEW-L1-pagerduty\"]" \
	    "[\"page\",\"trigger\",\"$NEW\",1,\"slack\",\"2026-11-27T10:07:00Z\",null,\"$NEW-L1-slack\"]" \
	    "[\"page\",\"trigger\",\"$NEW\",1,\"email\",\"2026-11-27T10:07:00Z\",null,\"$NEW-L1-email\"]" \
	    "[\"page\",\"trigger\",\"$NEW\",1,\"sms\",\"2026-11-27T10:07:00Z\",null,\"$NEW-L1-sms\"]" \
	    "[\"task\",null,\"$NEW\",1,null,\"2026-11-27T10:07:00Z\",null,\"$NEW-L1-T1\"]" \
	    "[\"task\",null,\"$NEW\",null,null,\"2026-11-27T10:07:00Z\",null,\"$NEW-T1\"]")"
	# The next poll sees the same alert: nothing more; its levels run from 10:07.
	run route 12 --snapshot <<<"$(alert HighAPIErrorRate critical firing 0)"
	assert_success
	assert_equal "$(records | jq -r '"\(.[0]) \(.[2]) \(.[3]) \(.[5])"' | sort -u)" \
	    "$(printf '%s\n' "incident $NEW 2 2026-11-27T10:12:00Z" "page $NEW 2 2026-11-27T10:12:00Z" "task $NEW 2 2026-11-27T10:12:00Z")"
	# A late ack of the old incident still finds it (and changes nothing);
	# one by the alert id at a time before the new opening does too.
	run route 13 <<<"$(event ack incident "$OLD" 1)"
	assert_success
	assert_output ""
	run route 13 <<<"$(event ack alert HighAPIErrorRate-db1-critical 1)"
	assert_success
	assert_output ""
	# A resolved alert record for the old, resolved incident closes nothing more.
	run route 13 <<<"$(alert HighAPIErrorRate critical resolved 0 1)"
	assert_success
	assert_output ""
}

@test "an explicit resolve, then the alert still firing: a new incident opens at the run that sees it" {
	OLD=$(fire WALDiskNearlyFull critical)
	route 3 <<<"$(event resolve incident "$OLD" 3)" >/dev/null
	run route 4 <<<"$(alert WALDiskNearlyFull critical firing 0)"
	assert_success
	NEW=$(incident_id)
	[ "$NEW" != "$OLD" ]
	assert_equal "$(jq -c 'select(.type == "incident") | [.event, .at, .opened_at]' <<<"$output")" \
	    '["opened","2026-11-27T10:04:00Z","2026-11-27T10:04:00Z"]'
	assert_equal "$(jq -r 'select(.type == "page") | .dedup_key' <<<"$output" | grep -c "^$OLD")" 0
}

@test "an alert that starts after its incident was resolved opens a new incident at its startsAt" {
	OLD=$(fire WALDiskNearlyFull critical)
	# In one run, in time order: the resolve at 3, the new firing at 5.
	{ event resolve incident "$OLD" 3; alert WALDiskNearlyFull critical firing 5; } >"$BATS_TEST_TMPDIR/in"
	run route 6 "$BATS_TEST_TMPDIR/in"
	assert_success
	NEW=$(jq -r 'select(.type == "incident" and .event == "opened") | .incident' <<<"$output")
	[ -n "$NEW" ]
	[ "$NEW" != "$OLD" ]
	assert_equal "$(jq -c 'select(.type == "incident") | [.event, .incident == "'"$OLD"'", .at, .opened_at]' <<<"$output")" \
	    "$(printf '%s\n' '["resolved",true,"2026-11-27T10:03:00Z","2026-11-27T10:00:00Z"]' \
	    '["opened",false,"2026-11-27T10:05:00Z","2026-11-27T10:05:00Z"]')"
}

@test "a resolved alert for an incident already resolved is a no-op" {
	route 0 <<<"$(alert WALDiskNearlyFull critical firing 0)" >/dev/null
	route 3 <<<"$(alert WALDiskNearlyFull critical resolved 0 3)" >/dev/null
	run route 4 <<<"$(alert WALDiskNearlyFull critical resolved 0 3)"
	assert_success
	assert_output ""
}

@test "a note is consumed: an incident record with event noted" {
	ID=$(fire StemeDBAPIDown critical)
	run route 1 <<<"$(event note alert StemeDBAPIDown-db1-critical 1 '{"note":"db1 is being rebooted"}')"
	assert_success
	assert_equal "$(jq -c '[.type, .event, .incident, .severity, .level, .alert, .alertname, .at, .by, .note]' <<<"$output")" \
	    "[\"incident\",\"noted\",\"$ID\",\"critical\",1,\"StemeDBAPIDown-db1-critical\",\"StemeDBAPIDown\",\"2026-11-27T10:01:00Z\",\"alice\",\"db1 is being rebooted\"]"
}

@test "a suppressed alert never opens an incident" {
	run route 0 <<<"$(suppressed StemeDBAPIDown critical firing 0)"
	assert_success
	assert_output ""
	run route 20 </dev/null
	assert_success
	assert_output ""
	run route 21 --snapshot <<<"$(suppressed StemeDBAPIDown critical firing 0)"
	assert_success
	assert_output ""
}

@test "--snapshot: a suppressed alert is not seen; its incident resolves as if it were absent" {
	ID=$(fire WALDiskNearlyFull critical)
	run route 2 --snapshot <<<"$(suppressed WALDiskNearlyFull critical firing 0)"
	assert_success
	assert_equal "$(jq -c 'select(.type == "incident" or .type == "page") | [.type, .event, .at]' <<<"$output" | sort -u)" \
	    "$(printf '%s\n' '["incident","resolved","2026-11-27T10:02:00Z"]' '["page","resolve","2026-11-27T10:02:00Z"]')"
}

@test "without --snapshot a suppressed alert is ignored: no upgrade" {
	route 0 <<<"$(alert HighAPIErrorRate warning firing 0)" >/dev/null
	run route 1 <<<"$(suppressed HighAPIErrorRate critical firing 1 '' db1 HighAPIErrorRate-db1-critical)"
	assert_success
	assert_output ""
	run route 2 </dev/null
	assert_success
	assert_output ""
}

@test "a lock not had in time: exit 1, the message unchanged" {
	route 0 </dev/null >/dev/null
	hold_lock
	run route 1 --lock-timeout 1 <<<"$(alert StemeDBAPIDown critical firing 0)"
	assert_failure 1
	assert_output "esc-route: $ST.lock: still locked by another run after 1 s"
}

@test "a critical or warning alert on an open info incident says once per run that it does not upgrade it" {
	ID=$(fire CacheInfo info)
	{ alert CacheInfo critical firing 1; alert CacheInfo critical firing 1; alert CacheInfo warning firing 1; } >"$BATS_TEST_TMPDIR/in"
	run route_err 2 "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_output ""
	assert_equal "$(cat "$BATS_TEST_TMPDIR/err")" \
	    "esc-route: $BATS_TEST_TMPDIR/in:1: incident $ID is info; a critical alert does not upgrade it (use esc-upgrade)"
	# The next run says it again; a warning alert alone says warning.
	run route_err 3 <<<"$(alert CacheInfo warning firing 1)"
	assert_success
	assert_output ""
	assert_equal "$(cat "$BATS_TEST_TMPDIR/err")" \
	    "esc-route: -:1: incident $ID is info; a warning alert does not upgrade it (use esc-upgrade)"
	# An upgrade event still moves it.
	run route 4 <<<"$(event upgrade incident "$ID" 4 '{"severity":"critical"}')"
	assert_success
	assert_equal "$(jq -c 'select(.type == "incident") | [.event, .severity]' <<<"$output")" '["upgraded","critical"]'
}

@test "after the old incident is pruned, the alert still firing with its old startsAt opens nothing old" {
	OLD=$(fire HighAPIErrorRate critical)
	route 2 --snapshot <<<"$(suppressed HighAPIErrorRate critical firing 0)" >/dev/null
	route 7 --snapshot <<<"$(alert HighAPIErrorRate critical firing 0)" >"$BATS_TEST_TMPDIR/all"
	NEW=$(jq -r 'select(.type == "incident") | .incident' "$BATS_TEST_TMPDIR/all")
	# A day and a half later the old one is gone from the state.
	route 2167 --snapshot <<<"$(alert HighAPIErrorRate critical firing 0)" >/dev/null
	refute grep -q "^$OLD" "$ST"
	run route 2168 --snapshot <<<"$(alert HighAPIErrorRate critical firing 0)"
	assert_success
	assert_output ""
	grep -q "^$NEW" "$ST"
}

@test "snapshot: input that cannot be read resolves nothing; a line that names no alert holds back nothing" {
	run route 0 --snapshot <<<"$(alert StemeDBAPIDown critical firing 0; alert DiskFull warning firing 0 "" db2)"
	assert_success
	# The poll at 5 minutes has the API alert in one file, and another
	# file that cannot be read: it may have held DiskFull, which must not
	# be resolved.
	alert StemeDBAPIDown critical firing 0 >"$BATS_TEST_TMPDIR/poll"
	run route 5 --snapshot "$BATS_TEST_TMPDIR/poll" "$BATS_TEST_TMPDIR/missing"
	assert_failure 1
	assert_line --partial "esc-route: $BATS_TEST_TMPDIR/missing: "
	assert_line "esc-route: the input could not be read whole: this run resolves nothing for being absent from the snapshot"
	refute_output --partial '"event":"resolved"'
	# A line that is read but is not even JSON names no alert at all: it
	# holds back nothing, or one such line would keep every incident
	# open for as long as it came (esc-route(1)).
	run route 6 --snapshot <<<"$(alert StemeDBAPIDown critical firing 0; printf '{"type":"alert","id":"\xff"}')"
	assert_failure 1
	assert_line "esc-route: -:2: invalid UTF-8 at byte 23"
	refute_output --partial 'resolves nothing'
	assert_equal "$(grep '^{' <<<"$output" | jq -r 'select(.type == "incident" and .event == "resolved") | .alertname')" DiskFull
}

@test "resolve pages say when the trigger they close was due (trigger_at)" {
	route 0 <<<"$(alert StemeDBAPIDown critical firing 0)" >/dev/null
	route 6 </dev/null >/dev/null
	run route 20 <<<"$(event resolve alert StemeDBAPIDown-db1-critical 20)"
	assert_success
	assert_equal "$(jq -r 'select(.type == "page" and .event == "resolve") | "L\(.level) \(.channel) \(.at) \(.trigger_at)"' <<<"$output" | sort -u)" \
	    "$(printf '%s\n' \
	    "L1 email $(tm 20) $(tm 0)" "L1 pagerduty $(tm 20) $(tm 0)" "L1 slack $(tm 20) $(tm 0)" "L1 sms $(tm 20) $(tm 0)" \
	    "L2 pagerduty $(tm 20) $(tm 5)" "L2 slack $(tm 20) $(tm 5)" "L3 pagerduty $(tm 20) $(tm 15)")"
	# Triggers carry no trigger_at.
	assert_equal "$(jq -r 'select(.type == "page" and .event == "trigger") | .trigger_at' <<<"$output" | sort -u)" null
}
