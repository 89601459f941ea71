#!/usr/bin/env bats
# The whole pipeline: esc-tick against a real Alertmanager on 127.0.0.1,
# with simulated minutes (ESC_NOW), delivering to the local providers.

load test_helper
load alertmanager
load fixtures/notify/helper

setup() {
	start_prov
	start_smtp
	channels
	pipeline_setup
}

teardown() {
	pipeline_teardown
}

# post MIN NAME SEVERITY INSTANCE: Prometheus re-sends firing alerts every
# evaluation, each time with an end a few minutes ahead.
post() {
	am_post "[{\"labels\":{\"alertname\":\"$2\",\"severity\":\"$3\",\"instance\":\"$4\",\"job\":\"stemedb\"},
	  \"annotations\":{\"summary\":\"$2 on $4\"},\"startsAt\":\"$(at 0)\",\"endsAt\":\"$(at $(($1 + 5)))\"}]"
}

# resolve NAME SEVERITY INSTANCE: Prometheus' last word on an alert.
resolve_am() {
	am_post "[{\"labels\":{\"alertname\":\"$1\",\"severity\":\"$2\",\"instance\":\"$3\",\"job\":\"stemedb\"},
	  \"annotations\":{\"summary\":\"$1 on $3\"},\"startsAt\":\"$(at 0)\",\"endsAt\":\"$(date -u -d '-1 second' +%Y-%m-%dT%H:%M:%SZ)\"}]"
}

# inhibited NAME: Alertmanager lists no alert NAME that is not inhibited.
inhibited() {
	curl -sf "$AM_URL/api/v2/alerts?inhibited=false" |
	    jq -e --arg n "$1" 'map(select(.labels.alertname == $n)) | length == 0' >/dev/null
}

# The delivered pages as "minute level channel person-or-place event".
delivered() {
	jq -rs --argjson t0 "$T0" '
	    (map(select(.type == "page")) | map({key: (.dedup_key + "/" + .event), value: .}) | from_entries) as $p
	    | map(select(.type == "receipt" and .status == "delivered")) | .[]
	    | . as $r | $p[$r.dedup_key + "/" + $r.event] as $pg | select($pg != null)
	    | "\((($pg.at | fromdateiso8601) - $t0) / 60 | floor) L\($pg.level) \($pg.alertname) \($pg.channel) \($r.person // $r.recipient) \($r.event)"' "$J"
}

@test "Alertmanager end to end: levels at their minutes, silences and inhibitions never paged, resolves closed in PagerDuty" {
	post 0 StemeDBAPIDown critical api-1
	post 0 HighAPIErrorRate warning api-1      # inhibited by the API being down
	post 0 BackupStale info db-1
	am_silence alertname BackupStale >/dev/null
	# Alertmanager learns of the inhibiting alert a moment after the post.
	wait_until inhibited HighAPIErrorRate || true
	for m in $(seq 0 16); do
		post "$m" StemeDBAPIDown critical api-1
		post "$m" HighAPIErrorRate warning api-1
		post "$m" BackupStale info db-1
		run tick "$m"
		assert_success
	done
	resolve_am StemeDBAPIDown critical api-1
	run tick 17
	assert_success
	run delivered
	# The primary of the week of 2026-11-28 is whoever the roster says:
	# ask esc-rotate rather than hard-code the calendar.
	P=$(esc-rotate --oncall --at "$(at 0)" | jq -r 'select(.role == "primary") | .person')
	B=$(esc-rotate --oncall --at "$(at 0)" | jq -r 'select(.role == "backup") | .person')
	M=$(esc-rotate --oncall --at "$(at 0)" | jq -r 'select(.role == "manager") | .person')
	assert_line "0 L1 StemeDBAPIDown pagerduty pagerduty trigger"
	assert_line "0 L1 StemeDBAPIDown sms $P trigger"
	assert_line "0 L1 StemeDBAPIDown email $B trigger"
	assert_line "5 L2 StemeDBAPIDown pagerduty pagerduty trigger"
	assert_line "15 L3 StemeDBAPIDown pagerduty pagerduty trigger"
	refute_output --partial "BackupStale"
	# The inhibited warning is paged only once its inhibitor is gone, at
	# minute 17, late by 17 minutes from its start.
	assert_line "0 L1 HighAPIErrorRate pagerduty pagerduty trigger"
	assert_equal "$(jq -r 'select(.type == "page" and .alertname == "HighAPIErrorRate") | .late_by' "$J" | sort -u)" 1020
	refute_output --regexp " L4 "
	# Resolved in PagerDuty: one resolve per trigger, same dedup_key.
	keys=$(jq -r 'select(.type == "page" and .alertname == "StemeDBAPIDown" and .channel == "pagerduty" and .event == "trigger") | .dedup_key' "$J" | sort)
	triggers=$(jq -r 'select(.kind == "pagerduty") | .body | fromjson | select(.event_action == "trigger") | .dedup_key' "$PROV_LOG" | sort)
	resolves=$(jq -r 'select(.kind == "pagerduty") | .body | fromjson | select(.event_action == "resolve") | .dedup_key' "$PROV_LOG" | sort)
	assert_equal "$(wc -l <<<"$keys")" 3
	assert_equal "$(comm -12 <(echo "$keys") <(echo "$triggers"))" "$keys"
	assert_equal "$resolves" "$keys"
	# A heartbeat per tick, all ok.
	assert_equal "$(jq -r 'select(.type == "heartbeat") | .ok' "$J" | sort -u)" true
	assert_equal "$(jq -r 'select(.type == "heartbeat")' "$J" | jq -s length)" 18
	assert_equal "$(stat -c %a "$ESC_DIR")" 700
	assert_equal "$(stat -c %a "$J")" 600
}

