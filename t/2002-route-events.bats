#!/usr/bin/env bats
# esc-route: acks, resolves, upgrades, post-mortems, timelines, snapshot
# mode, and bad events.

load test_helper
load fixtures/route/helpers

open_critical() {
	ID=$(fire StemeDBAPIDown critical)
}

@test "an ack at 3 min stops level 2 (unacked) but not level 3 (unresolved)" {
	open_critical
	run route 3 <<<"$(event ack incident "$ID" 3 '{"note":"looking","actionable":true}')"
	assert_success
	assert_equal "$(jq -c 'select(.type == "incident") | [.event, .level, .at, .by, .actionable, .note]' <<<"$output")" \
	    '["acked",1,"2026-11-27T10:03:00Z","alice",true,"looking"]'
	echo "$output" >>"$BATS_TEST_TMPDIR/all"
	tick_range 4 31
	output=$(cat "$BATS_TEST_TMPDIR/all")
	assert_equal "$(jq -r 'select(.type == "page") | "\(.level) \(.channel) \(.at)"' <<<"$output" | grep -v '^1 ')" \
	    "$(printf '%s\n' '3 pagerduty 2026-11-27T10:15:00Z' '4 email 2026-11-27T10:30:00Z')"
	refute_output --partial '"level":2'
}

@test "an ack by alert id; a second ack changes nothing" {
	open_critical
	run route 6 <<<"$(event ack alert StemeDBAPIDown-db1-critical 5 '{"by":"bob"}')"
	# The ack at exactly 5:00 came before level 2: it is not paged.  The
	# ack goes to PagerDuty's level 1 page (issue 12).
	assert_equal "$(jq -r 'select(.type == "page") | "\(.event) \(.level)"' <<<"$output" | uniq)" "acknowledge 1"
	assert_equal "$(jq -c 'select(.type == "incident") | [.event, .level, .by]' <<<"$output")" \
	    '["acked",1,"bob"]'
	run route 7 <<<"$(event ack incident "$ID" 6)"
	assert_success
	assert_output ''
}

@test "an ack exactly when level 2 is due wins; one second later it does not" {
	open_critical
	run route 5 <<<"$(event ack incident "$ID" 5)"
	refute_output --partial '"event":"trigger"'
	assert_output --partial '"event":"acknowledge"'
	ST="$BATS_TEST_TMPDIR/s2" route 0 <<<"$(alert StemeDBAPIDown critical firing 0)" >/dev/null
	ST="$BATS_TEST_TMPDIR/s2" run route 6 <<<"$(event ack incident "$ID" 5 1)"
	assert_equal "$(jq -r 'select(.type == "page") | .level' <<<"$output" | uniq)" 2
}

@test "a resolve closes the incident: resolve pages for what was triggered, a post-mortem, nothing after" {
	open_critical
	route 6 </dev/null >/dev/null
	run route 10 <<<"$(event resolve incident "$ID" 8 '{"actionable":false,"note":"restarted"}')"
	assert_success
	assert_equal "$(jq -c 'select(.type == "incident") | [.event, .level, .at, .by, .actionable, .note]' <<<"$output")" \
	    '["resolved",2,"2026-11-27T10:08:00Z","alice",false,"restarted"]'
	assert_equal "$(jq -r 'select(.type == "page") | "\(.event) \(.dedup_key) \(.at)"' <<<"$output")" \
	    "$(printf "resolve $ID-%s 2026-11-27T10:08:00Z\n" L1-pagerduty L1-slack L1-email L1-sms L2-pagerduty L2-slack)"
	assert_equal "$(jq -c 'select(.type == "postmortem")' <<<"$output")" \
	    "{\"type\":\"postmortem\",\"incident\":\"$ID\",\"alert\":\"StemeDBAPIDown-db1-critical\",\"alertname\":\"StemeDBAPIDown\",\"severity\":\"critical\",\"opened_at\":\"2026-11-27T10:00:00Z\",\"resolved_at\":\"2026-11-27T10:08:00Z\",\"due_at\":\"2026-11-29T10:08:00Z\"}"
	run route 60 </dev/null
	assert_success
	assert_output ''
	# Its alert still firing is a new incident: nothing for the old one.
	run route 61 <<<"$(alert StemeDBAPIDown critical firing 0)"
	assert_success
	refute_output --partial "\"$ID"
	assert_equal "$(jq -c 'select(.type == "incident") | [.event, .opened_at]' <<<"$output")" '["opened","2026-11-27T11:01:00Z"]'
}

