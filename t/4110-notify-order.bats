#!/usr/bin/env bats
# esc-notify's order and rate across a whole run: critical before warning
# before info, then oldest first, whatever the input order and the rate
# limits; PagerDuty's Events API rate is the channel's default limit, and
# a provider's 429 holds the channel, never kills a delivery before its
# retry window.

load test_helper
load fixtures/notify/helper
bats_require_minimum_version 1.5.0

# many CHANNEL N FILTER: N copies of the page for CHANNEL, each with its
# own dedup_key (…-N) and at (a second apart), changed by FILTER.
many() {
	page "$1" | jq -c --argjson n "$2" 'range($n) as $i | .
	  | .dedup_key += "-\($i)" | .incident += "-\($i)"
	  | .at = ("2026-11-27T10:00:00Z" | fromdate + $i | todate)' |
	    jq -c "${3:-.}"
}

# The dedup keys of the requests the stand-in received for KIND, in order.
keys_seen() {
	jq -r --arg k "$1" 'select(.kind == $k) | .body | fromjson
	  | (.dedup_key // .text)' "$PROV_LOG"
}

@test "limits slack 5/s, 60 warnings then one critical: the critical's post is the first Slack request" {
	channels '.limits = {"slack": "5/s"}'
	{
		many slack 60 '.severity = "warning" | .slack_channel = "#stemedb-alerts-warning" | .summary = "warn \(.dedup_key)"'
		page slack '.dedup_key = "crit-last" | .at = "2026-11-27T10:05:00Z" | .summary = "the critical one"'
	} >"$BATS_TEST_TMPDIR/in"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/in")" -eq 61 ]
	# One transfer at a time: the order the stand-in sees is the order
	# they were started in.
	SECONDS=0
	run --separate-stderr esc-notify -j 1 "$BATS_TEST_TMPDIR/in"
	assert_success
	[ "$SECONDS" -lt 30 ]
	assert_equal "$(jq -s 'map(select(.type == "receipt" and .status == "delivered")) | length' <<<"$output")" 61
	run jq -c 'select(.kind == "slack") | .body | fromjson | .text' "$PROV_LOG"
	[ "${#lines[@]}" -eq 61 ]
	[[ ${lines[0]} == *"the critical one"* ]]
	[[ ${lines[1]} == *"warn inc-20261127-1000-abcd-L1-slack-0"* ]]
	[[ ${lines[60]} == *"warn inc-20261127-1000-abcd-L1-slack-59"* ]]
}

@test "same severity: the oldest page first, whatever the input order; records and receipts keep the input order" {
	channels '.limits = {"webhook": "10/s"}'
	{
		page webhook '.dedup_key = "k-new" | .at = "2026-11-27T10:02:00Z"'
		page webhook '.dedup_key = "k-info" | .severity = "info" | .at = "2026-11-27T09:00:00Z"'
		page webhook '.dedup_key = "k-old" | .at = "2026-11-27T10:01:00Z"'
	} >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr esc-notify -j 1 "$BATS_TEST_TMPDIR/in"
	assert_success
	run jq -r 'select(.type == "receipt") | .dedup_key' <<<"$output"
	assert_output - <<-'OUT'
	k-new
	k-info
	k-old
	OUT
	run jq -r 'select(.kind == "webhook") | .body | fromjson | .dedup_key' "$PROV_LOG"
	assert_output - <<-'OUT'
	k-old
	k-new
	k-info
	OUT
}

@test "pagerduty's default limit is PagerDuty's Events API rate: 120 at once, then 2 a second" {
	many pagerduty 124 >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr esc-notify -j 64 "$BATS_TEST_TMPDIR/in"
	assert_success
	# The last four wait for the bucket: at least 1.5 s after the first.
	run jq -s 'map(select(.kind == "pagerduty") | .t) | sort
	  | ((.[123] - .[0]) * 1000 | floor), ((.[119] - .[0]) * 1000 | floor)' "$PROV_LOG"
	[ "${lines[0]}" -ge 1450 ]
	[ "${lines[1]}" -lt 1400 ]
	# limits.pagerduty null: no limit at all.
	channels '.limits = {"pagerduty": null}'
	: >"$PROV_LOG"
	many pagerduty 124 '.dedup_key += "-b"' >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr esc-notify -j 64 "$BATS_TEST_TMPDIR/in"
	assert_success
	run jq -s 'map(select(.kind == "pagerduty") | .t) | sort | ((.[123] - .[0]) * 1000 | floor)' "$PROV_LOG"
	[ "$output" -lt 1400 ]
}

@test "200 PagerDuty triggers against the stand-in enforcing the Events API rate with 429: all delivered, none dead" {
	stop_servers
	start_prov --pd-events-rate 40/2
	# Faster than the stand-in takes them, so that it answers 429; no
	# Retry-After comes (PagerDuty documents none): the channel waits.
	channels '.limits = {"pagerduty": "100/s"} | .retry = {"max_time": "20s"}'
	many pagerduty 200 >"$BATS_TEST_TMPDIR/in"
	SECONDS=0
	run --separate-stderr esc-notify "$BATS_TEST_TMPDIR/in"
	assert_success
	echo "200 triggers in ${SECONDS}s, $(jq -s 'map(select(.status == 429)) | length' "$PROV_LOG") 429s" >&3
	[ "$SECONDS" -lt 25 ]
	assert_equal "$stderr" ""
	assert_equal "$(jq -sc 'map(select(.type == "receipt")) | group_by(.status) | map([.[0].status, length])' <<<"$output")" '[["delivered",200]]'
	# The stand-in did throttle, and the channel waited after each 429
	# instead of each delivery trying again on its own: fewer 429s than
	# events (each delivery on its own backoff: over 400).
	run jq -s 'map(select(.kind == "pagerduty" and .status == 429)) | length' "$PROV_LOG"
	[ "$output" -gt 0 ]
	[ "$output" -lt 200 ]
	# Each event accepted exactly once.
	run jq -sc 'map(select(.kind == "pagerduty" and .status == 202) | .body | fromjson | .dedup_key) | [length, (unique | length)]' "$PROV_LOG"
	assert_output '[200,200]'
}

@test "a 429 answer past the retry window is a dead receipt, not a retry forever" {
	stop_servers
	start_prov --pd-events-rate 1/30
	channels '.limits = {"pagerduty": null} | .retry = {"max_time": "1s", "base": "200ms", "max_delay": "400ms"}'
	many pagerduty 2 >"$BATS_TEST_TMPDIR/in"
	SECONDS=0
	run --separate-stderr esc-notify "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	[ "$SECONDS" -lt 6 ]
	# The two go out at once: either may be the one the stand-in takes.
	run bash -c "jq -c 'select(.type == \"receipt\") | [.status, .http_status]' | sort" <<<"$output"
	assert_output - <<-'OUT'
	["dead",429]
	["delivered",202]
	OUT
}
