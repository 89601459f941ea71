#!/usr/bin/env bats
# esc-notify: secrets never appear in any output; --dry-run.

load test_helper
load fixtures/notify/helper
bats_require_minimum_version 1.5.0

setup() {
	start_prov --twilio-token not-the-token
	start_smtp
	printf 'sm7pSEKRETpw\n' >"$BATS_TEST_TMPDIR/smtp.pw"
	chmod 600 "$BATS_TEST_TMPDIR/smtp.pw"
	# STARTTLS, which the test server lacks: a password never goes out
	# over plain smtp://, so that e-mail fails.
	channels ".email.username = \"escuser\" | .email.password_file = \"$BATS_TEST_TMPDIR/smtp.pw\"
	  | .email.starttls = true | .retry.max_time = \"300ms\""
	SP=$BATS_TEST_TMPDIR/spool
	{ page pagerduty; page slack; page sms; page webhook; page email
	  page slack '.slack_channel = "#incident-2026-11-27-10-00" | .create_channel = true | .dedup_key += "-ic"'
	  page slack '.slack_channel = "#nowhere" | .dedup_key += "-nowhere"'
	} >"$BATS_TEST_TMPDIR/in"
}

# Fails naming the secret if one of the files holds one.
no_secrets() {
	local s
	for s in $SECRETS; do
		if grep -rl -- "$s" "$@"; then
			echo "secret $s leaked" >&2
			return 1
		fi
	done
}

@test "no secret in stdout, stderr, receipts, the spool or --dry-run output" {
	esc-notify --verbose --spool "$SP" "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" || true
	# The run did use the secrets: the providers got them.
	grep -q R0UTINGKEYsekret "$PROV_LOG"
	grep -q critSEKRETpath "$PROV_LOG"
	# Failures were reported (the SMS token is refused; no webhook for
	# #nowhere; no STARTTLS for the e-mail).
	assert_equal "$(jq -r 'select(.type == "receipt") | .status' "$BATS_TEST_TMPDIR/out" | sort | uniq -c | tr -s ' ')" \
	    "$(printf ' 4 delivered\n 3 failed')"
	esc-notify --dry-run "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/dry" 2>&1 || true
	no_secrets "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/err" "$SP" "$BATS_TEST_TMPDIR/dry"
}

@test "a bad channels file does not print a secret in its message" {
	refuses_channels '.webhook.url_env = "ESC_WEBHOOK_URL" | .webhook.url = "x"' \
	    "webhook.url: give only one of the value, _env and _file"
}

@test "--dry-run prints each request with its secrets masked, sends nothing, writes no spool" {
	run --separate-stderr esc-notify --dry-run --spool "$SP" "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	assert_line "# pagerduty inc-20261127-1000-abcd-L1-pagerduty trigger pagerduty"
	assert_line "POST http://127.0.0.1:$PROV_PORT/v2/enqueue"
	assert_line "POST http://127.0.0.1:$PROV_PORT/***"
	assert_line "POST http://127.0.0.1:$PROV_PORT/2010-04-01/Accounts/***/Messages.json"
	assert_line "Authorization: Basic ***:***"
	assert_line "Authorization: Bearer ***"
	assert_line "SMTP smtp://127.0.0.1:$SMTP_PORT (STARTTLS required)"
	assert_line "AUTH escuser ***"
	assert_line "RCPT TO:<alice@example.com>"
	assert_line "# not sent: slack: $CH: no webhook for slack channel #nowhere"
	assert_line --partial '{"routing_key":"***","event_action":"trigger"'
	assert_equal "$(wc -c <"$PROV_LOG")" 0
	assert_equal "$(ls "$MAILDIR/new" | wc -l)" 0
	[ ! -e "$SP" ]
}

@test "a secret file readable by others is refused" {
	chmod 644 "$BATS_TEST_TMPDIR/smtp.pw"
	run esc-notify /dev/null
	assert_failure 2
	assert_output "esc-notify: $CH: email.password: $BATS_TEST_TMPDIR/smtp.pw: readable by group or others (chmod 600)"
}

@test "routing key from an owner-only file" {
	printf 'R0UTINGKEYsekret0123456789abcdef\n' >"$BATS_TEST_TMPDIR/pd.key"
	chmod 600 "$BATS_TEST_TMPDIR/pd.key"
	channels ".pagerduty = {url: \"http://127.0.0.1:$PROV_PORT/v2/enqueue\", routing_key_file: \"$BATS_TEST_TMPDIR/pd.key\"}"
	unset ESC_PAGERDUTY_ROUTING_KEY
	page pagerduty >"$BATS_TEST_TMPDIR/one"
	run --separate-stderr esc-notify "$BATS_TEST_TMPDIR/one"
	assert_success
	assert_equal "$(jq -r '.body | fromjson | .routing_key' "$PROV_LOG")" R0UTINGKEYsekret0123456789abcdef
	run esc-notify --dry-run "$BATS_TEST_TMPDIR/one"
	refute_output --partial R0UTINGKEYsekret
}
