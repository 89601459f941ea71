#!/usr/bin/env bats
# esc-report over incidents that are groups of alerts (issue 20): metrics
# count incidents and their alerts, the review lists storms (incidents of
# more than tuning.storm_alerts alerts) as a noise source.  The journal is
# written by hand below:
#   n1 critical NodeDown {cluster: prod-eu}: opened 10:00 (1 alert), 59
#      joined by 10:05 (60), one left at 10:20 (59), resolved 10:45:
#      60 alerts, lasted 45m
#   a1 critical StemeDBAPIDown: opened 10:02, no "alerts" field (counts
#      1), acked 10:04, resolved 10:30
#   d1 warning DiskFull: opened 11:00, joined at 11:10 (3): 3 alerts, open
#   s1 warning SlowQuery: opened 12:00, joined at 12:30 (51), open:
#      51 alerts, open for 30m (its latest record)
# critical: 2 incidents, 61 alerts; warning: 2 incidents, 54 alerts;
# all: 4 incidents, 115 alerts.  Storms over 50: n1 (60), s1 (51).

load test_helper
bats_require_minimum_version 1.5.0

WIN=(--since 2026-11-02T00:00:00Z --until 2026-11-09T00:00:00Z)

setup() {
	J=$BATS_TEST_TMPDIR/journal.ndjson
	local g='"group":{"alertname":"NodeDown","cluster":"prod-eu","service":""}'
	{
		echo '{"type":"incident","incident":"n1","event":"opened","severity":"critical","level":1,"alert":"n-001","alertname":"NodeDown","at":"2026-11-02T10:00:00Z","opened_at":"2026-11-02T10:00:00Z","alerts":1,'"$g"'}'
		echo '{"type":"page","incident":"n1","alert":"n-001","alertname":"NodeDown","severity":"critical","level":1,"channel":"pagerduty","to":["primary"],"at":"2026-11-02T10:00:00Z","dedup_key":"n1-L1-pagerduty","event":"trigger"}'
		echo '{"type":"incident","incident":"n1","event":"joined","severity":"critical","level":1,"alert":"n-002","alertname":"NodeDown","at":"2026-11-02T10:01:00Z","opened_at":"2026-11-02T10:00:00Z","alerts":2,'"$g"'}'
		echo '{"type":"incident","incident":"a1","event":"opened","severity":"critical","level":1,"alert":"a-1","alertname":"StemeDBAPIDown","at":"2026-11-02T10:02:00Z","opened_at":"2026-11-02T10:02:00Z"}'
		echo '{"type":"incident","incident":"a1","event":"acked","severity":"critical","level":1,"alert":"a-1","alertname":"StemeDBAPIDown","at":"2026-11-02T10:04:00Z","opened_at":"2026-11-02T10:02:00Z","by":"alice"}'
		echo '{"type":"incident","incident":"n1","event":"joined","severity":"critical","level":1,"alert":"n-060","alertname":"NodeDown","at":"2026-11-02T10:05:00Z","opened_at":"2026-11-02T10:00:00Z","alerts":60,'"$g"'}'
		echo '{"type":"incident","incident":"n1","event":"left","severity":"critical","level":2,"alert":"n-017","alertname":"NodeDown","at":"2026-11-02T10:20:00Z","opened_at":"2026-11-02T10:00:00Z","alerts":59,'"$g"'}'
		echo '{"type":"incident","incident":"a1","event":"resolved","severity":"critical","level":1,"alert":"a-1","alertname":"StemeDBAPIDown","at":"2026-11-02T10:30:00Z","opened_at":"2026-11-02T10:02:00Z"}'
		echo '{"type":"incident","incident":"n1","event":"resolved","severity":"critical","level":2,"alert":"n-001","alertname":"NodeDown","at":"2026-11-02T10:45:00Z","opened_at":"2026-11-02T10:00:00Z","alerts":0,'"$g"'}'
		echo '{"type":"incident","incident":"d1","event":"opened","severity":"warning","level":1,"alert":"d-1","alertname":"DiskFull","at":"2026-11-02T11:00:00Z","opened_at":"2026-11-02T11:00:00Z","alerts":1}'
		echo '{"type":"incident","incident":"d1","event":"joined","severity":"warning","level":1,"alert":"d-3","alertname":"DiskFull","at":"2026-11-02T11:10:00Z","opened_at":"2026-11-02T11:00:00Z","alerts":3}'
		echo '{"type":"incident","incident":"s1","event":"opened","severity":"warning","level":1,"alert":"s-1","alertname":"SlowQuery","at":"2026-11-02T12:00:00Z","opened_at":"2026-11-02T12:00:00Z","alerts":1}'
		echo '{"type":"incident","incident":"s1","event":"joined","severity":"warning","level":1,"alert":"s-51","alertname":"SlowQuery","at":"2026-11-02T12:30:00Z","opened_at":"2026-11-02T12:00:00Z","alerts":51}'
		# An ack naming an alert that joined acks its incident.
		echo '{"type":"ack","alert":"s-51","by":"bob","at":"2026-11-02T12:40:00Z"}'
	} > "$J"
}

