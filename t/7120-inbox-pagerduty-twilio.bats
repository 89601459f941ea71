#!/usr/bin/env bats
# esc-inbox serve's provider hooks for PagerDuty v3 webhooks and Twilio's
# incoming messages, against a real server: signatures (rotation, forged,
# missing), the records in inbox/pending/ exactly as the poll makes them,
# TwiML answers, and what is taken without a record.

load test_helper
bats_require_minimum_version 1.5.0

T=2026-11-27T10:00:00Z
NOW=2026-11-27T10:03:00Z
PUB=https://esc.example.com/hooks

setup() {
	export ESC_DIR=$BATS_TEST_TMPDIR/esc
	export ESC_ROSTER=$FIX/inbox/roster.json
	export ESC_PD_KEY=R0UTINGKEYsekret
	export ESC_PD_WEBHOOK_SECRET=pdWEBHOOKsekret
	export ESC_TWILIO_SID=AC5ekretSID0000000000000000000
	export ESC_TWILIO_TOKEN=tw1l10SEKRETauth
	mkdir -p "$ESC_DIR"
	CH=$BATS_TEST_TMPDIR/channels.json
	hook_channels '{"public_url": "'"$PUB"'"}'
	# An open incident: the example alerts routed at 10:00.
	esc-classify --now "$T" "$ESC_SRC/share/esc/examples/alerts.ndjson" |
	    esc-route -s "$ESC_DIR/state.json" --now "$T" > "$BATS_TEST_TMPDIR/pages"
	KEY=$(jq -r 'select(.type == "page" and .alertname == "StemeDBAPIDown" and .channel == "pagerduty") | .dedup_key' "$BATS_TEST_TMPDIR/pages")
	INC=${KEY:0:16}
	CODE=$(esc-inbox code "$INC" | cut -d' ' -f2)
}

teardown() {
	reap ${INBOX_PID:-}
}

# hook_channels INBOX: PagerDuty with a webhook secret, Twilio with its
# token, and the inbox section INBOX.
hook_channels() {
	cat > "$CH" <<EOF
{"pagerduty": {"routing_key_env": "ESC_PD_KEY",
    "webhook_secret_env": "ESC_PD_WEBHOOK_SECRET"},
 "sms": {"from": "+1 555-0100", "account_sid_env": "ESC_TWILIO_SID",
    "auth_token_env": "ESC_TWILIO_TOKEN"},
 "inbox": $1}
EOF
	chmod 600 "$CH"
}

serve() { start_inbox -c "$CH" --now "$NOW"; }

# pd_event ID TYPE AGENT KEY: a v3 webhook's body, as PagerDuty sends it.
pd_event() {
	printf '{"event":{"id":"%s","event_type":"%s","resource_type":"incident","occurred_at":"2026-11-27T10:02:00.169Z","agent":%s,"client":{"name":"PagerDuty"},"data":{"id":"P000001","type":"incident","self":"https://api.pagerduty.com/incidents/P000001","number":2,"status":"acknowledged","incident_key":"%s","created_at":"2026-11-27T10:00:05Z","title":"API down","urgency":"high","resolve_reason":null}}}' "$1" "$2" "$3" "$4"
}
BOB_AGENT='{"html_url":"https://acme.pagerduty.com/users/PBOB001","id":"PBOB001","self":"https://api.pagerduty.com/users/PBOB001","summary":"Bob Okafor","type":"user_reference"}'

