#!/usr/bin/env bats
# esc-notify: review findings: a provider's huge Retry-After, header
# line lengths, what counts as a secret, AUTH never in clear text, secret
# files owned by someone else.

load test_helper
load fixtures/notify/helper
bats_require_minimum_version 1.5.0

# The length of the longest line of the stored messages, CRLF apart.
longest_line() {
	LC_ALL=C awk '{ sub(/\r$/, ""); if (length > m) m = length } END { print m }' "$MAILDIR"/new/*
}

@test "a Retry-After far past the deadline makes the delivery dead at once, no overflow" {
	prov_ctl '{"mode": "429", "count": 1, "retry_after": "92233720368547758"}'
	deliver webhook
	assert_failure 1
	assert_equal "$(jq -c 'select(.type == "receipt") | [.status, .attempts, .http_status]' <<<"$output")" '["dead",1,429]'
	assert_equal "$stderr" 'esc-notify: webhook inc-20261127-1000-abcd-L1-webhook trigger webhook: dead after retries: HTTP 429: {"error": "rate_limited"}'
	assert_equal "$(wc -l <"$PROV_LOG")" 1
}

@test "email: a 3000-character summary and name keep every line within 998 octets" {
	long=$(printf 'x%.0s' $(seq 3000))
	mail_page ".summary = \"$long\" | .recipients[0].name = \"$long\""
	assert_success
	assert_equal "$(ls "$MAILDIR/new" | wc -l)" 1
	# The longest line of the stored message, headers and body.
	max=$(longest_line)
	[ "$max" -le 998 ]
	run mails '
s = m["Subject"]
print(s[:36], len(s), s.endswith("xxx..."), m["To"].addresses[0].addr_spec)
'
	assert_output '[CRITICAL] StemeDBAPIDown: xxxxxxxxx 900 True alice@example.com'
}

@test "email: a long non-ASCII summary is cut at a character boundary and folded" {
	long=$(printf 'é%.0s' $(seq 1500))
	mail_page ".summary = \"$long\""
	assert_success
	max=$(longest_line)
	[ "$max" -le 998 ]
	run mails '
s = m["Subject"]
print(len(s.encode()), s.endswith("éé..."), "\ufffd" in s)
'
	assert_output "900 True False"
}

@test "the SMTP user name is not a secret: it does not mask other text" {
	printf 'sm7pSEKRETpw\n' >"$BATS_TEST_TMPDIR/smtp.pw"
	chmod 600 "$BATS_TEST_TMPDIR/smtp.pw"
	channels ".email.username_env = \"ESC_SMTP_USER\" | .email.starttls = true
	  | .email.password_file = \"$BATS_TEST_TMPDIR/smtp.pw\""
	{ page slack; page email; } >"$BATS_TEST_TMPDIR/in"
	for u in alerts u; do
		run --separate-stderr env ESC_SMTP_USER=$u esc-notify --dry-run "$BATS_TEST_TMPDIR/in"
		assert_success
		assert_line "# slack inc-20261127-1000-abcd-L1-slack trigger #stemedb-alerts-critical"
		assert_line "AUTH $u ***"
		refute_output --partial sm7pSEKRETpw
	done
	: >"$PROV_LOG"
	page slack >"$BATS_TEST_TMPDIR/one"
	run --separate-stderr env ESC_SMTP_USER=alerts esc-notify "$BATS_TEST_TMPDIR/one"
	assert_success
	assert_equal "$(jq -c 'select(.type == "receipt") | [.recipient, .status]' <<<"$output")" '["#stemedb-alerts-critical","delivered"]'
}

@test "a password over smtp:// without starttls is refused when the file is loaded" {
	for f in '.email.username = "u" | .email.password_env = "ESC_SMTP_PASSWORD"' \
	    '.email.password_env = "ESC_SMTP_PASSWORD" | .email.starttls = false' \
	    '.email.username_env = "ESC_SMTP_USER"' \
	    '.email.url = "smtp://u:p@127.0.0.1:9"'; do
		channels "$f"
		run env ESC_SMTP_PASSWORD=pw esc-notify /dev/null
		assert_failure 2
		assert_output "esc-notify: $CH: email: a password over smtp:// needs \"starttls\": true (or use smtps://)"
	done
	channels '.email.username = "u" | .email.password_env = "ESC_SMTP_PASSWORD" | .email.starttls = true'
	run env ESC_SMTP_PASSWORD=pw esc-notify /dev/null
	assert_success
	channels '.email.username = "u" | .email.password_env = "ESC_SMTP_PASSWORD" | .email.url = "smtps://127.0.0.1:9"'
	run env ESC_SMTP_PASSWORD=pw esc-notify /dev/null
	assert_success
}

@test "a secret file that is not a regular file is refused" {
	mkdir -m 700 "$BATS_TEST_TMPDIR/pw.d"
	refuses_channels ".email.starttls = true | .email.username = \"u\" | .email.password_file = \"$BATS_TEST_TMPDIR/pw.d\"" \
	    "email.password: $BATS_TEST_TMPDIR/pw.d: not a regular file"
}

@test "a secret file owned by another user is refused" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to give the file away"
	printf 'R0UTINGKEYsekret\n' >"$BATS_TEST_TMPDIR/pd.key"
	chmod 600 "$BATS_TEST_TMPDIR/pd.key"
	chown nobody "$BATS_TEST_TMPDIR/pd.key"
	refuses_channels ".pagerduty.routing_key_file = \"$BATS_TEST_TMPDIR/pd.key\" | del(.pagerduty.routing_key_env)" \
	    "pagerduty.routing_key: $BATS_TEST_TMPDIR/pd.key: owned by uid $(id -u nobody), not by the user running esc-notify (uid 0)"
}
