#!/usr/bin/env bats
# esc-route: each severity's escalation levels at their exact minutes,
# channels, dedup keys, late runs, levels firing once.

load test_helper
load fixtures/route/helpers

@test "critical: opened record and level 1 on all four channels at once" {
	run route 0 <<<"$(alert StemeDBAPIDown critical firing 0)"
	assert_success
	id=$(incident_id)
	[[ $id =~ ^[0-9a-f]{16}$ ]]
	assert_equal "$(jq -c 'select(.type == "incident") | [.event, .severity, .level, .alert, .alertname, .at, .opened_at, .summary]' <<<"$output")" \
	    '["opened","critical",1,"StemeDBAPIDown-db1-critical","StemeDBAPIDown","2026-11-27T10:00:00Z","2026-11-27T10:00:00Z","StemeDBAPIDown on db1"]'
	assert_equal "$(jq -c 'select(.type == "page") | [.event, .level, .channel, .to, .dedup_key, .urgency, .mention, .slack_channel, .late_by]' <<<"$output")" \
	    "$(printf '%s\n' \
	    "[\"trigger\",1,\"pagerduty\",[\"primary\"],\"$id-L1-pagerduty\",\"high\",null,null,null]" \
	    "[\"trigger\",1,\"slack\",[\"primary\"],\"$id-L1-slack\",null,\"channel\",\"#stemedb-alerts-critical\",null]" \
	    "[\"trigger\",1,\"email\",[\"primary\",\"backup\",\"manager\"],\"$id-L1-email\",null,null,null,null]" \
	    "[\"trigger\",1,\"sms\",[\"primary\"],\"$id-L1-sms\",null,null,null,null]")"
	# Pages carry what a person needs to act.
	assert_equal "$(jq -c 'select(.type == "page") | [.incident, .alert, .alertname, .severity, .runbook, .labels.instance, (.subject | length > 0), (.text | length > 0)]' <<<"$output" | sort -u)" \
	    "[\"$id\",\"StemeDBAPIDown-db1-critical\",\"StemeDBAPIDown\",\"critical\",\"https://runbooks.example/StemeDBAPIDown\",\"db1\",true,true]"
	# Consumed: the alert itself is not written out.
	refute_output --partial '"type":"alert"'
}

@test "critical: levels 2, 3, 4 at 5, 15 and 30 minutes, runs every minute" {
	route 0 <<<"$(alert StemeDBAPIDown critical firing 0)" >"$BATS_TEST_TMPDIR/all"
	tick_range 1 40
	output=$(cat "$BATS_TEST_TMPDIR/all")
	run pages
	assert_output "$(printf '%s\n' \
	    'trigger L1 pagerduty 2026-11-27T10:00:00Z' \
	    'trigger L1 slack 2026-11-27T10:00:00Z' \
	    'trigger L1 email 2026-11-27T10:00:00Z' \
	    'trigger L1 sms 2026-11-27T10:00:00Z' \
	    'trigger L2 pagerduty 2026-11-27T10:05:00Z' \
	    'trigger L2 slack 2026-11-27T10:05:00Z' \
	    'trigger L3 pagerduty 2026-11-27T10:15:00Z' \
	    'trigger L4 email 2026-11-27T10:30:00Z')"
	output=$(cat "$BATS_TEST_TMPDIR/all")
	# On time: no run was late.
	assert_equal "$(jq -s '[.[] | select(.late_by)] | length' <<<"$output")" 0
	assert_equal "$(jq -c 'select(.type == "page" and .level > 1) | [.level, .to]' <<<"$output")" \
	    "$(printf '%s\n' '[2,["backup","manager"]]' '[2,["primary","backup","manager"]]' \
	    '[3,["director","sre_lead","product_lead"]]' '[4,["cto","vp_engineering","customer_success"]]')"
	assert_equal "$(jq -r 'select(.type == "incident") | "\(.event) \(.level) \(.at)"' <<<"$output")" \
	    "$(printf '%s\n' 'opened 1 2026-11-27T10:00:00Z' 'escalated 2 2026-11-27T10:05:00Z' \
	    'escalated 3 2026-11-27T10:15:00Z' 'escalated 4 2026-11-27T10:30:00Z')"
}

@test "critical level 2 opens the incident channel named from the opening time" {
	route 0 <<<"$(alert StemeDBAPIDown critical firing 0 '' db1)" >/dev/null
	run route 5 </dev/null
	assert_success
	id=$(jq -r 'select(.type == "page") | .incident' <<<"$output" | head -1)
	assert_equal "$(jq -c 'select(.type == "page" and .channel == "slack") | [.slack_channel, .create_channel, .mention, .dedup_key]' <<<"$output")" \
	    "[\"#incident-2026-11-27-10-00\",true,\"channel\",\"$id-L2-slack\"]"
}

