#!/usr/bin/env bats
# esc-notify's budgets per person (esc-channels(5) "budget"): past
# {"sms": "N/h"} the pages to one person wait in the spool and go out in
# the next digest, counted across runs; never dropped, never held past
# half their retry window.

load test_helper
load fixtures/notify/helper
bats_require_minimum_version 1.5.0

T=2026-11-27T10:00:00Z

setup() {
	notify_setup
	channels '.budget = {"sms": "2/h"}'
}

teardown() {
	stop_servers
}

# pages N TAG: N critical SMS pages to alice, dedup keys ...-TAG-i.
pages() {
	page sms | jq -c --argjson n "$1" --arg t "$2" 'range($n) as $i | .
	  | .dedup_key += "-\($t)-\($i)" | .incident = "inc-\($t)-\($i)"'
}

sms_count() {
	jq -s 'map(select(.kind == "twilio")) | length' "$PROV_LOG"
}

@test "past its budget a person's pages wait in the spool, then go out in one digest once the budget allows" {
	channels '.budget = {"sms": "2/h"} | .retry.max_time = "4h"'
	pages 2 a >"$BATS_TEST_TMPDIR/a"
	run --separate-stderr esc-notify --spool "$SP" --now "$T" "$BATS_TEST_TMPDIR/a"
	assert_success
	[ "$(sms_count)" -eq 2 ]
	# The budget is spent: 3 more wait, said, no receipt, exit 0.
	pages 3 b >"$BATS_TEST_TMPDIR/b"
	run --separate-stderr esc-notify --spool "$SP" --now 2026-11-27T10:02:00Z "$BATS_TEST_TMPDIR/b"
	assert_success
	assert_equal "$stderr" "esc-notify: sms +15550111: budget of 2 spent: 3 pages wait in the spool for the next digest"
	assert_equal "$(jq -sc 'map(select(.type == "receipt")) | length' <<<"$output")" 0
	[ "$(sms_count)" -eq 2 ]
	[ "$(ls "$SP/new" | wc -l)" -eq 3 ]
	# Counted across runs: still spent a minute later.
	run --separate-stderr esc-notify --spool "$SP" --now 2026-11-27T10:03:00Z /dev/null
	assert_success
	[ "$(sms_count)" -eq 2 ]
	# An hour after the first sends: one digest of the three.
	run --separate-stderr esc-notify --spool "$SP" --now 2026-11-27T11:00:01Z /dev/null
	assert_success
	[ "$(sms_count)" -eq 3 ]
	assert_equal "$(jq -sc 'map(select(.type == "receipt" and .bundle != null) | .status) | unique + [length]' <<<"$output")" '["delivered",3]'
	run jq -r 'select(.kind == "twilio") | .body' "$PROV_LOG"
	[[ ${lines[2]} == *'3%20pages'* ]]
	[ "$(ls "$SP/new" | wc -l)" -eq 0 ]
}

@test "more pages than the budget leaves: one digest instead of one message each" {
	channels '.budget = {"sms": "6/h"} | .bundle.after = 50'
	pages 10 a >"$BATS_TEST_TMPDIR/a"
	run --separate-stderr esc-notify --spool "$SP" --now "$T" "$BATS_TEST_TMPDIR/a"
	assert_success
	[ "$(sms_count)" -eq 1 ]
	pages 4 b >"$BATS_TEST_TMPDIR/b"
	run --separate-stderr esc-notify --spool "$SP" --now 2026-11-27T10:05:00Z "$BATS_TEST_TMPDIR/b"
	assert_success
	[ "$(sms_count)" -eq 5 ]
	assert_equal "$(jq -c 'to_entries | map([.key, (.value | length)])' "$SP/budget.json")" '[["sms +15550111",5]]'
}

@test "a page never waits for the budget past half its retry window: then it goes out in a digest" {
	channels '.budget = {"sms": "1/d"} | .retry.max_time = "10m"'
	pages 1 a >"$BATS_TEST_TMPDIR/a"
	run --separate-stderr esc-notify --spool "$SP" --now "$T" "$BATS_TEST_TMPDIR/a"
	[ "$(sms_count)" -eq 1 ]
	pages 2 b >"$BATS_TEST_TMPDIR/b"
	run --separate-stderr esc-notify --spool "$SP" --now 2026-11-27T10:01:00Z "$BATS_TEST_TMPDIR/b"
	assert_success
	[ "$(sms_count)" -eq 1 ]
	run --separate-stderr esc-notify --spool "$SP" --now 2026-11-27T10:05:59Z /dev/null
	[ "$(sms_count)" -eq 1 ]
	run --separate-stderr esc-notify --spool "$SP" --now 2026-11-27T10:06:00Z /dev/null
	assert_success
	[ "$(sms_count)" -eq 2 ]
	assert_equal "$(jq -sc 'map(select(.type == "receipt")) | map([.status, (.bundle != null)])' <<<"$output")" '[["delivered",true],["delivered",true],["delivered",false]]'
}

@test "budget: only the channels to people, and a budget it can read" {
	refuses_channels '.budget = {"pagerduty": "6/h"}' 'budget.pagerduty: a budget is per person: sms or email'
	refuses_channels '.budget = {"sms": "lots"}' 'budget.sms: not a budget ("6/h", "20/d")'
	refuses_channels '.budget = {"fax": "1/h"}' 'budget.fax: unknown channel'
}
