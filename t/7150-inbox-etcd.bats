#!/usr/bin/env bats
# esc-inbox with the state on etcd (issue 14): the incidents read from
# etcd (state/inc/ID, a state file's line each), by poll and by serve
# while it runs; the cursors kept in etcd (inbox/cursor/NAME), moved by a
# fenced write only once the records are on disk; what serve takes kept on
# etcd (inbox/pending/NAME) before its 2xx, nothing in inbox/pending/.

load test_helper
load fixtures/notify/helper
load etcd1
bats_require_minimum_version 1.5.0

T=2026-11-27T10:00:00Z
NOW=2026-11-27T10:03:00Z
PUB=https://esc.example.com/hooks

setup() {
	start_prov --now "$T" --twilio-sid "$ESC_TWILIO_SID" --twilio-token "$ESC_TWILIO_TOKEN"
	channels '.sms.replies = true | .inbox = {"public_url": "'"$PUB"'"}'
	export ESC_DIR=$BATS_TEST_TMPDIR/esc
	export ESC_ROSTER=$FIX/inbox/roster.json
	mkdir -p "$ESC_DIR/inbox/pending"
	# An open incident: the example alerts routed at 10:00, its state
	# file's lines put on etcd as esc-route keeps them there; no state
	# file left, so that what esc-inbox knows can come only from etcd.
	esc-classify --now "$T" "$ESC_SRC/share/esc/examples/alerts.ndjson" |
	    esc-route -s "$BATS_TEST_TMPDIR/state" --now "$T" > "$BATS_TEST_TMPDIR/pages"
	KEY=$(jq -r 'select(.type == "page" and .alertname == "StemeDBAPIDown" and .channel == "pagerduty") | .dedup_key' "$BATS_TEST_TMPDIR/pages")
	INC=${KEY:0:16}
	CODE=$(esc-inbox -s "$BATS_TEST_TMPDIR/state" code "$INC" | cut -d' ' -f2)
	B=http://127.0.0.1:$PROV_PORT
	start_etcd
}

teardown() {
	reap ${INBOX_PID:-}
	stop_servers
	stop_etcd
}

# The state file on etcd, as a migration puts it there.
state_to_etcd() {
	esc-route --import-state "$BATS_TEST_TMPDIR/state"
}

sms() { # sms FROM BODY AT
	curl -sf -X POST --data "{\"from\": \"$1\", \"to\": \"+15550100\", \"body\": \"$2\", \"at\": \"$3\"}" \
	    "$B/_control/twilio/messages" >/dev/null
}

@test "poll: the incidents from etcd; the cursor on etcd, moved only once the records are written" {
	state_to_etcd
	sms +15550102 "$CODE" 2026-11-27T10:01:00Z
	out=$ESC_DIR/inbox/pending/1.ndjson
	run --separate-stderr esc-inbox --now "$NOW" -o "$out" poll
	assert_success
	assert_equal "$(jq -c 'del(.sms_sid)' "$out")" "{\"type\":\"ack\",\"incident\":\"$INC\",\"by\":\"bob\",\"at\":\"2026-11-27T10:01:00Z\",\"source\":\"sms\",\"from\":\"+15550102\"}"
	run ectl get /t/inbox/cursor/sms --print-value-only
	assert_output --partial '"at":"2026-11-27T10:01:00Z"'
	[ ! -e "$ESC_DIR/inbox/sms.cursor" ]
	rev=$(ectl get /t/inbox/cursor/sms -w json | grep -o '"mod_revision":[0-9]*')
	# A second poll reads nothing again.
	run --separate-stderr esc-inbox --now "$NOW" -o "$ESC_DIR/inbox/pending/2.ndjson" poll
	assert_success
	assert_equal "$(cat "$ESC_DIR/inbox/pending/2.ndjson")" ""
	# A reply the records of which cannot be written: the cursor stays,
	# and the next poll reads the reply.
	sms +15550102 "${CODE}R" 2026-11-27T10:02:00Z
	run --separate-stderr esc-inbox --now "$NOW" -o "$BATS_TEST_TMPDIR/no/such/dir/3.ndjson" poll
	assert_failure 1
	[[ "$stderr" == *"; no cursor moved" ]]
	assert_equal "$(ectl get /t/inbox/cursor/sms -w json | grep -o '"mod_revision":[0-9]*')" "$rev"
	run --separate-stderr esc-inbox --now "$NOW" -o "$ESC_DIR/inbox/pending/4.ndjson" poll
	assert_success
	assert_equal "$(jq -r '.type + " " + .incident' "$ESC_DIR/inbox/pending/4.ndjson")" "resolve $INC"
	run ectl get /t/inbox/cursor/sms --print-value-only
	assert_output --partial '"at":"2026-11-27T10:02:00Z"'
}

