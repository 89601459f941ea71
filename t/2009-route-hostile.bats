#!/usr/bin/env bats
# esc-route against hostile input: times at and past the ends of
# 0001..9999, a rejected line under --snapshot, an alert back after its
# incident was pruned, and the state of the format before.

load test_helper
load fixtures/route/helpers

RANGE='time out of range (0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z)'

# The records of $output, without what was said on standard error.
recs() {
	grep '^{' <<<"$output"
}

# alert_at NAME SEVERITY INSTANCE STARTS_AT: a firing alert record whose
# starts_at is the string given.
alert_at() {
	alert "$1" "$2" firing 0 "" "$3" | jq -c --arg t "$4" '.starts_at = $t'
}

@test "an alert starting before 0001 after its offset is rejected at its line and poisons nothing" {
	run route 0 <<<"$(alert StemeDBAPIDown critical firing 0; alert_at Poison critical db9 0001-01-01T00:00:00+00:01)"
	assert_failure 1
	assert_line "esc-route: -:2: alert: \"starts_at\": $RANGE: 0001-01-01T00:00:00+00:01"
	refute_output --partial Poison
	refute_output --partial '"0000-'
	# The next run loads the state, and escalation goes on.
	run route 5 </dev/null
	assert_success
	assert_equal "$(pages | sort -u)" "$(printf '%s\n' "trigger L2 pagerduty $(tm 5)" "trigger L2 slack $(tm 5)")"
}

@test "times at the ends of the range: 9999-12-31T23:59:60 and offsets past either end are rejected" {
	local bad t
	for bad in 9999-12-31T23:59:60Z 9999-12-31T23:59:59-00:01 0000-12-31T23:59:59Z 0001-01-01T00:00:00+00:01; do
		run route 0 <<<"$(alert_at Edge critical db1 "$bad")"
		assert_failure 1
		assert_output "esc-route: -:1: alert: \"starts_at\": $RANGE: $bad"
	done
	run route 0 <<<"$(alert_at Edge critical db1 10000-01-01T00:00:00Z)"
	assert_failure 1
	assert_output 'esc-route: -:1: alert: "starts_at": not an RFC 3339 time: 10000-01-01T00:00:00Z'
	[ ! -e "$ST" ]
	# The first second of 0001 after its offset is a time like any other.
	run route 0 <<<"$(alert_at Edge critical db1 0001-01-01T00:00:00-00:01)"
	assert_success
	assert_equal "$(jq -r 'select(.type == "incident" and .event == "opened") | .opened_at' <<<"$output")" 0001-01-01T00:01:00Z
	# --now past the end is a usage error.
	for t in 9999-12-31T23:59:60Z @253402300800; do
		run esc-route -s "$ST" --now "$t" </dev/null
		assert_failure 2
	done
	assert_output 'esc-route: --now: bad epoch time: @253402300800'
}

@test "a time computed past 9999-12-31T23:59:59Z is written as that second" {
	run esc-route -s "$ST" --now 9999-12-31T00:00:00Z <<<"$(alert_at StemeDBAPIDown critical db1 9999-12-30T00:00:00Z)"
	assert_success
	run esc-route -s "$ST" --now 9999-12-31T00:00:00Z <<<"$(event resolve alert StemeDBAPIDown-db1-critical 0 | jq -c '.at = "9999-12-31T00:00:00Z"')"
	assert_success
	assert_equal "$(jq -c 'select(.type == "postmortem") | [.resolved_at, .due_at]' <<<"$output")" \
	    '["9999-12-31T00:00:00Z","9999-12-31T23:59:59Z"]'
	# Every time in every record lies in 0001..9999.
	refute_output --regexp '"[0-9]{5,}-'
	run esc-route -s "$ST" --now 9999-12-31T23:59:59Z </dev/null
	assert_success
}

@test "a policy duration longer than ten years is a configuration error at load" {
	p=$BATS_TEST_TMPDIR/policy.json
	sed 's/"due": "48h"/"due": "15250000000w"/' "$POLICY" >"$p"
	grep -q 15250000000w "$p"
	run route 0 -p "$p" <<<"$(alert StemeDBAPIDown critical firing 0)"
	assert_failure 2
	assert_output "esc-route: $p: postmortem.due: duration \"15250000000w\" is longer than 3650d"
	[ ! -e "$ST" ]
	sed 's/"due": "48h"/"due": "3651d"/' "$POLICY" >"$p"
	run route 0 -p "$p" </dev/null
	assert_failure 2
	assert_output "esc-route: $p: postmortem.due: duration \"3651d\" is longer than 3650d"
	sed 's/"due": "48h"/"due": "3650d"/' "$POLICY" >"$p"
	run route 0 -p "$p" </dev/null
	assert_success
}

