#!/usr/bin/env bats
# esc-notify's digests with the state on etcd: the code is the key
# digest/CODE (fenced by the tick lock, not leased), so that esc-inbox on
# any host acks what the digest named.

load test_helper
load fixtures/notify/helper
load etcd1
bats_require_minimum_version 1.5.0

T=2026-11-27T10:00:00Z

setup() {
	start_prov --now "$T" --twilio-sid "$ESC_TWILIO_SID" --twilio-token "$ESC_TWILIO_TOKEN"
	channels '.sms.replies = true'
	export ESC_DIR=$BATS_TEST_TMPDIR/esc
	export ESC_ROSTER=$FIX/inbox/roster.json
	mkdir -p "$ESC_DIR"
	SP=$ESC_DIR/spool
	jq -cn 'range(5) as $i | {labels: {alertname: "Crit\($i)", severity: "critical", instance: "api-1"},
	  annotations: {summary: "down \($i)"}, startsAt: "2026-11-27T09:59:00Z",
	  endsAt: "0001-01-01T00:00:00Z", fingerprint: ("f\($i)"), status: {state: "active"}}' |
	    esc-classify --now "$T" | esc-route -s "$BATS_TEST_TMPDIR/state" --now "$T" >"$BATS_TEST_TMPDIR/routed"
	jq -c 'select(.type == "page" and .channel == "pagerduty" and .level == 1)
	  | .channel = "sms" | .recipients = [{"role": "primary", "person": "bob", "phone": "+1-555-0102"}]' \
	    "$BATS_TEST_TMPDIR/routed" >"$BATS_TEST_TMPDIR/in"
	start_etcd
	esc-route --import-state "$BATS_TEST_TMPDIR/state"
}

teardown() {
	stop_servers
	stop_etcd
}

@test "on etcd: the digest's code is the key digest/CODE, and esc-inbox acks all it names" {
	run --separate-stderr esc-notify --spool "$SP" --now "$T" "$BATS_TEST_TMPDIR/in"
	assert_success
	body=$(jq -r 'select(.kind == "twilio") | .body' "$PROV_LOG")
	[ "$(wc -l <<<"$body")" -eq 1 ]
	[[ $body =~ Reply%20([34679ACDEFGHJKMNPQTUVWXY]{6})%20to%20ack%20all%205 ]]
	code=${BASH_REMATCH[1]}
	run ectl get "/t/digest/$code" --print-value-only
	assert_equal "$(jq -c '[.code, .to, (.incidents | length), .expires]' <<<"$output")" "[\"$code\",\"+15550102\",5,\"2026-11-28T10:00:00Z\"]"
	# Not leased: it outlives the run.
	run ectl get "/t/digest/$code" -w json
	[[ $output != *'"lease"'* ]]
	[ ! -e "$ESC_DIR/digests" ]
	curl -sf -X POST --data "{\"from\": \"+15550102\", \"to\": \"+15550100\", \"body\": \"$code\", \"at\": \"2026-11-27T10:01:00Z\"}" \
	    "http://127.0.0.1:$PROV_PORT/_control/twilio/messages" >/dev/null
	run --separate-stderr esc-inbox --now 2026-11-27T10:02:00Z poll
	assert_success
	assert_equal "$(jq -sc 'map(select(.type == "ack" and .digest == "'"$code"'")) | [length, (map(.incident) | unique | length)]' <<<"$output")" '[5,5]'
}