@test "a resolved alert resolves at its ends_at; a resolve due before a level stops it" {
	open_critical
	run route 20 <<<"$(alert StemeDBAPIDown critical resolved 0 12)"
	assert_success
	assert_equal "$(jq -r 'select(.type == "page" and .event == "trigger") | .level' <<<"$output" | uniq)" 2
	assert_equal "$(jq -r 'select(.type == "incident") | "\(.event) \(.at)"' <<<"$output")" \
	    "$(printf '%s\n' 'escalated 2026-11-27T10:05:00Z' 'resolved 2026-11-27T10:12:00Z')"
	refute_output --partial '"by"'
}

@test "warning post-mortem only when open 2 hours or more" {
	route 0 <<<"$(alert HighAPIErrorRate warning firing 0)" >/dev/null
	run route 100 <<<"$(alert HighAPIErrorRate warning resolved 0 90)"
	assert_success
	refute_output --partial '"type":"postmortem"'
	route 200 <<<"$(alert HighAPIErrorRate warning firing 150 '' db2)" >/dev/null
	run route 300 <<<"$(alert HighAPIErrorRate warning resolved 150 280 db2)"
	assert_equal "$(jq -c 'select(.type == "postmortem") | [.severity, .opened_at, .resolved_at, .due_at]' <<<"$output")" \
	    '["warning","2026-11-27T12:30:00Z","2026-11-27T14:40:00Z","2026-11-29T14:40:00Z"]'
}

@test "a warning alert that turns critical upgrades the same incident to the critical path from L1" {
	route 0 <<<"$(alert HighAPIErrorRate warning firing 0)" >/dev/null
	route 10 <<<"$(alert HighAPIErrorRate warning firing 0)" >/dev/null
	run route 12 <<<"$(alert HighAPIErrorRate warning firing 0; alert HighAPIErrorRate critical firing 11)"
	assert_success
	id=$(incident_id)
	assert_equal "$(jq -c 'select(.type == "incident") | [.event, .severity, .level, .at, .alert]' <<<"$output")" \
	    '["upgraded","critical",1,"2026-11-27T10:11:00Z","HighAPIErrorRate-db1-critical"]'
	assert_equal "$(jq -r 'select(.type == "page") | "\(.severity) L\(.level) \(.channel) \(.at) \(.dedup_key)"' <<<"$output")" \
	    "$(printf "critical L1 %s 2026-11-27T10:11:00Z $id-critical-L1-%s\n" pagerduty pagerduty slack slack email email sms sms)"
	# The critical path's level 2 is due 5 minutes after the upgrade.
	run route 16 </dev/null
	assert_equal "$(jq -r 'select(.type == "page") | "\(.level) \(.at)"' <<<"$output" | uniq)" '2 2026-11-27T10:16:00Z'
	# Only one incident was ever opened (and the seed of the SMS codes).
	assert_equal "$(wc -l <"$ST")" 4
}

@test "an upgrade event moves an info incident to the critical path" {
	route 0 <<<"$(alert CacheInfo info firing 0)" >/dev/null
	run route 20 <<<"$(event upgrade alert CacheInfo-db1-info 18 '{"severity":"critical","by":"carol"}')"
	assert_success
	assert_equal "$(jq -c 'select(.type == "incident") | [.event, .severity, .level, .at, .by]' <<<"$output")" \
	    '["upgraded","critical",1,"2026-11-27T10:18:00Z","carol"]'
	assert_equal "$(jq -r 'select(.type == "page") | "\(.level) \(.channel) \(.at)"' <<<"$output")" \
	    "$(printf '1 %s 2026-11-27T10:18:00Z\n' pagerduty slack email sms)"
}

@test "a critical alert does not upgrade an info incident (info escalates only by an event)" {
	ID=$(fire CacheInfo info)
	run route 5 <<<"$(alert CacheInfo critical firing 3)"
	assert_success
	assert_output "esc-route: -:1: incident $ID is info; a critical alert does not upgrade it (use esc-upgrade)"
}