@test "an alert whose only fault is its time pages from when esc first saw it, flagged bad-time" {
	am='{"labels":{"alertname":"StemeDBAPIDown","instance":"api-1","severity":"critical"},"annotations":{"summary":"down","runbook_url":"https://r.example/x"},"startsAt":"0001-01-01T00:00:00+00:01","endsAt":"2026-11-27T10:09:00Z","fingerprint":"042cbff5ee6682b0","status":{"state":"active","silencedBy":[],"inhibitedBy":[]}}'
	run bash -c "esc-classify --now $(tm 3) <<<'$am' 2>'$BATS_TEST_TMPDIR/err' | esc-route -s '$ST' --now $(tm 3)"
	assert_success
	assert_equal "$(cat "$BATS_TEST_TMPDIR/err")" \
	    "esc-classify: -:1: startsAt: $RANGE: 0001-01-01T00:00:00+00:01 (the alert starts now: bad-time)"
	assert_equal "$(jq -c 'select(.type == "incident") | [.event, .alert, .opened_at]' <<<"$output")" \
	    "[\"opened\",\"042cbff5ee6682b0\",\"$(tm 3)\"]"
	assert_equal "$(pages | sort -u | head -1)" "trigger L1 email $(tm 3)"
	# The next poll sees it again, with the same bad time: the same incident.
	run bash -c "esc-classify --now $(tm 4) <<<'$am' 2>/dev/null | esc-route -s '$ST' --snapshot --now $(tm 4)"
	assert_success
	assert_output ''
}

@test "--snapshot: a line the router rejects holds back only the incident it could have been" {
	run route 0 --snapshot <<<"$(alert StemeDBAPIDown critical firing 0; alert DiskFull warning firing 0 "" db2; alert HighAPIErrorRate critical firing 0 "" db3)"
	assert_success
	ids=$(jq -r 'select(.type == "incident") | "\(.alertname) \(.incident)"' <<<"$output")
	DISK=$(awk '$1 == "DiskFull" {print $2}' <<<"$ids")
	# DiskFull comes with a severity the router cannot take; HighAPIErrorRate
	# is gone; a line that is not JSON names no alert at all.
	run route 5 --snapshot <<<"$(alert StemeDBAPIDown critical firing 0; alert DiskFull bogus firing 0 "" db2; echo 'not json')"
	assert_failure 1
	assert_line 'esc-route: -:2: alert: "severity" must be critical, warning or info'
	assert_line 'esc-route: -:3: not JSON: syntax error at byte 1'
	assert_line "esc-route: -:2: incident $DISK (DiskFull) is not resolved for being absent: this rejected line may be its alert"
	refute_output --partial 'resolves nothing'
	assert_equal "$(recs | jq -r 'select(.type == "incident" and .event == "resolved") | "\(.event) \(.alertname)"')" "resolved HighAPIErrorRate"
	# The next complete poll without it resolves DiskFull.
	run route 6 --snapshot <<<"$(alert StemeDBAPIDown critical firing 0)"
	assert_success
	assert_equal "$(jq -r 'select(.type == "incident") | "\(.event) \(.alertname)"' <<<"$output")" "resolved DiskFull"
}

@test "--snapshot: a rejected record from esc-classify holds back what it names, and passes on" {
	run route 0 --snapshot <<<"$(alert StemeDBAPIDown critical firing 0; alert DiskFull warning firing 0 "" db2; alert DiskFull warning firing 0 "" db3)"
	assert_success
	# By its id (a fingerprint): DiskFull on db2 only.
	rej='{"type":"rejected","record":"alert","source":"alertmanager-api","reason":"labels.x: expected a string, got a number","at":"2026-11-27T10:05:00Z","file":"-","line":2,"alert":"DiskFull-db2-warning","alertname":"DiskFull","labels":null}'
	run route 5 --snapshot <<<"$(alert StemeDBAPIDown critical firing 0; echo "$rej")"
	assert_success
	assert_line "$rej"
	assert_equal "$(recs | jq -r 'select(.type == "incident" and .event == "resolved") | "\(.event) \(.alertname) \(.alert)"')" \
	    "resolved DiskFull DiskFull-db3-warning"
	# By its labels: the incident of their key, whatever the severity.
	run route 6 --snapshot <<<"$(alert StemeDBAPIDown critical firing 0; jq -c '.alert = null | .labels = {alertname: "DiskFull", instance: "db2", severity: "critical"}' <<<"$rej")"
	assert_success
	refute_output --partial '"event":"resolved"'
	# With neither, by its alert name.
	run route 7 --snapshot <<<"$(alert StemeDBAPIDown critical firing 0; jq -c '.alert = null' <<<"$rej")"
	assert_success
	refute_output --partial '"event":"resolved"'
	# A rejected record that names nothing holds back nothing.
	run route 8 --snapshot <<<"$(alert StemeDBAPIDown critical firing 0; jq -c '.alert = null | .alertname = null' <<<"$rej")"
	assert_success
	assert_equal "$(recs | jq -r 'select(.type == "incident" and .event == "resolved") | "\(.event) \(.alertname) \(.alert)"')" \
	    "resolved DiskFull DiskFull-db2-warning"
}

