#!/usr/bin/env bats
# esc-report over a journal that went through the real pipeline:
# esc-route (an alert, an ack, a resolve) then esc-rotate (the example
# roster), as esc-tick runs them minute by minute.

load test_helper

setup() {
	T="$BATS_TEST_TMPDIR"
	J="$T/journal.ndjson"
	a='{"type":"alert","id":"al1","name":"StemeDBAPIDown","status":"firing","severity":"critical","starts_at":"2026-11-27T10:00:00Z","ends_at":null,"labels":{"alertname":"StemeDBAPIDown","instance":"api1","severity":"critical"},"annotations":{"summary":"API down"},"summary":"API down","runbook":"https://runbooks.example/StemeDBAPIDown","hygiene":[],"why":"test","source":"test"}'
	run_at() {	# MINUTE [input]
		printf '%s' "${2:-}" | esc-route -s "$T/state" --now "2026-11-27T10:$1:00Z" |
		    esc-rotate --now "2026-11-27T10:$1:00Z" >> "$J"
	}
	run_at 00 "$a"
	for m in 01 02; do run_at $m; done
	run_at 03 '{"type":"ack","alert":"al1","by":"alice","at":"2026-11-27T10:03:00Z","actionable":true}'
	for m in 05 10 16; do run_at $m; done
	run_at 17 '{"type":"resolve","alert":"al1","by":"alice","at":"2026-11-27T10:17:00Z","note":"restarted the API"}'
}

@test "pipeline: metrics of a routed incident" {
	# Acked at 3m, resolved at 17m, past level 3 at 15m, actionable.
	run bash -c "esc-report metrics -f json '$J' | jq -c '.severities.critical |
	    [.incidents, .mtta.mean, .mttr.mean, .accuracy.value, .escalation_rate.value]'"
	assert_output '[1,180,1020,1,1]'
}

@test "pipeline: the post-mortem names who was paged" {
	run esc-report postmortems --dir "$T/pm" "$J"
	assert_success
	assert_line --regexp "^created $T/pm/[0-9a-f]+\.md$"
	f=$(ls "$T"/pm/*.md)
	run grep -E '^\| (Duration|Highest level|Runbook) ' "$f"
	assert_output '| Runbook | https://runbooks.example/StemeDBAPIDown |
| Duration | 17m |
| Highest level | 3 |'
	run grep -c '^| 2026-11-27T10:00:00Z | Level 1 page by ' "$f"
	assert_output 4
	run grep -F '| Who was paged |' "$f"
	assert_output --partial '(primary), '
	assert_output --partial '(director)'
	run grep -F '| 2026-11-27T10:17:00Z | Resolved by' "$f"
	assert_output '| 2026-11-27T10:17:00Z | Resolved by alice: restarted the API |'
}

@test "pipeline: pages per person in the review" {
	run bash -c "esc-report review -f json --now 2026-11-28T00:00:00Z '$J' |
	    jq '[.pages_per_person[]] | add'"
	# Level 1: pagerduty, slack, sms to the primary, e-mail to three;
	# level 3: pagerduty to three.  Resolve pages are not pages of a
	# person's time.
	assert_output 9
}
