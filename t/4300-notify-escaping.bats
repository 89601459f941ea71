#!/usr/bin/env bats
# esc-notify: hostile alert data can neither mention anyone in Slack, forge
# a link, nor add an e-mail header.

load test_helper
load fixtures/notify/helper
bats_require_minimum_version 1.5.0

HOSTILE='.summary = "disk <!channel> & <https://evil.example|click> <@U123>"
  | .labels.team = "<!here>" | .labels.instance = "<https://evil.example|x>"
  | .mention = "none" | .text = "see <!everyone>"'

@test "slack: &, < and > in alert data are escaped: no mention, no link" {
	deliver slack "$HOSTILE"
	assert_success
	run jq -r '.body | fromjson | .text, .blocks[0].text.text' "$PROV_LOG"
	refute_output --partial '<!'
	refute_output --partial '<https://evil'
	refute_output --partial '<@'
	assert_line --index 0 '*[CRITICAL] StemeDBAPIDown: disk &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt; &lt;@U123&gt;*'
	assert_line --index 1 'see &lt;!everyone&gt;'
	# The runbook stays a link, the only one.
	assert_equal "$(jq -r '.body | fromjson | .text' "$PROV_LOG" | grep -o '<[^&]*>')" '<https://docs.stemedb.com/operations/runbooks/StemeDBAPIDown|runbook>'
}

@test "slack: the requested mention is the only one" {
	page slack "$HOSTILE | .mention = \"here\"" >"$BATS_TEST_TMPDIR/in"
	run esc-notify "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_equal "$(jq -r '.body | fromjson | .text' "$PROV_LOG" | grep -o '<![a-z]*>')" '<!here>'
}

@test "email: CR/LF in a summary cannot add a header or a recipient" {
	mail_page '.summary = "disk full\r\nBcc: victim@example.net\r\nX-Evil: 1"
	  | .recipients[0].name = "Alice\r\nCc: x@example.net"'
	assert_success
	run mails '
print(m["X-RcptTo"])
print(m["Bcc"], m["Cc"], m["X-Evil"])
print(m["Subject"])
print(m["To"])
'
	assert_output - <<-'OUT'
	alice@example.com
	None None None
	[CRITICAL] StemeDBAPIDown: disk full  Bcc: victim@example.net  X-Evil: 1
	"Alice  Cc: x@example.net" <alice@example.com>
	OUT
}

@test "email: a header that is not ASCII is RFC 2047 encoded" {
	mail_page '.summary = "Festplatte voll: 99 % — Größe überschritten, 日本語のテキストも少し長めに入れておきます"
	  | .recipients[0].name = "Zoë Ångström"'
	assert_success
	# On the wire: only ASCII in the headers, encoded words.
	run sh -c "sed '/^\$/q' '$MAILDIR'/new/* | LC_ALL=C grep -c '[^ -~]'"
	assert_output 0
	run grep -c '=?UTF-8?B?' "$MAILDIR"/new/*
	[ "$output" -ge 2 ]
	run mails '
print(m["Subject"])
print(m["To"])
'
	assert_output - <<-'OUT'
	[CRITICAL] StemeDBAPIDown: Festplatte voll: 99 % — Größe überschritten, 日本語のテキストも少し長めに入れておきます
	Zoë Ångström <alice@example.com>
	OUT
}

@test "email: an address that could break the envelope is refused" {
	deliver email '.recipients[0].email = "a@example.com>\r\nRCPT TO:<b@example.net"'
	assert_failure 1
	assert_equal "$(jq -r 'select(.type == "receipt") | .status' <<<"$output")" failed
	assert_equal "$(jq -r 'select(.type == "receipt") | .error' <<<"$output" | head -c 28)" 'not a plain e-mail address: '
}

@test "pagerduty: a summary over 1024 characters is cut, never split inside a character" {
	long=$(printf 'é%.0s' {1..700})
	deliver pagerduty ".summary = \"$long\""
	assert_success
	run "$PY" -c '
import json, sys
r = json.loads(open(sys.argv[1]).readline())
s = json.loads(r["body"])["payload"]["summary"]
print(r["status"], len(s.encode()) <= 1024, s.endswith("é"))
' "$PROV_LOG"
	assert_output '202 True True'
}

@test "slack: a roster member id becomes a user mention, anything else in that field does not" {
	page slack '.mention = "none" | .recipients = [.recipients[0] + {slack: "U01ALICE01"},
	  {role: "backup", person: "bob", name: "Bob", slack: "<!channel>"}]' >"$BATS_TEST_TMPDIR/in"
	run esc-notify "$BATS_TEST_TMPDIR/in"
	assert_success
	run jq -r '.body | fromjson | .text' "$PROV_LOG"
	assert_line 'Incident inc-20261127-1000-abcd, level 1, to primary (Alice Ng, Bob) <@U01ALICE01>'
	refute_output --partial '<!'
}

@test "sms: a roster phone number written for people is sent as E.164" {
	deliver sms '.recipients[0].phone = "+1 (555) 010-0111"'
	assert_success
	assert_equal "$(jq -r 'select(.type == "receipt") | .recipient' <<<"$output")" +15550100111
	deliver sms '.recipients[0].phone = "555-0111"'
	assert_failure 1
	assert_equal "$(jq -r 'select(.type == "receipt") | .error' <<<"$output")" 'not an E.164 phone number: 555-0111'
}
