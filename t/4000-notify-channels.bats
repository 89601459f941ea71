#!/usr/bin/env bats
# esc-notify: one delivery per channel, as each provider documents it.

load test_helper
load fixtures/notify/helper
bats_require_minimum_version 1.5.0

@test "pagerduty: a trigger event with routing key, dedup key, payload and runbook link" {
	page pagerduty >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr esc-notify --now 2026-11-27T10:00:30Z "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_equal "$(jq -c 'select(.type == "page") | .dedup_key' <<<"$output")" '"inc-20261127-1000-abcd-L1-pagerduty"'
	assert_equal "$(jq -c 'select(.type == "receipt") | [.channel, .recipient, .status, .attempts, .http_status, .event, .incident, .at]' <<<"$output")" \
	    '["pagerduty","pagerduty","delivered",1,202,"trigger","inc-20261127-1000-abcd","2026-11-27T10:00:30Z"]'
	run jq -sc '.[0].body | fromjson | [.routing_key, .event_action, .dedup_key, .payload.severity, .payload.source, .payload.timestamp, .payload.summary, .links[0].href, .payload.custom_details.incident]' "$PROV_LOG"
	assert_output '["R0UTINGKEYsekret0123456789abcdef","trigger","inc-20261127-1000-abcd-L1-pagerduty","critical","api-1:8080","2026-11-27T10:00:00Z","[CRITICAL] StemeDBAPIDown: StemeDB API is down","https://docs.stemedb.com/operations/runbooks/StemeDBAPIDown","inc-20261127-1000-abcd"]'
}

@test "pagerduty: urgency low is payload severity warning; a resolve page resolves the same dedup key" {
	{ page pagerduty '.urgency = "low" | .severity = "warning"'
	  page pagerduty '.event = "resolve"'; } >"$BATS_TEST_TMPDIR/in"
	run esc-notify "$BATS_TEST_TMPDIR/in"
	assert_success
	run jq -c '.body | fromjson | [.event_action, .dedup_key, .payload.severity]' "$PROV_LOG"
	assert_output - <<-'OUT'
	["trigger","inc-20261127-1000-abcd-L1-pagerduty","warning"]
	["resolve","inc-20261127-1000-abcd-L1-pagerduty",null]
	OUT
}

@test "slack: Block Kit message with a text fallback on the page's channel webhook" {
	{ page slack
	  page slack '.mention = "here" | .severity = "warning" | .slack_channel = "#stemedb-alerts-warning" | .dedup_key += "-w"'
	  page slack '.mention = "none" | .dedup_key += "-n"'; } >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr esc-notify "$BATS_TEST_TMPDIR/in"
	assert_success
	run jq -r 'select(.type == "receipt") | "\(.recipient) \(.status) \(.http_status)"' <<<"$output"
	assert_output - <<-'OUT'
	#stemedb-alerts-critical delivered 200
	#stemedb-alerts-warning delivered 200
	#stemedb-alerts-critical delivered 200
	OUT
	# Sent concurrently: in any order.
	run sh -c "jq -r '[.path, (.body | fromjson | .text | split(\"\\n\")[0]), (.body | fromjson | .blocks[0].text.type)] | join(\" | \")' '$PROV_LOG' | sort"
	assert_output - <<-'OUT'
	/services/T0CRIT/B0CRIT/critSEKRETpath | *[CRITICAL] StemeDBAPIDown: StemeDB API is down* | mrkdwn
	/services/T0CRIT/B0CRIT/critSEKRETpath | <!channel> *[CRITICAL] StemeDBAPIDown: StemeDB API is down* | mrkdwn
	/services/T0WARN/B0WARN/warnSEKRETpath | <!here> *[WARNING] StemeDBAPIDown: StemeDB API is down* | mrkdwn
	OUT
}

@test "slack: the incident channel is created with conversations.create and the bot token" {
	deliver slack '.slack_channel = "#incident-2026-11-27-10-00" | .create_channel = true | .level = 2 | .dedup_key = "inc-20261127-1000-abcd-L2-slack"'
	assert_success
	assert_equal "$(jq -c 'select(.type == "receipt") | [.recipient, .status]' <<<"$output")" '["#incident-2026-11-27-10-00","delivered"]'
	run jq -c '[.kind, .path, .headers.Authorization, (.body | fromjson | .name), .reason]' "$PROV_LOG"
	assert_output '["slack_api","/api/conversations.create","Bearer xoxb-SEKRET-b0t-t0ken","incident-2026-11-27-10-00",null]'
	# A second run finds the channel there: name_taken is success.
	run --separate-stderr esc-notify "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_equal "$(jq -r 'select(.type == "receipt") | .status' <<<"$output")" delivered
	assert_equal "$(jq -rs '.[1].reason' "$PROV_LOG")" name_taken
}

