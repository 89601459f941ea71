#!/usr/bin/env bats
# esc-ack, esc-resolve, esc-upgrade: operator events into esc-route.

load test_helper
load fixtures/route/helpers

open_incident() {
	route 0 <<<"$(alert "$1" "$2" firing 0)" >/dev/null
	ID=$(awk -F'\t' 'NR == 2 { print $1 }' "$ST")
}

@test "esc-ack acks by incident id, --by defaults to USER" {
	open_incident StemeDBAPIDown critical
	USER=dave run esc-ack "$ID" -s "$ST" --now "$(tm 3)" --note "on it" --actionable
	assert_success
	assert_equal "$(jq -c 'select(.type == "incident") | [.event, .incident, .at, .by, .note, .actionable]' <<<"$output")" \
	    "[\"acked\",\"$ID\",\"2026-11-27T10:03:00Z\",\"dave\",\"on it\",true]"
	# Level 2 (unacked) does not fire.
	run route 6 </dev/null
	refute_output --partial '"type":"page"'
}

@test "esc-ack takes an alert id, ESC_STATE and ESC_NOW, and esc-route's exit status" {
	open_incident StemeDBAPIDown critical
	ESC_STATE=$ST ESC_NOW=$(tm 2) run esc-ack StemeDBAPIDown-db1-critical --by erin --not-actionable
	assert_success
	assert_equal "$(jq -c 'select(.type == "incident") | [.event, .by, .actionable, .at]' <<<"$output")" \
	    '["acked","erin",false,"2026-11-27T10:02:00Z"]'
	ESC_STATE=$ST ESC_NOW=$(tm 2) run esc-ack 0000000000000000 --by erin
	assert_failure 1
	assert_output 'esc-route: -:1: ack: unknown incident 0000000000000000'
}

@test "esc-resolve resolves: resolve pages and the post-mortem" {
	open_incident StemeDBAPIDown critical
	run esc-resolve "$ID" -s "$ST" --by frank --now "$(tm 4)"
	assert_success
	assert_equal "$(jq -r '.type + " " + (.event // "")' <<<"$output" | sort | uniq -c | awk '{print $1, $2, $3}')" \
	    "$(printf '%s\n' '1 incident resolved' '4 page resolve' '1 postmortem ' '1 task ')"
}

@test "esc-upgrade moves a warning incident to the critical path; --severity is required" {
	open_incident HighAPIErrorRate warning
	run esc-upgrade "$ID" -s "$ST" --now "$(tm 5)"
	assert_failure 2
	assert_output --partial 'esc-upgrade: --severity is required'
	run esc-upgrade "$ID" -s "$ST" --now "$(tm 5)" --severity loud
	assert_failure 2
	assert_output 'esc-upgrade: --severity: critical, warning or info, not loud'
	run esc-upgrade "$ID" -s "$ST" --now "$(tm 5)" --severity critical --by gina -p "$POLICY"
	assert_success
	assert_equal "$(jq -c 'select(.type == "incident") | [.event, .severity, .by]' <<<"$output")" \
	    '["upgraded","critical","gina"]'
	assert_equal "$(jq -r 'select(.type == "page") | "\(.severity) \(.level) \(.channel)"' <<<"$output")" \
	    "$(printf 'critical 1 %s\n' pagerduty slack email sms)"
}

@test "the scripts' usage errors" {
	run esc-ack
	assert_failure 2
	assert_output --partial 'usage: esc-ack id [--by who]'
	run esc-ack x --bogus
	assert_failure 2
	assert_line --index 0 'esc-ack: unknown option --bogus'
	run esc-resolve x
	assert_failure 2
	assert_output 'esc-resolve: no state file: give -s, or set ESC_STATE or ESC_DIR'
	run esc-upgrade x --actionable
	assert_failure 2
	assert_output --partial 'usage: esc-upgrade id --severity severity'
}

@test "the scripts find esc-tick's state through ESC_DIR" {
	mkdir -p "$BATS_TEST_TMPDIR/d"
	export ESC_STATE="$BATS_TEST_TMPDIR/d/state.json"
	esc-route -s "$ESC_STATE" --now "$(tm 0)" <<<"$(alert StemeDBAPIDown critical firing 0)" >/dev/null
	unset ESC_STATE
	run env ESC_DIR="$BATS_TEST_TMPDIR/d" esc-ack StemeDBAPIDown-db1-critical --by bob --now "$(tm 2)" --no-deliver
	assert_success
	assert_equal "$(jq -c 'select(.type == "incident") | [.event, .by]' <<<"$output")" '["acked","bob"]'
}
