#!/usr/bin/env bats
# esc-inbox serve's /slack: Slack's signed requests (v0 HMAC-SHA256 and a
# 5-minute window), a click on a page's "Acknowledge" or "Resolve"
# button made an ack or resolve record in $ESC_DIR/inbox/pending/, and
# the ephemeral answer posted to the click's response_url (the stand-in's
# /slack/response/...).

load test_helper
load alertmanager
load fixtures/notify/helper
bats_require_minimum_version 1.5.0

T=2026-11-27T10:00:00Z
NOW=2026-11-27T10:01:00Z
TS=$(date -u -d "$NOW" +%s)
export ESC_SLACK_SIGNING_SECRET=8f742231b10e8888abcd99yyyzzz85a5

setup() {
	start_prov
	channels '.slack.signing_secret_env = "ESC_SLACK_SIGNING_SECRET"'
	export ESC_DIR=$BATS_TEST_TMPDIR/esc
	export ESC_ROSTER=$FIX/inbox/roster.json
	mkdir -p "$ESC_DIR"
	# An open incident: the example alerts routed at 10:00.
	esc-classify --now "$T" "$ESC_SRC/share/esc/examples/alerts.ndjson" |
	    esc-route -s "$ESC_DIR/state.json" --now "$T" > "$BATS_TEST_TMPDIR/pages"
	INC=$(jq -r 'select(.type == "page" and .alertname == "StemeDBAPIDown" and .channel == "pagerduty") | .dedup_key' "$BATS_TEST_TMPDIR/pages" | head -n 1)
	INC=${INC:0:16}
	RESPONSE=http://127.0.0.1:$PROV_PORT/slack/response/T1/1/r3sp0nse
}

teardown() {
	reap ${INBOX_PID:-} ${AM_PID:-}
	stop_servers
}

# payload ACTION_ID INCIDENT USER [RESPONSE_URL]: the form Slack posts
# for a click on a button (block_actions).
payload() {
	jq -rn --arg a "$1" --arg v "$2" --arg u "$3" --arg r "${4-$RESPONSE}" '{
	  type: "block_actions", user: {id: $u, username: "someone", team_id: "T1"},
	  api_app_id: "A1", token: "legacy", container: {type: "message"},
	  trigger_id: "1.2.3", team: {id: "T1"}, response_url: $r,
	  actions: [{type: "button", block_id: "b1", action_id: $a, value: $v,
	    text: {type: "plain_text", text: "Acknowledge"},
	    action_ts: "1795780860.123456"}]}
	  | "payload=" + (tojson | @uri)'
}

# slack BODY [TIMESTAMP [SIGNATURE]]: posts BODY to /slack as Slack does,
# signed at TIMESTAMP (default $TS); prints the status, then the body.
slack() {
	local ts=${2-$TS}
	local sig=${3-$(slack_sign "$ESC_SLACK_SIGNING_SECRET" "$ts" "$1")}
	post /slack -H 'Content-Type: application/x-www-form-urlencoded' \
	    -H "X-Slack-Request-Timestamp: $ts" -H "X-Slack-Signature: $sig" \
	    --data-binary "$1"
}