@test "metrics: incidents and their alerts per severity; an incident without the field is one alert; joined and left are read" {
	run --separate-stderr esc-report metrics -f json "$J"
	assert_success
	assert_equal "$stderr" ''
	run jq -c '[.severities.critical, .severities.warning, .severities.info, .all]
	    | map([.incidents, .alerts, .acked, .resolved])' <<<"$output"
	assert_output '[[2,61,1,2],[2,54,1,0],[0,0,0,0],[4,115,2,2]]'
	run esc-report metrics "$J"
	assert_success
	assert_line --regexp '^severity +incidents +alerts +acked +never-acked '
	assert_line --regexp '^critical +2 +61 +1 +1 +2 +0 '
	run esc-report metrics -f markdown "$J"
	assert_line '| all | 4 | 115 | 2 | 2 | 2 | 2 | 0 | 0 |'
	run esc-report metrics -f prometheus "$J"
	assert_line '# TYPE esc_alerts gauge'
	assert_line 'esc_alerts{severity="critical"} 61'
	assert_line 'esc_alerts{severity="all"} 115'
}

@test "review: storms over tuning.storm_alerts (default 50), the biggest first, with size and duration, as a noise source" {
	run esc-report review -f json "${WIN[@]}" "$J"
	assert_success
	run jq -c '.storms[] | [.incident, .alert, .severity, .alerts, .opened_at, .resolved_at, .duration]' <<<"$output"
	assert_output '["n1","NodeDown","critical",60,"2026-11-02T10:00:00Z","2026-11-02T10:45:00Z",2700]
["s1","SlowQuery","warning",51,"2026-11-02T12:00:00Z",null,1800]'
	run bash -c "esc-report review -f json ${WIN[*]} '$J' | jq -r '.recommendations[] | select(.problem == \"storm\") | .alert + \": \" + .action'"
	assert_line --index 0 'NodeDown: a storm of 60 alerts in one incident (n1), lasted 45m: a noise source; find the common cause the alerts share, and alert on it once (an inhibition, a group-level alert)'
	run esc-report review "${WIN[@]}" "$J"
	assert_success
	assert_line 'Storms (incidents of more than 50 alerts)'
	assert_line '  SlowQuery: a storm of 51 alerts in one incident (s1), open for 30m: a noise source; find the common cause the alerts share, and alert on it once (an inhibition, a group-level alert)'
	run esc-report review -f markdown "${WIN[@]}" "$J"
	assert_line '## Storms (incidents of more than 50 alerts)'
	assert_line --regexp '^- NodeDown: a storm of 60 alerts in one incident \(n1\), lasted 45m: '
	run esc-report review -f html "${WIN[@]}" "$J"
	assert_line --partial '<h2>Storms (incidents of more than 50 alerts)</h2>'
	assert_line --partial '<li><b>NodeDown</b>: a storm of 60 alerts'
}

@test "review: the policy's tuning.storm_alerts moves the line; out of range is a policy error; no storm says none" {
	P=$BATS_TEST_TMPDIR/policy.json
	sed 's/"unused_after": "90d"/"unused_after": "90d", "storm_alerts": 55/' \
	    "$ESC_SRC/share/esc/policy.json" > "$P"
	run esc-report review -p "$P" -f json "${WIN[@]}" "$J"
	assert_success
	assert_equal "$(jq -c '[.storms[].incident]' <<<"$output")" '["n1"]'
	sed 's/"unused_after": "90d"/"unused_after": "90d", "storm_alerts": 100/' \
	    "$ESC_SRC/share/esc/policy.json" > "$P"
	run esc-report review -p "$P" "${WIN[@]}" "$J"
	assert_success
	assert_output --partial $'Storms (incidents of more than 100 alerts)\n  none'
	sed 's/"unused_after": "90d"/"unused_after": "90d", "storm_alerts": 0/' \
	    "$ESC_SRC/share/esc/policy.json" > "$P"
	run esc-report review -p "$P" "${WIN[@]}" "$J"
	assert_failure 2
	assert_output --regexp 'tuning\.storm_alerts: must be between 1 and 1e\+09$'
}
