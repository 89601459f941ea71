#!/usr/bin/env bats
# esc-check (esc-tick --check): the pre-flight on a good setup (a real
# Alertmanager and SMTP server, the providers' stand-in) and on broken
# ones: a secret missing, the mail server down, a primary with no phone.

load test_helper
load fixtures/notify/helper
load alertmanager
bats_require_minimum_version 1.5.0

setup() {
	start_prov
	start_smtp
	am_start
	channels '.slack.webhooks["#stemedb-alerts-info"] = {url_env: "ESC_SLACK_CRITICAL_URL"}'
	export ESC_ALERTMANAGER_URL=$AM_URL
	export ESC_ROSTER=$ESC_SRC/share/esc/roster.example.json
	export ESC_DIR=$BATS_TEST_TMPDIR/esc
}

teardown() {
	am_stop
	stop_servers
}

@test "esc-check: a good setup is ready; it says which files and environment it used, and sends nothing" {
	run --separate-stderr esc-check
	assert_success
	assert_line --index 0 --regexp '^env  user .* \(uid [0-9]+\), directory '
	assert_line "env  ESC_DIR=$ESC_DIR"
	assert_line "env  ESC_ETCD_ENDPOINTS=(unset)"
	assert_line "ok   alertmanager $AM_URL/-/ready: HTTP 200 (ready)"
	assert_line "ok   email smtp://127.0.0.1:$SMTP_PORT: the server greets (EHLO)"
	# Any HTTP answer is a reachable endpoint: the stand-in has no GET
	# there, and says 404.
	assert_line "ok   pagerduty http://127.0.0.1:$PROV_PORT/v2/enqueue: answers (HTTP 404)"
	assert_line --regexp "^ok   sms http://127.0.0.1:$PROV_PORT/2010-04-01/Accounts/\*\*\*/Messages.json: answers \(HTTP 200\)$"
	assert_line "ok   slack http://127.0.0.1:$PROV_PORT/***: answers (HTTP 404)"
	assert_line --index -1 ready
	refute_output --partial FAIL
	# Secrets masked, and nothing delivered.
	for s in $SECRETS; do refute_output --partial "$s"; done
	# The stand-in records what it serves (the message list), not its 404s.
	assert_equal "$(jq -r .method "$PROV_LOG" | sort | uniq -c | tr -s ' ')" " 1 GET"
	assert_equal "$(ls "$MAILDIR/new" | wc -l)" 0
	[[ $stderr == *"esc-check: roster: $ESC_ROSTER (from ESC_ROSTER)"* ]]
	[[ $stderr == *"esc-check: channels: $ESC_CHANNELS (from ESC_CHANNELS)"* ]]
}

@test "esc-check: a secret missing is named, exit 1" {
	unset ESC_TWILIO_TOKEN
	run --separate-stderr esc-check
	assert_failure 1
	assert_line "FAIL sms: ESC_TWILIO_TOKEN is not set"
	assert_line --index -1 "not ready: fix the FAIL lines above"
}

@test "esc-check: the mail server down, and Alertmanager away, exit 1" {
	reap "$SMTP_PID"
	am_stop
	run --separate-stderr esc-check
	assert_failure 1
	assert_line --regexp "^FAIL email smtp://127.0.0.1:$SMTP_PORT: .*(onnect|refused)"
	assert_line --regexp "^FAIL alertmanager $AM_URL/-/ready: "
	assert_line --regexp '^ok   pagerduty '
}

@test "esc-check: a primary with no phone, when the policy pages primary by SMS, exit 1" {
	jq 'del(.people.bob.phone)' <(jsonc "$ESC_ROSTER") >"$BATS_TEST_TMPDIR/roster.json"
	run --separate-stderr esc-check -r "$BATS_TEST_TMPDIR/roster.json"
	assert_failure 1
	assert_line "FAIL roster: no_contact: bob has no phone, and the policy pages role primary by sms"
}

@test "esc-tick --check is esc-check, from the tick's own environment" {
	run --separate-stderr esc-tick --check
	assert_success
	assert_line "ok   alertmanager $AM_URL/-/ready: HTTP 200 (ready)"
	assert_line --index -1 ready
	run --separate-stderr env -u ESC_TWILIO_TOKEN esc-tick --check
	assert_failure 1
	assert_line "FAIL sms: ESC_TWILIO_TOKEN is not set"
	run -2 esc-tick --check extra
}

@test "esc-check: a password in a URL of the environment is never shown" {
	export ESC_ALERTMANAGER_URL="http://am:s3cretPW@127.0.0.1:1"
	run --separate-stderr esc-check
	assert_failure 1
	refute_output --partial s3cretPW
	assert_line "env  ESC_ALERTMANAGER_URL=http://***@127.0.0.1:1"
	assert_line --regexp '^FAIL alertmanager http://\*\*\*@127.0.0.1:1/-/ready: '
}