# pd_post BODY [SIGNATURE]: POSTs a webhook, signed with the secret unless
# a signature is given ("" for none).
pd_post() {
	local sig
	if [ $# -ge 2 ]; then
		sig=$2
	else
		sig=$(printf '%s' "$1" | pd_sign "$ESC_PD_WEBHOOK_SECRET")
	fi
	post /pagerduty -H 'Content-Type: application/json' \
	    ${sig:+-H "X-PagerDuty-Signature: $sig"} --data-binary "$1"
}

# tw_post FORM [PATH [SIGNATURE]]: POSTs Twilio's form, signed for
# $PUB/PATH (default /twilio) with the auth token unless a signature is
# given.
tw_post() {
	local path=${2:-/twilio} sig
	sig=${3-$(twilio_sign "$ESC_TWILIO_TOKEN" "$PUB$path" "$1")}
	curl -s -o "$BATS_TEST_TMPDIR/post.body" -D "$BATS_TEST_TMPDIR/post.head" \
	    -w '%{http_code}\n' -X POST ${sig:+-H "X-Twilio-Signature: $sig"} \
	    -H 'Content-Type: application/x-www-form-urlencoded' \
	    --data-binary "$1" "$INBOX$path"
	cat "$BATS_TEST_TMPDIR/post.body"
}
sms_form() { # sms_form FROM BODY [TO]
	printf 'ToCountry=US&SmsSid=SM0001&MessageSid=SM0001&From=%s&To=%s&Body=%s&NumMedia=0&AccountSid=%s&ApiVersion=2010-04-01' \
	    "$(jq -rn --arg s "$1" '$s|@uri')" "$(jq -rn --arg s "${3:-+15550100}" '$s|@uri')" \
	    "$(jq -rn --arg s "$2" '$s|@uri')" "$ESC_TWILIO_SID"
}

pending() { cat "$ESC_DIR"/inbox/pending/*.ndjson 2>/dev/null; }
nothing_written() {
	run pending
	assert_output ''
}

TWIML_HEAD='<?xml version="1.0" encoding="UTF-8"?>'

@test "pagerduty: a signed incident.acknowledged by bob is the poll's ack, in inbox/pending, and esc-route takes it" {
	serve
	run pd_post "$(pd_event 01ACK incident.acknowledged "$BOB_AGENT" "$KEY")"
	assert_output 200
	run pending
	assert_output "{\"type\":\"ack\",\"incident\":\"$INC\",\"by\":\"bob\",\"at\":\"2026-11-27T10:02:00Z\",\"source\":\"pagerduty\",\"pagerduty_incident\":\"P000001\",\"pagerduty_webhook_event\":\"01ACK\"}"
	[ -e "$ESC_DIR/inbox/doorbell" ]
	run esc-route -s "$ESC_DIR/state.json" --now "$NOW" "$ESC_DIR"/inbox/pending/*.ndjson
	assert_success
	run jq -c --arg i "$INC" 'select(.type == "incident" and .incident == $i) | [.event, .by, .at]' <<<"$output"
	assert_output '["acked","bob","2026-11-27T10:02:00Z"]'
}

@test "pagerduty: during a secret rotation two v1 signatures come; one right is enough; a user the roster lacks keeps their name" {
	serve
	body=$(pd_event 01RES incident.resolved "$BOB_AGENT" "$KEY")
	good=$(printf '%s' "$body" | pd_sign "$ESC_PD_WEBHOOK_SECRET")
	old=$(printf '%s' "$body" | pd_sign old-secret)
	run pd_post "$body" "$old,$good"
	assert_output 200
	run pd_post "$body" "$good, $old"
	assert_output 200
	run pending
	assert_line -n 0 "{\"type\":\"resolve\",\"incident\":\"$INC\",\"by\":\"bob\",\"at\":\"2026-11-27T10:02:00Z\",\"source\":\"pagerduty\",\"pagerduty_incident\":\"P000001\",\"pagerduty_webhook_event\":\"01RES\"}"
	assert_equal "${#lines[@]}" 2
	# A user the roster does not know keeps PagerDuty's name.
	run pd_post "$(pd_event 01X incident.acknowledged '{"id":"PXTERN1","type":"user_reference","summary":"Xena External"}' "$KEY")"
	assert_output 200
	run pending
	assert_line --partial '"by":"Xena External"'
}

@test "pagerduty: a forged, unsigned or old-secret webhook is 401, writes nothing, and the log names no secret" {
	serve
	body=$(pd_event 01ACK incident.acknowledged "$BOB_AGENT" "$KEY")
	run pd_post "$body" ""
	assert_line -n 0 401
	run pd_post "$body" "$(printf '%s' "$body" | pd_sign wrong)"
	assert_line -n 0 401
	# Signed, then changed.
	run pd_post "${body/01ACK/01ACL}" "$(printf '%s' "$body" | pd_sign "$ESC_PD_WEBHOOK_SECRET")"
	assert_line -n 0 401
	run pd_post "$body" "v0=$(printf '%s' "$body" | pd_sign "$ESC_PD_WEBHOOK_SECRET" | cut -c4-)"
	assert_line -n 0 401
	nothing_written
	[ ! -e "$ESC_DIR/inbox/doorbell" ]
	grep -q '/pagerduty 401.*no X-PagerDuty-Signature' "$INBOX_LOG"
	grep -q '/pagerduty 401.*no v1 signature matches' "$INBOX_LOG"
	run grep -e "$ESC_PD_WEBHOOK_SECRET" "$INBOX_LOG"
	assert_failure
}

@test "pagerduty: a malformed body is 400; ping, other events, a service's act and foreign incidents are 200 and write nothing" {
	serve
	for body in '' 'not json' '[]' '{"event":{}}' '{"event":{"id":"1"}}' \
	    '{"event":{"id":"1","event_type":"incident.acknowledged"}}' \
	    '{"event":{"id":"1","event_type":"incident.resolved","data":{"id":"P1"},"occurred_at":"yesterday"}}' \
	    "$(printf '{"event":{"id":"\377","event_type":"pagey.ping"}}')"; do
		run pd_post "$body"
		assert_line -n 0 400
	done
	run pd_post '{"event":{"id":"01FKZOXA868SHYEE4DVNWB5P9W","event_type":"pagey.ping","resource_type":"pagey","occurred_at":"2026-11-27T10:00:55.532Z","agent":null,"client":null,"data":{"message":"Hello from your friend Pagey!","type":"ping"}}}'
	assert_output 200
	run pd_post "$(pd_event 01TRIG incident.triggered "$BOB_AGENT" "$KEY")"
	assert_output 200
	run pd_post "$(pd_event 01SVC incident.acknowledged '{"id":"PSVC001","type":"service_reference","summary":"API"}' "$KEY")"
	assert_output 200
	run pd_post "$(pd_event 01FOR incident.resolved "$BOB_AGENT" 0123456789abcdef-1-pagerduty)"
	assert_output 200
	run pd_post "$(pd_event 01NOKEY incident.resolved "$BOB_AGENT" d3640fbd41094207a1c11e58e46b1662)"
	assert_output 200
	nothing_written
}

@test "twilio: a signed reply with the code from bob's phone acks, answered in TwiML" {
	serve
	run tw_post "$(sms_form +15550102 " $CODE ")"
	assert_output "200
$TWIML_HEAD<Response><Message>esc: incident $INC acknowledged by bob. Reply ${CODE}R to resolve.</Message></Response>"
	grep -qi '^Content-Type: text/xml' "$BATS_TEST_TMPDIR/post.head"
	run pending
	assert_output "{\"type\":\"ack\",\"incident\":\"$INC\",\"by\":\"bob\",\"at\":\"$NOW\",\"source\":\"sms\",\"sms_sid\":\"SM0001\",\"from\":\"+15550102\"}"
}

@test "twilio: the code and R resolves; the URL signed keeps its query" {
	serve
	run tw_post "$(sms_form +15550102 "${CODE,,}r")" '/twilio?n=1&x=%20'
	assert_output "200
$TWIML_HEAD<Response><Message>esc: incident $INC resolved by bob.</Message></Response>"
	run pending
	assert_output "{\"type\":\"resolve\",\"incident\":\"$INC\",\"by\":\"bob\",\"at\":\"$NOW\",\"source\":\"sms\",\"sms_sid\":\"SM0001\",\"from\":\"+15550102\"}"
}

@test "twilio: an unknown number is rejected and told nothing; a wrong code is told, XML-escaped" {
	serve
	run tw_post "$(sms_form +15559999 "$CODE")"
	assert_output "200
$TWIML_HEAD<Response/>"
	run pending
	assert_output '{"type":"rejected","at":"'"$NOW"'","source":"sms","reason":"unknown number","from":"+15559999","sms_sid":"SM0001"}'
	grep -q "sms: SM0001 from +15559999 at $NOW: unknown number" "$INBOX_LOG"
	rm "$ESC_DIR"/inbox/pending/*
	run tw_post "$(sms_form +15550102 $'<b>ack & \'go\'</b>\t')"
	assert_output "200
$TWIML_HEAD<Response><Message>esc: &quot;&lt;b&gt;ack &amp; &#39;go&#39;&lt;/b&gt; &quot; is not the code of an open incident; nothing changed.</Message></Response>"
	run pending
	assert_output --partial '"reason":"not the code of an open incident","from":"+15550102"'
}

@test "twilio: a message to another number is taken and changes nothing" {
	serve
	run tw_post "$(sms_form +15550102 "$CODE" +15550199)"
	assert_output "200
$TWIML_HEAD<Response/>"
	nothing_written
}

@test "twilio: forged, unsigned or signed for another URL is 401; a form without its fields is 400; nothing written" {
	serve
	form=$(sms_form +15550102 "$CODE")
	run tw_post "$form" /twilio ""
	assert_line -n 0 401
	run tw_post "$form" /twilio "$(twilio_sign wrong-token "$PUB/twilio" "$form")"
	assert_line -n 0 401
	run tw_post "$form" /twilio "$(twilio_sign "$ESC_TWILIO_TOKEN" "http://esc.example.com/hooks/twilio" "$form")"
	assert_line -n 0 401
	run tw_post "${form/Body=$CODE/Body=${CODE}R}" /twilio "$(twilio_sign "$ESC_TWILIO_TOKEN" "$PUB/twilio" "$form")"
	assert_line -n 0 401
	run tw_post 'From=%2B15550102&To=%2B15550100&Body=x'
	assert_line -n 0 400
	run tw_post 'From=%zz'
	assert_line -n 0 400
	nothing_written
	grep -q '/twilio 401.*no X-Twilio-Signature' "$INBOX_LOG"
	grep -q '/twilio 401.*does not match' "$INBOX_LOG"
	run grep -e "$ESC_TWILIO_TOKEN" "$INBOX_LOG"
	assert_failure
}

@test "twilio: without inbox.public_url nothing can be verified: 503, and the log says what is needed" {
	hook_channels '{}'
	serve
	run tw_post "$(sms_form +15550102 "$CODE")"
	assert_line -n 0 503
	grep -q '/twilio 503.*inbox.public_url is needed' "$INBOX_LOG"
	nothing_written
}

@test "twilio_sign reproduces the example of Twilio's security documentation" {
	run twilio_sign 12345 'https://mycompany.com/myapp.php?foo=1&bar=2' \
	    'CallSid=CA1234567890ABCDE&Caller=%2B14158675310&Digits=1234&From=%2B14158675310&To=%2B18005551212'
	assert_output 'GvWf1cFY/Q7PnoempGyD5oXAezc='
}