@test "slack: without a bot token the incident channel's name goes to the critical channel" {
	unset ESC_SLACK_BOT_TOKEN
	deliver slack '.slack_channel = "#incident-2026-11-27-10-00" | .create_channel = true'
	assert_success
	assert_equal "$(jq -c 'select(.type == "receipt") | [.recipient, .status]' <<<"$output")" '["#stemedb-alerts-critical","delivered"]'
	assert_equal "$(jq -r '.path' "$PROV_LOG")" /services/T0CRIT/B0CRIT/critSEKRETpath
	run jq -r '.body | fromjson | .text' "$PROV_LOG"
	assert_output --partial 'Open the incident channel #incident-2026-11-27-10-00'
}

@test "sms: one Twilio message per recipient, form fields and basic auth, body within 160" {
	deliver sms ".recipients += [$BOB] | .summary = \"$(printf 'x%.0s' {1..300})\""
	assert_success
	run jq -r 'select(.type == "receipt") | "\(.recipient) \(.person) \(.status) \(.http_status)"' <<<"$output"
	assert_output - <<-'OUT'
	+15550111 alice delivered 201
	+15550122 bob delivered 201
	OUT
	run "$PY" -c '
import json, sys, urllib.parse, base64
for line in open(sys.argv[1]):
    r = json.loads(line)
    f = urllib.parse.parse_qs(r["body"])
    auth = base64.b64decode(r["headers"]["Authorization"][6:]).decode()
    print(r["path"], f["To"][0], f["From"][0], len(f["Body"][0]) <= 160,
          f["Body"][0][:43], auth == "AC5ekretSID0000000000000000000:tw1l10SEKRETauth")
' "$PROV_LOG"
	assert_line '/2010-04-01/Accounts/AC5ekretSID0000000000000000000/Messages.json +15550111 +15550100 True [CRITICAL] StemeDBAPIDown inc-20261127-1000 True'
	assert_line '/2010-04-01/Accounts/AC5ekretSID0000000000000000000/Messages.json +15550122 +15550100 True [CRITICAL] StemeDBAPIDown inc-20261127-1000 True'
	assert_equal "${#lines[@]}" 2
}

@test "webhook: the page record as JSON" {
	deliver webhook
	assert_success
	assert_equal "$(jq -c 'select(.type == "receipt") | [.recipient, .status, .http_status]' <<<"$output")" '["webhook","delivered",200]'
	assert_equal "$(jq -c '.body | fromjson' "$PROV_LOG")" "$(jq -c . "$BATS_TEST_TMPDIR/in")"
}

@test "email: one RFC 5322 message per recipient through a real SMTP server" {
	start_smtp
	channels
	page email ".recipients += [$BOB] | .to = [\"primary\", \"backup\"]" >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr esc-notify --now 2026-11-27T10:00:05Z "$BATS_TEST_TMPDIR/in"
	assert_success
	run jq -r 'select(.type == "receipt") | "\(.recipient) \(.person) \(.status) \(.attempts)"' <<<"$output"
	assert_output - <<-'OUT'
	alice@example.com alice delivered 1
	bob@example.com bob delivered 1
	OUT
	run mails '
body = m.get_content()
print(m["X-RcptTo"], "|", m["To"], "|", m["From"], "|", m["Subject"], "|", m["Date"],
      "|", m["Message-ID"].endswith("@example.com>"), m.get_content_type(),
      m.get_content_charset(), "Runbook: https://docs.stemedb.com/operations/runbooks/StemeDBAPIDown" in body)
'
	assert_line 'alice@example.com | Alice Ng <alice@example.com> | esc <esc@example.com> | [CRITICAL] StemeDBAPIDown: StemeDB API is down | Fri, 27 Nov 2026 10:00:05 +0000 | True text/plain utf-8 True'
	assert_line 'bob@example.com | Bob Öz <bob@example.com> | esc <esc@example.com> | [CRITICAL] StemeDBAPIDown: StemeDB API is down | Fri, 27 Nov 2026 10:00:05 +0000 | True text/plain utf-8 True'
	assert_equal "${#lines[@]}" 2
}