@test "timeline rows become tasks at their offsets while the incident is open" {
	open_critical
	run jq -c 'select(.type == "task" and .level == null) | [.action, .owner, .to, .at, .due_at, .dedup_key]' "$BATS_TEST_TMPDIR/all"
	assert_output "[\"Page on-call\",\"primary\",[\"primary\"],\"2026-11-27T10:00:00Z\",\"2026-11-27T10:00:00Z\",\"$ID-T1\"]"
	run route 2 </dev/null
	assert_equal "$(jq -c 'select(.type == "task") | [.incident, .alert, .alertname, .severity, .level, .action, .owner, .at, .dedup_key]' <<<"$output")" \
	    "[\"$ID\",\"StemeDBAPIDown-db1-critical\",\"StemeDBAPIDown\",\"critical\",null,\"Check runbook, verify API health\",\"primary\",\"2026-11-27T10:02:00Z\",\"$ID-T2\"]"
	run route 12 <<<"$(event resolve incident "$ID" 11)"
	assert_equal "$(jq -r 'select(.type == "task" and .level == null) | "\(.at) \(.owner) \(.action)"' <<<"$output")" \
	    "$(printf '%s\n' '2026-11-27T10:05:00Z backup If not resolved, escalate to backup + manager' \
	    '2026-11-27T10:10:00Z manager Engage AWS support if infrastructure issue')"
	run route 20 </dev/null
	assert_output ''
}

@test "level tasks come with their level" {
	open_critical
	run jq -c 'select(.type == "task" and .level == 1) | [.action, .owner, .dedup_key]' "$BATS_TEST_TMPDIR/all"
	assert_output "[\"Acknowledge alert in PagerDuty within 5 minutes\",\"primary\",\"$ID-L1-T1\"]"
}

@test "--snapshot: an open incident whose alert is missing from the input is resolved now" {
	route 0 <<<"$(alert StemeDBAPIDown critical firing 0; alert WALDiskNearlyFull critical firing 0 '' db2)" >/dev/null
	run route 3 --snapshot <<<"$(alert WALDiskNearlyFull critical firing 0 '' db2)"
	assert_success
	assert_equal "$(jq -c 'select(.type == "incident") | [.event, .alertname, .at]' <<<"$output")" \
	    '["resolved","StemeDBAPIDown","2026-11-27T10:03:00Z"]'
	# Without --snapshot a missing alert changes nothing.
	run route 4 </dev/null
	assert_output ''
	# The still-firing one was not touched.
	run route 5 --snapshot <<<"$(alert WALDiskNearlyFull critical firing 0 '' db2)"
	assert_equal "$(jq -r 'select(.type == "incident") | "\(.event) \(.alertname)"' <<<"$output")" 'escalated WALDiskNearlyFull'
}

@test "--snapshot: a heartbeat saying the poll failed resolves nothing" {
	route 0 <<<"$(alert StemeDBAPIDown critical firing 0)" >/dev/null
	hb='{"type":"heartbeat","at":"2026-11-27T10:03:00Z","alerts":0,"ok":false}'
	run route 3 --snapshot <<<"$hb"
	assert_success
	assert_line --index 0 "$hb"
	refute_output --partial '"resolved"'
	hb='{"type":"heartbeat","at":"2026-11-27T10:04:00Z","alerts":0,"ok":true}'
	run route 4 --snapshot <<<"$hb"
	assert_equal "$(jq -r 'select(.type == "incident") | .event' <<<"$output")" resolved
}

@test "a flapping alert: a new firing after the resolve opens a new incident" {
	open_critical
	route 3 <<<"$(alert StemeDBAPIDown critical resolved 0 2)" >/dev/null
	# Alertmanager can report it firing again with its old startsAt: a
	# new incident, opened when this run sees it.
	run route 4 <<<"$(alert StemeDBAPIDown critical firing 0)"
	assert_success
	assert_equal "$(jq -c 'select(.type == "incident") | [.event, .opened_at]' <<<"$output")" '["opened","2026-11-27T10:04:00Z"]'
	ID2=$(incident_id)
	refute [ "$ID2" = "$ID" ]
	route 5 <<<"$(alert StemeDBAPIDown critical resolved 4 5)" >/dev/null
	run route 6 <<<"$(alert StemeDBAPIDown critical firing 6)"
	assert_equal "$(jq -c 'select(.type == "incident") | [.event, .opened_at]' <<<"$output")" '["opened","2026-11-27T10:06:00Z"]'
	refute [ "$(incident_id)" = "$ID" ]
	refute [ "$(incident_id)" = "$ID2" ]
}