@test "poll: an incident only in the state file is not known on etcd" {
	# The state file is there, etcd has no incident: the code is no
	# open incident's.
	cp "$BATS_TEST_TMPDIR/state" "$ESC_DIR/state.json"
	sms +15550102 "$CODE" 2026-11-27T10:01:00Z
	run --separate-stderr esc-inbox --now "$NOW" poll
	assert_success
	assert_equal "$(jq -r '.type + " " + .reason' <<<"$output")" "rejected not the code of an open incident"
}

@test "poll: the tick lock not held, or etcd down: nothing read, no cursor moved, exit 1" {
	state_to_etcd
	sms +15550102 "$CODE" 2026-11-27T10:01:00Z
	lease=$(ectl lease grant 60 | awk '{print $2}')
	ectl put /t/lock "elsewhere 1" --lease "$lease" >/dev/null
	other=$(ectl lease grant 60 | awk '{print $2}')
	ESC_ETCD_LEASE=$((16#$other)) run --separate-stderr esc-inbox --now "$NOW" poll
	assert_failure 1
	assert_output ""
	assert_equal "$stderr" "esc-inbox: etcd http://127.0.0.1:$ETCD_PORT /t/: the tick lock is not held with lease $((16#$other)) (ESC_ETCD_LEASE) but by elsewhere 1: it expired: nothing read"
	# Under the lock's own lease, the poll goes.
	ESC_ETCD_LEASE=$((16#$lease)) run --separate-stderr esc-inbox --now "$NOW" poll
	assert_success
	assert_equal "$(jq -r .type <<<"$output")" ack
	ectl lease revoke "$lease" >/dev/null
	stop_etcd
	run --separate-stderr esc-inbox --now "$NOW" poll
	assert_failure 1
	assert_output ""
	[[ "$stderr" == "esc-inbox: etcd: no member answered within 8 s (down, or no quorum): "*": nothing read" ]]
}

@test "serve: the incidents on etcd, read again while it runs" {
	# No incident on etcd yet: the code is nobody's.
	start_inbox -c "$CH" --now "$NOW"
	run tw_post "$(sms_form +15550102 "$CODE")"
	assert_line -n 0 200
	assert_output --partial "is not the code of an open incident"
	# esc-route opens it (on etcd): a second later serve knows it.
	state_to_etcd
	sleep 1.1
	run tw_post "$(sms_form +15550102 "$CODE")"
	assert_line -n 0 200
	assert_output --partial "incident $INC acknowledged by bob"
	assert_equal "$(pending_on_etcd | jq -r .type | sort | tr '\n' ' ')" "ack rejected "
	assert_equal "$(ls "$ESC_DIR/inbox/pending")" ''
}

# The records serve kept on etcd, each key's lines.
pending_on_etcd() {
	ectl get /t/inbox/pending/ --prefix --print-value-only | grep -v '^$' || true
}

# tw_post FORM: Twilio's form, signed for $PUB/twilio.
tw_post() {
	local sig
	sig=$(twilio_sign "$ESC_TWILIO_TOKEN" "$PUB/twilio" "$1")
	curl -s -o "$BATS_TEST_TMPDIR/post.body" -w '%{http_code}\n' -X POST \
	    -H "X-Twilio-Signature: $sig" \
	    -H 'Content-Type: application/x-www-form-urlencoded' \
	    --data-binary "$1" "$INBOX/twilio"
	cat "$BATS_TEST_TMPDIR/post.body"
}
sms_form() { # sms_form FROM BODY
	printf 'SmsSid=SM0001&MessageSid=SM0001&From=%s&To=%s&Body=%s&NumMedia=0&AccountSid=%s&ApiVersion=2010-04-01' \
	    "$(jq -rn --arg s "$1" '$s|@uri')" "$(jq -rn --arg s "+15550100" '$s|@uri')" \
	    "$(jq -rn --arg s "$2" '$s|@uri')" "$ESC_TWILIO_SID"
}

@test "serve: etcd away for a while, a webhook for an incident opened since is 503, not 200 and lost" {
	export ESC_PD_WEBHOOK_SECRET=pdWEBHOOKsekret
	jq '.pagerduty.webhook_secret_env = "ESC_PD_WEBHOOK_SECRET"' "$CH" > "$CH.new"
	mv "$CH.new" "$CH"
	chmod 600 "$CH"
	# serve reads etcd (no incident yet), then etcd goes away.
	start_inbox -c "$CH" --now "$NOW"
	stop_etcd
	sleep 5.5
	body=$(printf '{"event":{"id":"01DEF","event_type":"incident.acknowledged","resource_type":"incident","occurred_at":"2026-11-27T10:02:00Z","agent":{"id":"PBOB001","type":"user_reference","summary":"Bob"},"data":{"id":"P000001","type":"incident","incident_key":"%s"}}}' "$KEY")
	sig=$(printf '%s' "$body" | pd_sign "$ESC_PD_WEBHOOK_SECRET")
	run curl -s -o /dev/null -w '%{http_code}' -m 30 -X POST \
	    -H "X-PagerDuty-Signature: $sig" --data-binary "$body" "$INBOX/pagerduty"
	assert_output 503
	run ls "$ESC_DIR/inbox/pending"
	assert_output ''
	grep -q "POST /pagerduty 503: pagerduty: P000001: esc incident $INC is not in the state last read from etcd, a while ago: try again" "$INBOX_LOG"
	# Its SMS code from bob: 503 too, and no wrong try counted.
	run tw_post "$(sms_form +15550102 "$CODE")"
	assert_line -n 0 503
	run ls "$ESC_DIR/inbox/pending"
	assert_output ''
	[ ! -s "$ESC_DIR/inbox/sms-tries" ]
}

@test "serve: the records cannot be kept on etcd: 503, the provider sends it again; kept once etcd is back, then 200" {
	export ESC_PD_WEBHOOK_SECRET=pdWEBHOOKsekret
	jq '.pagerduty.webhook_secret_env = "ESC_PD_WEBHOOK_SECRET"' "$CH" > "$CH.new"
	mv "$CH.new" "$CH"
	chmod 600 "$CH"
	state_to_etcd
	# serve knows the incident, then etcd goes away: the hook takes the
	# ack, which cannot be kept.
	start_inbox -c "$CH" --now "$NOW"
	stop_etcd
	body=$(printf '{"event":{"id":"01ACK","event_type":"incident.acknowledged","resource_type":"incident","occurred_at":"2026-11-27T10:02:00Z","agent":{"id":"PBOB001","type":"user_reference","summary":"Bob"},"data":{"id":"P000001","type":"incident","incident_key":"%s"}}}' "$KEY")
	sig=$(printf '%s' "$body" | pd_sign "$ESC_PD_WEBHOOK_SECRET")
	run curl -s -o /dev/null -w '%{http_code}' -m 60 -X POST \
	    -H "X-PagerDuty-Signature: $sig" --data-binary "$body" "$INBOX/pagerduty"
	assert_output 503
	grep -q "POST /pagerduty 503: etcd: no member answered within 8 s" "$INBOX_LOG"
	assert_equal "$(ls "$ESC_DIR/inbox/pending")" ''
	start_etcd
	run curl -s -o /dev/null -w '%{http_code}' -m 60 -X POST \
	    -H "X-PagerDuty-Signature: $sig" --data-binary "$body" "$INBOX/pagerduty"
	assert_output 200
	assert_equal "$(pending_on_etcd | jq -r '"\(.type) \(.incident) \(.by)"')" "ack $INC bob"
}