# The records written, in file order.
pending() {
	cat "$ESC_DIR"/inbox/pending/*.ndjson 2>/dev/null || true
}

# The follow-ups the stand-in received: their JSON bodies.
responses() {
	jq -c 'select(.kind == "slack_response") | [.path, .status, (.body | fromjson)]' "$PROV_LOG"
}

# responses_at_least N: the stand-in has had N responses or more (read
# anew each time: a <(responses) would be read once, and waited on for
# nothing).
responses_at_least() {
	[ "$(responses | wc -l)" -ge "$1" ]
}

@test "slack: a signed click on Acknowledge acks as alice; 200 empty, then the ephemeral answer" {
	start_inbox --now "$NOW"
	grep -q '/slack' "$INBOX_LOG"
	run slack "$(payload esc_ack "$INC" U01ALICE01)"
	assert_output 200
	run pending
	assert_output "{\"type\":\"ack\",\"incident\":\"$INC\",\"by\":\"alice\",\"at\":\"$NOW\",\"source\":\"slack\",\"slack_user\":\"U01ALICE01\",\"slack_action_ts\":\"1795780860.123456\"}"
	[ -e "$ESC_DIR/inbox/doorbell" ]
	wait_until responses_at_least 1 || true
	run responses
	assert_output "[\"/slack/response/T1/1/r3sp0nse\",200,{\"response_type\":\"ephemeral\",\"replace_original\":false,\"text\":\"Acknowledged incident $INC for alice: escalation stops at the next tick.\"}]"
	# Slack's answer to it is no one's: not on esc-inbox's output (read
	# once it stopped, its buffer flushed).
	reap "$INBOX_PID"
	run cat "$BATS_TEST_TMPDIR/inbox.out"
	assert_output ''
	# The secret is in no log.
	run grep -c "$ESC_SLACK_SIGNING_SECRET" "$INBOX_LOG" "$PROV_LOG"
	assert_output - <<-OUT
	$INBOX_LOG:0
	$PROV_LOG:0
	OUT
}

@test "slack: a click on Resolve resolves; the record goes to esc-route as esc-ack's would" {
	start_inbox --now "$NOW"
	run slack "$(payload esc_resolve "$INC" U01BOB0002)"
	assert_output 200
	run pending
	assert_output "{\"type\":\"resolve\",\"incident\":\"$INC\",\"by\":\"bob\",\"at\":\"$NOW\",\"source\":\"slack\",\"slack_user\":\"U01BOB0002\",\"slack_action_ts\":\"1795780860.123456\"}"
	pending > "$BATS_TEST_TMPDIR/acks"
	run jq -c 'select(.type == "incident") | [.incident, .event]' \
	    <(esc-route -s "$ESC_DIR/state.json" --now "$NOW" "$BATS_TEST_TMPDIR/acks")
	assert_line "[\"$INC\",\"resolved\"]"
	wait_until responses_at_least 1 || true
	run responses
	assert_output --partial "\"text\":\"Resolved incident $INC for bob: it closes at the next tick.\""
}

@test "slack: forged, unsigned, 301 s old, 301 s ahead, or a bad timestamp: 401, nothing written" {
	start_inbox --now "$NOW"
	body=$(payload esc_ack "$INC" U01ALICE01)
	good=$(slack_sign "$ESC_SLACK_SIGNING_SECRET" "$TS" "$body")
	run slack "$body" "$TS" "v0=$(printf '0%.0s' {1..64})"
	assert_line -n 0 401
	run slack "$body" "$TS" "$(slack_sign wrong-secret "$TS" "$body")"
	assert_line -n 0 401
	run slack "$body" "$TS" "${good^^}"
	assert_line -n 0 401
	run slack "${body}x" "$TS" "$good"
	assert_line -n 0 401
	run slack "$body" "$((TS + 1))" "$good"
	assert_line -n 0 401
	run post /slack --data-binary "$body"
	assert_line -n 0 401
	run post /slack -H "X-Slack-Signature: $good" --data-binary "$body"
	assert_line -n 0 401
	# Replayed: signed right, but more than 5 minutes away either way.
	run slack "$body" "$((TS - 301))"
	assert_line -n 0 401
	run slack "$body" "$((TS + 301))"
	assert_line -n 0 401
	run slack "$body" "${TS}.5"
	assert_line -n 0 401
	run slack "$body" "-$TS"
	assert_line -n 0 401
	run pending
	assert_output ''
	[ ! -e "$ESC_DIR/inbox/doorbell" ]
	assert_equal "$(responses)" ''
	run grep -c '/slack 401' "$INBOX_LOG"
	assert_output 11
	grep -q 'X-Slack-Signature does not match the body' "$INBOX_LOG"
	grep -q 'no X-Slack-Signature or X-Slack-Request-Timestamp' "$INBOX_LOG"
	grep -q 'more than 5 minutes away' "$INBOX_LOG"
	grep -q 'X-Slack-Request-Timestamp is not a number' "$INBOX_LOG"
	run grep -c "$ESC_SLACK_SIGNING_SECRET" "$INBOX_LOG"
	assert_output 0
}

@test "slack: 300 s either way is still within the window" {
	start_inbox --now "$NOW"
	run slack "$(payload esc_ack "$INC" U01ALICE01)" "$((TS - 300))"
	assert_output 200
	run slack "$(payload esc_ack "$INC" U01BOB0002)" "$((TS + 300))"
	assert_output 200
	run sort <(pending | jq -r .by)
	assert_output $'alice\nbob'
}

@test "slack: a Slack user not in the roster is a rejected record, and told so" {
	start_inbox --now "$NOW"
	run slack "$(payload esc_ack "$INC" U0NOBODY9)"
	assert_output 200
	run pending
	assert_output "{\"type\":\"rejected\",\"at\":\"$NOW\",\"source\":\"slack\",\"reason\":\"unknown slack user\",\"slack_user\":\"U0NOBODY9\",\"slack_action_ts\":\"1795780860.123456\"}"
	wait_until responses_at_least 1 || true
	run responses
	assert_output '["/slack/response/T1/1/r3sp0nse",200,{"response_type":"ephemeral","replace_original":false,"text":"You are not in esc'"'"'s roster (no person there has \"slack\": \"U0NOBODY9\"): nothing changed."}]'
	grep -q 'slack: a click by U0NOBODY9: unknown slack user' "$INBOX_LOG"
}

@test "slack: an incident esc does not know, or one resolved already, is rejected" {
	# Resolved by hand at 10:00:30.
	printf '{"type":"resolve","incident":"%s","by":"carol","at":"2026-11-27T10:00:30Z"}\n' "$INC" |
	    esc-route -s "$ESC_DIR/state.json" --now 2026-11-27T10:00:30Z >/dev/null
	start_inbox --now "$NOW"
	run slack "$(payload esc_ack "$INC" U01ALICE01)"
	assert_output 200
	run slack "$(payload esc_ack 0000000000000000 U01ALICE01)"
	assert_output 200
	run slack "$(payload esc_resolve "../../etc" U01ALICE01)"
	assert_output 200
	run jq -c '[.type, .reason, .by, .incident]' <(pending)
	assert_output - <<-'OUT'
	["rejected","incident resolved already",null,null]
	["rejected","not an incident esc knows",null,null]
	["rejected","not an incident esc knows",null,null]
	OUT
	wait_until responses_at_least 3 || true
	run sort <(responses | jq -r '.[2].text')
	assert_output - <<-OUT
	Incident $INC is resolved already: nothing changed.
	This is no incident esc knows: nothing changed.
	This is no incident esc knows: nothing changed.
	OUT
}

@test "slack: other interactions and other buttons are 200 and change nothing" {
	start_inbox --now "$NOW"
	run slack "$(payload some_other_button "$INC" U01ALICE01)"
	assert_output 200
	run slack "payload=$(jq -rn '{type: "view_submission", user: {id: "U01ALICE01"}} | tojson | @uri')"
	assert_output 200
	run slack "payload=$(jq -rn '{type: "block_actions", user: {id: "U01ALICE01"}, actions: {}} | tojson | @uri')"
	assert_output 200
	run slack "command=%2Fesc&text=ack"
	assert_output 200
	run pending
	assert_output ''
	assert_equal "$(responses)" ''
}

@test "slack: a body that is no form, or a payload that is no JSON object: 400, nothing written" {
	start_inbox --now "$NOW"
	for body in 'payload=%7B%ZZ' 'payload=%7B' 'payload=%5B%5D' 'payload=null' 'payload=' 'payload=%00'; do
		run slack "$body"
		assert_line -n 0 400
	done
	run pending
	assert_output ''
	grep -q 'the payload is not a JSON object' "$INBOX_LOG"
	grep -q 'the body is not a form' "$INBOX_LOG"
}

@test "slack: a response_url on neither Slack's host nor api_url's gets no follow-up; the ack counts" {
	start_inbox --now "$NOW"
	other=$(free_port)
	for u in "http://127.0.0.1:$other/slack/response/x" "https://evil.example/slack" \
	    "http://127.0.0.1:$PROV_PORT@evil.example/x" "ftp://127.0.0.1:$PROV_PORT/x"; do
		run slack "$(payload esc_ack "$INC" U01ALICE01 "$u")"
		assert_output 200
	done
	run uniq -c <(pending | jq -r .type)
	assert_output '      4 ack'
	run grep -c 'no answer in Slack' "$INBOX_LOG"
	assert_output 4
	sleep 0.2
	assert_equal "$(responses)" ''
}

@test "slack: Slack's published example (verifying requests from Slack) is accepted at its time" {
	# https://api.slack.com/authentication/verifying-requests-from-slack:
	# the example secret, timestamp, body (a slash command) and signature.
	body='token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c'
	sig=v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503
	assert_equal "$(slack_sign 8f742231b10e8888abcd99yyyzzz85a5 1531420618 "$body")" "$sig"
	start_inbox --now 2018-07-12T18:36:58Z
	run slack "$body" 1531420618 "$sig"
	assert_output 200
	# Not a click: nothing to write.
	run pending
	assert_output ''
	# The same request today is a replay.
	reap "$INBOX_PID"
	# start_inbox waits for "listening on" in its log: a fresh log.
	mv "$INBOX_LOG" "$INBOX_LOG.1"
	start_inbox --now "$NOW"
	run slack "$body" 1531420618 "$sig"
	assert_line -n 0 401
}

@test "slack: without a signing secret /slack is off: 404" {
	channels
	start_inbox --now "$NOW"
	run slack "$(payload esc_ack "$INC" U01ALICE01)"
	assert_line -n 0 404
	run pending
	assert_output ''
}

@test "slack: through esc-tick: the page's Acknowledge button acks, PagerDuty gets the acknowledge, no level 2" {
	start_smtp
	channels '.slack.signing_secret_env = "ESC_SLACK_SIGNING_SECRET"'
	am_start
	export ESC_ALERTMANAGER_URL=$AM_URL
	rm -rf "$ESC_DIR"
	J=$ESC_DIR/journal.ndjson
	t0=$(date -u +%s)
	at() { date -u -d "@$((t0 + $1 * 60))" +%Y-%m-%dT%H:%M:%SZ; }
	am_post "[{\"labels\":{\"alertname\":\"StemeDBAPIDown\",\"severity\":\"critical\",\"instance\":\"api-1\",\"job\":\"stemedb\"},
	  \"annotations\":{\"summary\":\"API down\"},\"startsAt\":\"$(at 0)\",\"endsAt\":\"$(at 30)\"}]"
	ESC_NOW=$(at 0) run esc-tick
	assert_success
	inc=$(jq -r 'select(.type == "incident" and .event == "opened") | .incident' "$J")
	# The Slack page has the buttons, the incident's id their value.
	run jq -c 'select(.kind == "slack") | .body | fromjson | select(.text | startswith("<!channel> *[CRITICAL")) | .blocks[1].elements | map([.action_id, .value])' "$PROV_LOG"
	assert_output "[[\"esc_ack\",\"$inc\"],[\"esc_resolve\",\"$inc\"]]"
	start_inbox --now "$(at 1)"
	run slack "$(payload esc_ack "$inc" U01ALICE01)" "$((t0 + 60))"
	assert_output 200
	ESC_NOW=$(at 1) run esc-tick
	assert_success
	assert_equal "$(jq -c 'select(.type == "incident" and .event == "acked") | [.incident, .by, .at]' "$J")" \
	    "[\"$inc\",\"alice\",\"$(at 1)\"]"
	run jq -c 'select(.kind == "pagerduty") | .body | fromjson | .event_action' "$PROV_LOG"
	assert_output $'"trigger"\n"acknowledge"'
	assert_equal "$(ls "$ESC_DIR/inbox/pending")" ''
	# Acked: minute 5 brings no level 2.
	ESC_NOW=$(at 5) run esc-tick
	assert_success
	run jq -c 'select(.type == "page" and .level == 2)' "$J"
	assert_output ''
}
