#!/usr/bin/env bats
# The last SMS double (issue 21, 7): a run killed between Twilio's answer
# and its done mark leaves the SMS in the spool; the next run asks
# Twilio's Messages list (same To and body, since it was spooled) before
# sending it again, and takes it as delivered when it is there.

load test_helper
load fixtures/notify/helper
bats_require_minimum_version 1.5.0

# What was asked of Twilio: "METHOD kind", one a line.
twilio() {
	jq -r 'select(.kind | startswith("twilio")) | "\(.method) \(.kind) \(.status)"' "$PROV_LOG"
}

@test "an SMS whose run died after Twilio's answer, before its done mark: found in Twilio's Messages list, not sent again" {
	page sms >"$BATS_TEST_TMPDIR/in"
	ESC_FAILPOINT=sms-answered run esc-notify --spool "$SP" "$BATS_TEST_TMPDIR/in"
	# Killed (SIGKILL) once Twilio had answered: the spool still has it.
	assert_equal "$status" 137
	assert_equal "$(twilio)" "POST twilio 201"
	assert_equal "$(ls "$SP/new" | wc -l)" 1
	run --separate-stderr esc-notify --spool "$SP" "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_equal "$(jq -r 'select(.type == "receipt") | "\(.status) \(.recipient)"' <<<"$output")" "delivered +15550111"
	# Asked, found, not sent again.
	assert_equal "$(twilio)" "$(printf 'POST twilio 201\nGET twilio_list 200')"
	run jq -r 'select(.kind == "twilio_list") | .path' "$PROV_LOG"
	assert_output --regexp '^/2010-04-01/Accounts/AC5ekretSID0000000000000000000/Messages\.json\?To=%2B15550111&DateSent%3E=[0-9]{4}-[0-9]{2}-[0-9]{2}&PageSize=5$'
	assert_equal "$(ls "$SP/new" | wc -l)" 0
	assert_equal "$(ls "$SP/done" | wc -l)" 1
}

@test "an SMS left in the spool untried by Twilio (refused with 500, the run's deadline spent): not in the Messages list, so sent" {
	page sms >"$BATS_TEST_TMPDIR/in"
	prov_ctl '{"mode": "500", "path": "/2010-04-01/"}'
	run --separate-stderr esc-notify --deadline 1 --spool "$SP" "$BATS_TEST_TMPDIR/in"
	assert_equal "$(ls "$SP/new" | wc -l)" 1
	prov_ctl '{"mode": "clear"}'
	# A message to another number, and one to this number with another
	# body, do not count.
	page sms '.dedup_key = "other" | .summary = "another page"' >"$BATS_TEST_TMPDIR/other"
	run esc-notify "$BATS_TEST_TMPDIR/other"
	assert_success
	run --separate-stderr esc-notify --spool "$SP" "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_equal "$(jq -r 'select(.type == "receipt") | .status' <<<"$output")" "delivered"
	# Asked, not found, sent: one message of each body.
	assert_equal "$(twilio | grep -c '^GET twilio_list 200$')" 1
	assert_equal "$(twilio | grep -c '^POST twilio 201$')" 2
	assert_equal "$(jq -r 'select(.kind == "twilio" and .status == 201) | .body' "$PROV_LOG" | sort | uniq -d)" ""
}