@test "warning: L1 low urgency, L2 paged at 30 min, L3 to manager at 2 h" {
	route 0 <<<"$(alert HighAPIErrorRate warning firing 0)" >"$BATS_TEST_TMPDIR/all"
	for m in 29 30 31 119 120 121 240; do
		route "$m" </dev/null >>"$BATS_TEST_TMPDIR/all"
	done
	output=$(cat "$BATS_TEST_TMPDIR/all")
	assert_equal "$(jq -c 'select(.type == "page") | [.level, .channel, .to, .urgency, .mention, .slack_channel, .at]' <<<"$output")" \
	    "$(printf '%s\n' \
	    '[1,"pagerduty",["primary"],"low",null,null,"2026-11-27T10:00:00Z"]' \
	    '[1,"slack",["primary"],null,"here","#stemedb-alerts-warning","2026-11-27T10:00:00Z"]' \
	    '[1,"email",["primary"],null,null,null,"2026-11-27T10:00:00Z"]' \
	    '[2,"pagerduty",["primary"],"high",null,null,"2026-11-27T10:30:00Z"]' \
	    '[3,"email",["manager"],null,null,null,"2026-11-27T12:00:00Z"]')"
}

@test "info: Slack without mention, and never escalates" {
	route 0 <<<"$(alert CacheInfo info firing 0)" >"$BATS_TEST_TMPDIR/all"
	for m in 5 30 120 600 1440; do
		route "$m" </dev/null >>"$BATS_TEST_TMPDIR/all"
	done
	output=$(cat "$BATS_TEST_TMPDIR/all")
	assert_equal "$(jq -c 'select(.type == "page") | [.level, .channel, .mention, .slack_channel, .to]' <<<"$output")" \
	    '[1,"slack","none","#stemedb-alerts-info",["primary"]]'
	assert_equal "$(jq -c 'select(.type != "page")' <<<"$output" | jq -r .type | sort | uniq -c | awk '{print $2, $1}')" 'incident 1'
}

@test "a late run fires every level due, oldest first, at the time each was due" {
	route 0 <<<"$(alert StemeDBAPIDown critical firing 0)" >/dev/null
	run route 31 </dev/null
	assert_success
	assert_equal "$(jq -r 'select(.type == "page") | "\(.level) \(.channel) \(.at) \(.late_by)"' <<<"$output")" \
	    "$(printf '%s\n' '2 pagerduty 2026-11-27T10:05:00Z 1560' '2 slack 2026-11-27T10:05:00Z 1560' \
	    '3 pagerduty 2026-11-27T10:15:00Z 960' '4 email 2026-11-27T10:30:00Z 60')"
	# Timeline and level tasks are in time order too.
	run jq -r 'select(.type == "task") | .at' <<<"$output"
	assert_output "$(sort <<<"$output")"
}

@test "an alert first seen long after it started opens at its start, all due levels late" {
	run route 20 <<<"$(alert StemeDBAPIDown critical firing 0)"
	assert_success
	assert_equal "$(jq -r 'select(.type == "page") | "\(.level) \(.late_by)"' <<<"$output" | uniq)" \
	    "$(printf '%s\n' '1 1200' '2 900' '3 300')"
}

@test "each level fires once, however many runs and repeated polls" {
	a=$(alert StemeDBAPIDown critical firing 0)
	for m in 0 0 1 5 5 6 15 15 30 31; do
		route "$m" <<<"$a" >>"$BATS_TEST_TMPDIR/all"
	done
	run jq -r 'select(.type == "page" or .type == "task") | .dedup_key' "$BATS_TEST_TMPDIR/all"
	assert_success
	assert_equal "$(sort <<<"$output" | uniq -d)" ""
	assert_equal "$(jq -s '[.[] | select(.type == "page")] | length' "$BATS_TEST_TMPDIR/all")" 8
	assert_equal "$(jq -s '[.[] | select(.type == "incident" and .event == "opened")] | length' "$BATS_TEST_TMPDIR/all")" 1
}

@test "the incident id is the same on two machines that see the same alert" {
	a=$(alert StemeDBAPIDown critical firing 0)
	run route 0 <<<"$a"
	one=$(incident_id)
	ST="$BATS_TEST_TMPDIR/other" run route 3 <<<"$a"
	assert_equal "$(incident_id)" "$one"
	# Another opening time, another incident.
	ST="$BATS_TEST_TMPDIR/third" run route 3 <<<"$(alert StemeDBAPIDown critical firing 1)"
	refute [ "$(incident_id)" = "$one" ]
}

@test "records the router does not act on pass through unchanged" {
	in='{"type":"heartbeat","at":"2026-11-27T10:00:00Z","alerts":3,"ok":true, "x" : 1}'
	run route 0 <<<"$in"
	assert_success
	assert_output "$in"
	[ ! -s "$ST" ] || [ "$(tail -1 "$ST")" = "end 0" ]
}
