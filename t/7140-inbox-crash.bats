#!/usr/bin/env bats
# esc-inbox serve killed (SIGKILL) after it wrote a request's records and
# before it answered: the provider, without its 2xx, sends the request
# again; both copies reach esc-route, and the ack is applied once.

load test_helper
bats_require_minimum_version 1.5.0

T=2026-11-27T10:00:00Z
NOW=2026-11-27T10:03:00Z

setup() {
	export ESC_DIR=$BATS_TEST_TMPDIR/esc
	export ESC_ROSTER=$FIX/inbox/roster.json
	export ESC_PD_KEY=R0UTINGKEYsekret ESC_PD_WEBHOOK_SECRET=pdWEBHOOKsekret
	mkdir -p "$ESC_DIR"
	CH=$BATS_TEST_TMPDIR/channels.json
	printf '%s\n' '{"pagerduty": {"routing_key_env": "ESC_PD_KEY", "webhook_secret_env": "ESC_PD_WEBHOOK_SECRET"}}' > "$CH"
	chmod 600 "$CH"
	esc-classify --now "$T" "$ESC_SRC/share/esc/examples/alerts.ndjson" |
	    esc-route -s "$ESC_DIR/state.json" --now "$T" > "$BATS_TEST_TMPDIR/pages"
	KEY=$(jq -r 'select(.type == "page" and .alertname == "StemeDBAPIDown" and .channel == "pagerduty") | .dedup_key' "$BATS_TEST_TMPDIR/pages")
	INC=${KEY:0:16}
	BODY='{"event":{"id":"01ACK","event_type":"incident.acknowledged","resource_type":"incident","occurred_at":"2026-11-27T10:02:00Z","agent":{"id":"PBOB001","summary":"Bob","type":"user_reference"},"data":{"id":"P000001","type":"incident","incident_key":"'"$KEY"'"}}}'
	SIG=$(printf '%s' "$BODY" | pd_sign "$ESC_PD_WEBHOOK_SECRET")
}

teardown() {
	reap ${INBOX_PID:-}
}

send() {
	curl -s -o /dev/null -w '%{http_code}' -X POST -H "X-PagerDuty-Signature: $SIG" \
	    --data-binary "$BODY" "$INBOX/pagerduty"
}
files() { ls "$ESC_DIR/inbox/pending" | wc -l; }

@test "serve killed between the write and the answer: no answer, the record kept; sent again, applied once" {
	ESC_FAILPOINT=inbox-written start_inbox -c "$CH" --now "$NOW"
	run send
	# No answer at all: the connection closed under curl.
	assert_output 000
	rc=0
	wait "$INBOX_PID" || rc=$?
	INBOX_PID=
	[ "$rc" -eq 137 ]
	[ "$(files)" -eq 1 ]
	grep -q "\"incident\":\"$INC\"" "$ESC_DIR"/inbox/pending/*.ndjson
	# PagerDuty sends it again, to the restarted server.
	start_inbox -c "$CH" --now "$NOW"
	run send
	assert_output 200
	[ "$(files)" -eq 2 ]
	# Both copies go to the router: one ack.
	esc-route -s "$ESC_DIR/state.json" --now "$NOW" "$ESC_DIR"/inbox/pending/*.ndjson > "$BATS_TEST_TMPDIR/out"
	run jq -c --arg i "$INC" 'select(.type == "incident" and .incident == $i) | [.event, .by]' "$BATS_TEST_TMPDIR/out"
	assert_output '["acked","bob"]'
	# A tick killed before it removed them feeds them again: nothing.
	esc-route -s "$ESC_DIR/state.json" --now "$NOW" "$ESC_DIR"/inbox/pending/*.ndjson > "$BATS_TEST_TMPDIR/out"
	run jq -c 'select(.type == "incident")' "$BATS_TEST_TMPDIR/out"
	assert_output ''
}

@test "serve: 20 requests at once are 20 answers and 20 files, each whole" {
	start_inbox -c "$CH" --now "$NOW"
	pids=()
	for i in $(seq 1 20); do
		send > "$BATS_TEST_TMPDIR/code.$i" &
		pids+=($!)
	done
	wait "${pids[@]}"
	run cat "$BATS_TEST_TMPDIR"/code.*
	assert_output "$(printf '200%.0s' $(seq 1 20))"
	[ "$(files)" -eq 20 ]
	run jq -c 'select(.type == "ack") | .incident' "$ESC_DIR"/inbox/pending/*.ndjson
	assert_output "$(for i in $(seq 1 20); do echo "\"$INC\""; done)"
}