@test "email: STARTTLS required by the channels file fails against a plain server, never plain" {
	start_smtp
	channels '.email.starttls = true'
	deliver email
	assert_failure 1
	assert_equal "$(jq -c 'select(.type == "receipt") | [.status, .error]' <<<"$output")" \
	    '["failed","the SMTP server does not offer STARTTLS, which the channels file requires"]'
	assert_equal "$(ls "$MAILDIR/new" | wc -l)" 0
	assert_equal "$stderr" 'esc-notify: email inc-20261127-1000-abcd-L1-email trigger alice@example.com: failed: the SMTP server does not offer STARTTLS, which the channels file requires'
}

@test "a channel the channels file does not configure: a failed receipt, the page still passes" {
	channels 'del(.sms)'
	unset ESC_WEBHOOK_URL
	{ page sms; page webhook; page bogus; } >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr esc-notify "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	run jq -c '[.type, .channel, .status, .error]' <<<"$output"
	assert_output - <<-OUT
	["page","sms",null,null]
	["receipt","sms","failed","sms: $CH: no \"sms\" section"]
	["page","webhook",null,null]
	["receipt","webhook","failed","webhook: ESC_WEBHOOK_URL is not set"]
	["page","bogus",null,null]
	["receipt","bogus","failed","unknown channel: bogus"]
	OUT
	assert_equal "$(wc -c <"$PROV_LOG")" 0
}

@test "a page with no recipients (esc-rotate not run) is not dropped" {
	deliver email 'del(.recipients)'
	assert_failure 1
	assert_equal "$(jq -c 'select(.type == "receipt") | [.recipient, .status, .error]' <<<"$output")" \
	    '["primary","failed","no recipients: not resolved to people (run esc-rotate first) for page"]'
}

@test "tasks go to the severity's Slack channel naming the owner; handoffs to the handoff channel and by e-mail" {
	start_smtp
	channels
	jq -cn --argjson b "$BOB" '{type: "task", incident: "inc-1", alert: "a1", alertname: "StemeDBAPIDown",
	  severity: "critical", level: 2, action: "Backup on-call joins incident", owner: "backup",
	  to: ["backup"], at: "2026-11-27T10:05:00Z", due_at: "2026-11-27T10:05:00Z",
	  dedup_key: "inc-1-T2", recipients: [$b]}' >"$BATS_TEST_TMPDIR/in"
	jq -cn --argjson b "$BOB" '{type: "handoff", role: "primary", from: "alice", to_person: "bob",
	  at: "2026-11-30T09:00:00Z", recipients: [$b], dedup_key: "handoff-primary-2026-11-30T09:00:00Z"}' >>"$BATS_TEST_TMPDIR/in"
	run --separate-stderr esc-notify "$BATS_TEST_TMPDIR/in"
	assert_success
	run jq -c 'select(.type == "receipt") | [.dedup_key, .event, .channel, .recipient, .status]' <<<"$output"
	assert_output - <<-'OUT'
	["inc-1-T2","task","slack","#stemedb-alerts-critical","delivered"]
	["handoff-primary-2026-11-30T09:00:00Z","handoff","slack","#stemedb-oncall","delivered"]
	["handoff-primary-2026-11-30T09:00:00Z","handoff","email","bob@example.com","delivered"]
	OUT
	run jq -r '.body | fromjson | .text' "$PROV_LOG"
	assert_line '*Task* for backup (Bob Öz): Backup on-call joins incident, due 2026-11-27T10:05:00Z'
	assert_line '*On-call handoff* primary: bob takes over from alice at 2026-11-30T09:00:00Z'
	assert_equal "$(ls "$MAILDIR/new" | wc -l)" 1
}

@test "records it does not deliver pass through unchanged; a bad line is reported, the rest goes on" {
	{ echo '{"type":"incident","incident":"inc-1","event":"opened","x":[1,2]}'
	  echo 'not json'
	  page webhook
	  echo '{"type":"heartbeat","at":"2026-11-27T10:00:00Z","alerts":3,"ok":true}'; } >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr esc-notify "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	assert_equal "${lines[0]}" '{"type":"incident","incident":"inc-1","event":"opened","x":[1,2]}'
	assert_equal "${lines[1]}" "$(page webhook)"
	assert_equal "$(jq -r .type <<<"${lines[2]}")" receipt
	assert_equal "${lines[3]}" '{"type":"heartbeat","at":"2026-11-27T10:00:00Z","alerts":3,"ok":true}'
	assert_equal "${#lines[@]}" 4
	assert_equal "$stderr" "esc-notify: $BATS_TEST_TMPDIR/in:2: $(echo 'not json' | esc-notify 2>&1 >/dev/null | sed 's/^esc-notify: -:1: //')"
}

