#!/usr/bin/env bats
# esc-notify: retries with backoff and Retry-After, dead letters, timeouts,
# permanent errors, rate limits, concurrency.

load test_helper
load fixtures/notify/helper
bats_require_minimum_version 1.5.0

# The times (seconds since the first) at which the provider saw requests.
times() {
	jq -rs 'map(.t) | .[0] as $f | map(. - $f) | .[] | . * 1000 | floor' "$PROV_LOG"
}

@test "429 with Retry-After is retried after the time the provider asked for" {
	channels '.retry.max_time = "6s"'
	prov_ctl '{"mode": "429", "count": 2, "retry_after": 1}'
	deliver slack
	assert_success
	assert_equal "$(jq -c 'select(.type == "receipt") | [.status, .attempts, .http_status]' <<<"$output")" '["delivered",3,200]'
	run jq -c '[.status, .fault]' "$PROV_LOG"
	assert_output - <<-'OUT'
	[429,"429"]
	[429,"429"]
	[200,null]
	OUT
	# Retry-After: 1 means not before a second has passed, each time.
	run times
	[ "${lines[1]}" -ge 990 ]
	[ "${lines[2]}" -ge 1990 ]
}

@test "500 and a dropped connection are retried with backoff" {
	prov_ctl '{"mode": "500", "count": 2, "path": "/v2/"}'
	prov_ctl '{"mode": "drop", "count": 1, "path": "/hook"}'
	{ page pagerduty; page webhook; } >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr esc-notify "$BATS_TEST_TMPDIR/in"
	assert_success
	run jq -c 'select(.type == "receipt") | [.channel, .status, .attempts, .http_status]' <<<"$output"
	assert_output - <<-'OUT'
	["pagerduty","delivered",3,202]
	["webhook","delivered",2,200]
	OUT
	assert_equal "$(jq -sc 'map(select(.kind == "webhook") | .status)' "$PROV_LOG")" '[0,200]'
}

@test "a provider slower than the transfer timeout is retried" {
	channels '.timeouts.transfer = "300ms"'
	prov_ctl '{"mode": "slow", "count": 1, "latency_ms": 1500}'
	deliver webhook
	assert_success
	assert_equal "$(jq -c 'select(.type == "receipt") | [.status, .attempts]' <<<"$output")" '["delivered",2]'
}

@test "retries end at the severity's bound: a dead receipt, a line on stderr, exit 1" {
	channels '.retry = {"critical": "1s", "warning": "10m", "base": "100ms", "max_delay": "200ms"}'
	prov_ctl '{"mode": "500"}'
	page webhook >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr esc-notify --now 2026-11-27T10:01:00Z "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	run jq -c 'select(.type == "receipt") | [.status, .http_status, .error, .at, .attempts > 2]' <<<"$output"
	assert_output '["dead",500,"HTTP 500: {\"error\": \"internal\"}","2026-11-27T10:01:00Z",true]'
	assert_equal "$stderr" 'esc-notify: webhook inc-20261127-1000-abcd-L1-webhook trigger webhook: dead after retries: HTTP 500: {"error": "internal"}'
}

@test "the bound comes from the policy when the channels file gives none" {
	channels 'del(.retry)'
	sed 's/"retry_for": "2m"/"retry_for": "1s"/' "$POLICY" >"$BATS_TEST_TMPDIR/policy.json"
	grep -q '"retry_for": "1s"' "$BATS_TEST_TMPDIR/policy.json"
	prov_ctl '{"mode": "500"}'
	page webhook '.severity = "info"' >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr esc-notify -p "$BATS_TEST_TMPDIR/policy.json" "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	assert_equal "$(jq -c 'select(.type == "receipt") | .status' <<<"$output")" '"dead"'
}

@test "400 is permanent: failed after one attempt, with the provider's reason" {
	deliver pagerduty '.summary = "" | .subject = ""'
	assert_failure 1
	assert_equal "$(jq -c 'select(.type == "receipt") | [.status, .attempts, .http_status, .error]' <<<"$output")" \
	    '["failed",1,400,"HTTP 400: {\"status\": \"invalid event\", \"message\": \"Event object is invalid\", \"errors\": [\"payload.summary missing\"]}"]'
	assert_equal "$(wc -l <"$PROV_LOG")" 1
}

@test "the token bucket spaces deliveries on a rate-limited channel" {
	channels '.limits = {"slack": "4/s"}'
	for i in 1 2 3 4 5 6 7 8 9; do page slack ".dedup_key += \"-$i\""; done >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr esc-notify "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_equal "$(jq -s 'map(select(.type == "receipt" and .status == "delivered")) | length' <<<"$output")" 9
	# A burst of 4, then one every 250 ms: the ninth not before 1.25 s.
	run times
	[ "${lines[8]}" -ge 1150 ]
}

@test "-j bounds the transfers in flight" {
	prov_ctl '{"mode": "slow", "latency_ms": 300}'
	for i in 1 2 3 4 5 6; do page webhook ".dedup_key += \"-$i\""; done >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr esc-notify -j 2 "$BATS_TEST_TMPDIR/in"
	assert_success
	# Two at a time, 300 ms each: three waves.
	run times
	[ "${lines[5]}" -ge 550 ]
}

@test "bare numbers in retry and timeouts are seconds" {
	channels '.retry = {"max_time": 0.5, "base": 0.05} | .timeouts = {"connect": 2, "transfer": 5}'
	prov_ctl '{"mode": "500"}'
	deliver webhook
	assert_failure 1
	assert_equal "$(jq -r 'select(.type == "receipt") | .status' <<<"$output")" dead
}

@test "a duration in milliseconds is held to a week, as the other forms are" {
	# Past it, the deadline (now + max_time) overflowed: every delivery
	# was dead at its first failure.  Found by t/fuzz/fuzz-time.
	refuses_channels '.retry = {"critical": "604800001ms"}' \
	    "retry.critical: bad duration (\"500ms\", \"2s\", \"10m\")"
	refuses_channels '.retry = {"max_time": "9223372036854775807ms"}' \
	    "retry.max_time: bad duration (\"500ms\", \"2s\", \"10m\")"
	refuses_channels '.retry = {"base": "99999999999999999999ms"}' \
	    "retry.base: bad duration (\"500ms\", \"2s\", \"10m\")"
	channels '.retry = {"critical": "604800000ms", "base": "250ms"}'
	run esc-notify /dev/null
	assert_success
}
