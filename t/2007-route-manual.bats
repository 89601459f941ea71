#!/usr/bin/env bats
# esc-route: incidents opened by hand (esc-page) are not Alertmanager's to
# close: a snapshot that does not hold their alert leaves them open.

load test_helper
load fixtures/route/helpers

manual_alert() {
	alert ManualPage critical firing 0 | jq -c '.labels.esc_manual = "true"'
}

@test "a snapshot without the alert does not resolve a manual incident" {
	run route 0 --snapshot <<<"$(manual_alert)"
	assert_success
	ID=$(incident_id)
	run route 1 --snapshot </dev/null
	assert_success
	refute_output --partial '"event":"resolved"'
	# It escalates like any other: level 2 at 5 minutes.
	run route 5 --snapshot </dev/null
	assert_equal "$(jq -r 'select(.type == "incident") | [.event, .level] | @tsv' <<<"$output")" $'escalated\t2'
	run route 6 <<<"$(event resolve incident "$ID" 6)"
	assert_equal "$(jq -r 'select(.type == "incident") | .event' <<<"$output")" resolved
}

@test "an ordinary alert missing from a snapshot is resolved" {
	run route 0 --snapshot <<<"$(alert StemeDBAPIDown critical firing 0)"
	run route 1 --snapshot </dev/null
	assert_equal "$(jq -r 'select(.type == "incident") | .event' <<<"$output")" resolved
}