@test "usage errors and a bad channels file exit 2" {
	run esc-notify -j 0 /dev/null
	assert_failure 2
	assert_output 'esc-notify: -j: not a number from 1 to 1024: 0'
	refuses_channels '.email.smtp_host = "x"' "email.smtp_host: unknown key"
	refuses_channels '.limits = {"slack": "fast"}' \
	    "limits.slack: not a rate (\"120/min\", \"1/s\")"
}

@test "slack: later messages to the incident channel go through chat.postMessage, or to the critical channel without a token" {
	{ page slack '.slack_channel = "#incident-2026-11-27-10-00" | .create_channel = true | .dedup_key += "-ic"'
	  page slack '.slack_channel = "#incident-2026-11-27-10-00" | .event = "resolve" | .dedup_key += "-ic"'; } >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr esc-notify "$BATS_TEST_TMPDIR/in"
	assert_success
	run jq -c '[.kind, (.body | fromjson | .channel // .name), .status, .reason]' "$PROV_LOG"
	assert_output - <<-'OUT'
	["slack_api","incident-2026-11-27-10-00",200,null]
	["slack_post","incident-2026-11-27-10-00",200,null]
	OUT
	unset ESC_SLACK_BOT_TOKEN
	: >"$PROV_LOG"
	sed 1d "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/resolve"
	run --separate-stderr esc-notify "$BATS_TEST_TMPDIR/resolve"
	assert_success
	assert_equal "$(jq -c 'select(.type == "receipt") | [.recipient, .status]' <<<"$output")" '["#stemedb-alerts-critical","delivered"]'
	assert_equal "$(jq -r .kind "$PROV_LOG")" slack
}

@test "a page, task or handoff without a dedup_key is reported and passed on, not sent" {
	deliver webhook 'del(.dedup_key)'
	assert_failure 1
	assert_output "$(cat "$BATS_TEST_TMPDIR/in")"
	assert_equal "$stderr" "esc-notify: $BATS_TEST_TMPDIR/in:1: page without a dedup_key: not delivered"
	assert_equal "$(wc -c <"$PROV_LOG")" 0
}

@test "a critical alert with a 400 KB summary is paged on every channel, its text cut" {
	start_smtp
	channels
	"$PY" - "$BATS_TEST_TMPDIR/alert" <<-'PY'
	import json, sys
	print(json.dumps({"labels": {"alertname": "StemeDBAPIDown", "severity": "critical",
	                             "instance": "api-1"},
	                  "annotations": {"summary": "API down: " + "ü" * 200000,
	                                  "runbook_url": "https://runbooks.example/api"},
	                  "startsAt": "2026-11-27T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
	                  "fingerprint": "a1b2c3d4e5f60708", "status": {"state": "active"}},
	                 ensure_ascii=False), file=open(sys.argv[1], "w"))
	PY
	esc-classify --now 2026-11-27T10:00:00Z "$BATS_TEST_TMPDIR/alert" |
	    esc-route -s "$BATS_TEST_TMPDIR/state" --now 2026-11-27T10:00:00Z >"$BATS_TEST_TMPDIR/pages"
	# Too big to show when a test fails: the output goes to a file.
	run bash -c "esc-rotate -r '$ESC_SRC/share/esc/roster.example.json' --now 2026-11-27T10:00:00Z '$BATS_TEST_TMPDIR/pages' |
	    esc-notify --now 2026-11-27T10:00:00Z >'$BATS_TEST_TMPDIR/out'"
	assert_success
	assert_output ""
	run jq -r 'select(.type == "receipt" and .event == "trigger") | "\(.channel) \(.status)"' "$BATS_TEST_TMPDIR/out"
	assert_output - <<-'OUT'
	pagerduty delivered
	slack delivered
	email delivered
	email delivered
	email delivered
	sms delivered
	OUT
	run jq -r 'select(.kind == "pagerduty") | .body | fromjson | .payload.summary | startswith("[CRITICAL L1] StemeDBAPIDown: API down: üüü")' "$PROV_LOG"
	assert_output true
	# The page says it was cut; Slack's section takes 3000 characters.
	run jq -s -c 'map(select(.kind == "slack") | .body | fromjson | .blocks[0].text.text
	    | select(startswith("<!channel> *[CRITICAL L1] StemeDBAPIDown: API down: üüü"))
	    | [length <= 3000, endswith("ü…[truncated]")])' "$PROV_LOG"
	assert_output '[[true,true]]'

}