@test "late and repeated events are accepted and change nothing" {
	open_critical
	up=$(event upgrade incident "$ID" 1 '{"severity":"critical"}')
	run route 1 <<<"$up"
	assert_success
	assert_output ''
	route 3 <<<"$(event resolve incident "$ID" 2)" >/dev/null
	run route 4 <<<"$(event ack incident "$ID" 3; event resolve incident "$ID" 3; echo "$up")"
	assert_success
	assert_output ''
	# The end of the first firing, fed again, does not close the second.
	route 10 <<<"$(alert StemeDBAPIDown critical firing 9)" >/dev/null
	run route 11 <<<"$(alert StemeDBAPIDown critical resolved 0 2)"
	assert_success
	refute_output --partial '"resolved"'
	refute_output --partial '"event":"resolve"'
}

@test "a note is consumed; an incident record says it and nothing else changes" {
	open_critical
	run route 1 <<<"$(event note alert StemeDBAPIDown-db1-critical 1 '{"note":"db1 is being rebooted"}')"
	assert_success
	assert_output "{\"type\":\"incident\",\"incident\":\"$ID\",\"alert\":\"StemeDBAPIDown-db1-critical\",\"alertname\":\"StemeDBAPIDown\",\"event\":\"noted\",\"severity\":\"critical\",\"level\":1,\"at\":\"2026-11-27T10:01:00Z\",\"opened_at\":\"2026-11-27T10:00:00Z\",\"summary\":\"StemeDBAPIDown on db1\",\"by\":\"alice\",\"note\":\"db1 is being rebooted\"}"
}

@test "bad events are reported with file and line and skipped; good lines still work" {
	open_critical
	printf '%s\n' \
	    "$(event ack incident 0123456789abcdef 1)" \
	    '{"type":"ack","incident":"'"$ID"'","at":"2026-11-27T10:01:00Z"}' \
	    '{"type":"resolve","by":"x","at":"2026-11-27T10:01:00Z"}' \
	    "$(event ack incident "$ID" -5)" \
	    '{"type":"upgrade","incident":"'"$ID"'","by":"x","at":"2026-11-27T10:01:00Z","severity":"huge"}' \
	    '{"type":"ack","incident":"'"$ID"'","by":"x","at":"yesterday"}' \
	    'not json' \
	    "$(event upgrade incident "$ID" 1 '{"severity":"warning"}')" \
	    '{"type":"alert","id":"x","name":"X","status":"firing","severity":"critical","starts_at":"2026-11-27T10:00:00Z"}' \
	    "$(event ack incident "$ID" 2 '{"by":"good"}')" >"$BATS_TEST_TMPDIR/events"
	run route 3 "$BATS_TEST_TMPDIR/events"
	assert_failure 1
	f=$BATS_TEST_TMPDIR/events
	assert_equal "$(grep '^esc-route:' <<<"$output" | sort -t: -k3n)" "$(printf '%s\n' \
	    "esc-route: $f:1: ack: unknown incident 0123456789abcdef" \
	    "esc-route: $f:2: ack: missing \"by\"" \
	    "esc-route: $f:3: resolve: missing \"incident\" or \"alert\"" \
	    "esc-route: $f:4: ack at 2026-11-27T09:55:00Z is before incident $ID opened (2026-11-27T10:00:00Z)" \
	    "esc-route: $f:5: upgrade: \"severity\" must be critical, warning or info" \
	    "esc-route: $f:6: ack: \"at\": not an RFC 3339 time: yesterday" \
	    "esc-route: $f:7: not JSON: syntax error at byte 1" \
	    "esc-route: $f:8: upgrade: incident $ID is already critical" \
	    "esc-route: $f:9: alert: missing \"labels\"")"
	assert_equal "$(grep -v '^esc-route:' <<<"$output" | jq -c 'select(.type == "incident") | [.event, .by]')" '["acked","good"]'
}

@test "an ack before the alert that opens its incident, in one input, says so" {
	{ event ack alert StemeDBAPIDown-db1-critical 1; alert StemeDBAPIDown critical firing 2; } >"$BATS_TEST_TMPDIR/in"
	run route 3 "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	assert_line --partial "esc-route: $BATS_TEST_TMPDIR/in:1: ack at 2026-11-27T10:01:00Z is before incident "
}

@test "events take effect at their own time, never later than now" {
	open_critical
	run route 2 <<<"$(event ack incident "$ID" 10)"
	assert_equal "$(jq -r 'select(.type == "incident") | .at' <<<"$output")" 2026-11-27T10:02:00Z
}