@test "an alert Alertmanager holds with a 1.5 MB description pages, cut and flagged oversized" {
	# Too big for a command line: posted from a file.
	"$PY" - "$BATS_TEST_TMPDIR/huge.json" "$(at 0)" "$(at 5)" <<-'PY'
	import json, sys
	print(json.dumps([{"labels": {"alertname": "StemeDBAPIDown", "severity": "critical",
	                              "instance": "api-1", "job": "stemedb"},
	                   "annotations": {"summary": "StemeDB API is down on api-1",
	                                   "description": "stack trace: " + "x" * 1500000},
	                   "startsAt": sys.argv[2], "endsAt": sys.argv[3],
	                   "generatorURL": "http://prometheus:9090/graph?g0.expr=" + "q" * 300000}]),
	      file=open(sys.argv[1], "w"))
	PY
	curl -sf -X POST -H 'Content-Type: application/json' \
	    --data-binary "@$BATS_TEST_TMPDIR/huge.json" "$AM_URL/api/v2/alerts"
	# Alertmanager gives it back whole: a line longer than 1 MiB.
	assert [ "$(curl -sf "$AM_URL/api/v2/alerts" | jq -c '.[0]' | wc -c)" -gt 1800000 ]
	run tick 0
	assert_success
	run delivered
	P=$(esc-rotate --oncall --at "$(at 0)" | jq -r 'select(.role == "primary") | .person')
	assert_line "0 L1 StemeDBAPIDown pagerduty pagerduty trigger"
	assert_line "0 L1 StemeDBAPIDown sms $P trigger"
	# Every record of the journal is well under the readers' limit.
	assert_equal "$(LC_ALL=C awk '{ print (length($0) < 65536) }' "$J" | sort -u)" 1
	assert_equal "$(jq -r 'select(.type == "page" and .channel == "pagerduty") | .summary' "$J")" "StemeDB API is down on api-1"
	assert_equal "$(jq -r 'select(.kind == "pagerduty") | .body | fromjson | .payload.summary' "$PROV_LOG")" \
	    "[CRITICAL L1] StemeDBAPIDown: StemeDB API is down on api-1"
	# What esc-classify made of it: cut, and flagged.
	run bash -c "curl -sf '$AM_URL/api/v2/alerts' | jq -c '.[]' | esc-classify --max-line 4M |
	    jq -c '[.hygiene, .truncated, (.annotations.description | endswith(\"x…[truncated]\"))]'"
	assert_output '[["oversized"],["annotations.description","generator_url"],true]'
}

@test "Alertmanager down: esc-tick says so, escalates what is due, resolves nothing, exits 1" {
	post 0 StemeDBAPIDown critical api-1
	run tick 0
	assert_success
	am_stop
	run tick 5
	assert_failure 1
	assert_line --partial "esc-tick: Alertmanager $AM_URL:"
	run delivered
	assert_line "5 L2 StemeDBAPIDown pagerduty pagerduty trigger"
	refute_line --partial " resolve"
	assert_equal "$(jq -c 'select(.type == "heartbeat") | .ok' "$J" | tr '\n' ' ')" "true false "
	refute_output --partial '"event":"resolved"'
}