@test "an alert silenced longer than retain_resolved comes back as a new incident and pages" {
	OLD=$(fire HighAPIErrorRate critical)
	# Silenced: resolved at 10:02, pruned a day later (a tombstone stays).
	route 2 --snapshot <<<"$(alert HighAPIErrorRate critical firing 0 | jq -c '.suppressed = true')" >/dev/null
	route 1500 --snapshot <<<"$(alert HighAPIErrorRate critical firing 0 | jq -c '.suppressed = true')" >/dev/null
	refute grep -q "^$OLD" "$ST"
	# Two days on the silence ends; Alertmanager kept the old startsAt.
	run route 2880 --snapshot <<<"$(alert HighAPIErrorRate critical firing 0)"
	assert_success
	NEW=$(incident_id)
	[ -n "$NEW" ]
	[ "$NEW" != "$OLD" ]
	assert_equal "$(jq -c 'select(.type == "incident") | [.event, .opened_at]' <<<"$output")" "[\"opened\",\"$(tm 2880)\"]"
	assert_equal "$(jq -r 'select(.type == "page") | .dedup_key' <<<"$output" | sort)" \
	    "$(printf '%s\n' "$NEW-L1-email" "$NEW-L1-pagerduty" "$NEW-L1-slack" "$NEW-L1-sms")"
	# It stays one incident on the next poll.
	run route 2881 --snapshot <<<"$(alert HighAPIErrorRate critical firing 0)"
	assert_success
	assert_output ''
}

@test "tombstones are kept 30 days after the resolution, then dropped" {
	route 0 <<<"$(alert DiskFull warning firing 0)" >/dev/null
	route 1 <<<"$(alert DiskFull warning resolved 0 1)" >/dev/null
	KEY=$(awk -F'\t' 'NR == 2 {print $2}' "$ST")
	route 1500 </dev/null >/dev/null
	assert_equal "$(grep -c '^tomb' "$ST")" 1
	assert_equal "$(grep '^tomb' "$ST")" "$(printf 'tomb\t%s\t%s' "$KEY" $((T0 + 60)))"
	# The tombstone and the seed of the SMS codes.
	assert_equal "$(tail -1 "$ST")" "end 2"
	# 30 days after 10:01 it is still there; a minute later it is gone.
	route $((30 * 1440 + 1)) </dev/null >/dev/null
	assert_equal "$(grep -c '^tomb' "$ST")" 1
	route $((30 * 1440 + 2)) </dev/null >/dev/null
	assert_equal "$(grep -c '^tomb' "$ST")" 0
}

@test "a state of format 1 loads, and is written back in format 3" {
	install -m 600 "$FIX/route/state-v1" "$ST"
	run route 5 </dev/null
	assert_success
	assert_equal "$(pages | sort -u)" "$(printf '%s\n' "trigger L2 pagerduty $(tm 5)" "trigger L2 slack $(tm 5)")"
	assert_equal "$(head -1 "$ST")" 'esc-route-state 3'
	# Its resolved DiskFull is pruned to a tombstone; back with its old
	# startsAt two days later, it opens a new incident.
	route 1500 </dev/null >/dev/null
	refute grep -q '^67c8fea8a7060ec2' "$ST"
	run route 2880 <<<"$(alert DiskFull warning firing 0 "" db2)"
	assert_success
	assert_equal "$(jq -c 'select(.type == "incident") | [.event, .opened_at]' <<<"$output")" "[\"opened\",\"$(tm 2880)\"]"
	[ "$(incident_id)" != 67c8fea8a7060ec2 ]
}

@test "a corrupt tombstone is a corrupt state; a format 1 state has none" {
	route 0 <<<"$(alert DiskFull warning firing 0)" >/dev/null
	route 1 <<<"$(alert DiskFull warning resolved 0 1)" >/dev/null
	route 1500 </dev/null >/dev/null
	cp "$ST" "$BATS_TEST_TMPDIR/good"
	sed -i 's/^\(tomb\t[0-9a-f]*\t\).*/\1-62135596801/' "$ST"
	refuses_state 1501 "esc-route: $ST:2: corrupt state"
	sed '1s/ 3$/ 1/' "$BATS_TEST_TMPDIR/good" >"$ST"
	refuses_state 1501 "esc-route: $ST:2: corrupt state"
}