@test "eight esc-tick at once on one directory page each page once" {
	post 0 StemeDBAPIDown critical api-1
	post 0 WALDiskNearlyFull critical db-2
	local pids=()
	for i in 1 2 3 4 5 6 7 8; do
		ESC_NOW=$(at 0) esc-tick 2>>"$BATS_TEST_TMPDIR/ticks.err" &
		pids+=($!)
	done
	# Only the ticks: the servers are children of this shell too.
	wait "${pids[@]}"
	run cat "$BATS_TEST_TMPDIR/ticks.err"
	assert_output ''
	run bash -c "jq -r 'select(.kind == \"pagerduty\") | .body | fromjson | .dedup_key' '$PROV_LOG' | sort | uniq -d"
	assert_output ''
	assert_equal "$(jq -r 'select(.kind == "pagerduty")' "$PROV_LOG" | jq -s length)" 2
	assert_equal "$(jq -r 'select(.type == "heartbeat")' "$J" | jq -s length)" 8
}

@test "the providers fail for a while: everything is delivered after the outage" {
	post 0 StemeDBAPIDown critical api-1
	# 500 for the first 4 requests, whatever their path (a count, not a
	# time: a slow machine must not reach the provider after the outage);
	# the retry bound (channels: max_time) is far longer, so nothing dies.
	# SMS replies are not read, so that the outage meets the deliveries
	# (a reply poll that fails makes the tick exit 1, as it should).
	channels '.retry = {"max_time": "20s", "base": "200ms", "max_delay": "1s"} | .sms.replies = false'
	prov_ctl '{"mode": "500", "count": 4}'
	run tick 0
	assert_success
	run delivered
	assert_equal "$(grep -c ' trigger$' <<<"$output")" 6
	assert_equal "$(jq -r 'select(.type == "receipt") | .status' "$J" | sort -u)" delivered
	assert [ "$(jq -r 'select(.status == 500)' "$PROV_LOG" | jq -s length)" -gt 0 ]
}

@test "a delivery that outlives its bound is dead: receipt, stderr, exit 1" {
	post 0 StemeDBAPIDown critical api-1
	channels '.retry = {"max_time": "1s", "base": "200ms", "max_delay": "400ms"}'
	prov_ctl '{"mode": "500", "path": "/v2/enqueue"}'
	# A few tries in the tick, then back to the spool (esc-notify(1),
	# Deadline); the first tick past its bound makes it dead.
	run tick 0
	assert_failure 1
	post 1 StemeDBAPIDown critical api-1
	run tick 1
	assert_failure 1
	assert_equal "$(jq -r 'select(.type == "receipt" and .channel == "pagerduty") | .status' "$J")" dead
	assert_equal "$(jq -r 'select(.type == "receipt" and .channel != "pagerduty") | .status' "$J" | sort -u)" delivered
	assert_equal "$(jq -c 'select(.type == "heartbeat") | .ok' "$J" | sort -u)" false
}

@test "esc-page opens a manual incident that escalates and that a snapshot does not close" {
	run env ESC_NOW="$(at 0)" esc-page --severity critical --by ops "db-3 is on fire"
	assert_success
	id=$(jq -r 'select(.type == "incident") | .incident' <<<"$output")
	assert_equal "$(jq -r 'select(.type == "page") | .channel' <<<"$output" | sort | tr '\n' ' ')" "email pagerduty slack sms "
	run tick 5
	assert_success
	run delivered
	assert_line "5 L2 ManualPage pagerduty pagerduty trigger"
	refute_line --partial " resolve"
	# With esc-tick's directory, the resolve's pages are delivered too.
	run env ESC_NOW="$(at 6)" esc-resolve "$id" --by ops
	assert_success
	assert_equal "$(jq -r 'select(.type == "incident") | .event' <<<"$output")" resolved
	run delivered
	assert_line "6 L1 ManualPage pagerduty pagerduty resolve"
	assert_line "6 L2 ManualPage pagerduty pagerduty resolve"
	assert_equal "$(ls "$ESC_DIR/pending")" ''
}
