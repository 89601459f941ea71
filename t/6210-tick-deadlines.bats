#!/usr/bin/env bats
# Nothing holds the tick (issue 20): a dead mail server, or a PagerDuty
# REST API answering after 25 s, and one critical alert never acked.  A
# real Alertmanager, the shipped policy, simulated minutes (ESC_NOW, and
# the stand-in's clock set to it); the retry window is the policy's (10
# minutes for a critical page), not the tests' usual 2 s.

load test_helper
load alertmanager
load fixtures/notify/helper
bats_require_minimum_version 1.5.0

setup() {
	start_prov --pd-token t0ken --pd-user PBOB001:bob@example.com:Bob
	# Nothing listens there: the mail server refuses connections.
	SMTP_PORT=$(free_port)
	export ESC_PD_API_TOKEN=t0ken
	channels '.pagerduty += {api_url: ("http://127.0.0.1:'"$PROV_PORT"'"),
	    api_token_env: "ESC_PD_API_TOKEN"} | del(.retry.max_time, .timeouts)'
	export ESC_ROSTER=$FIX/inbox/roster.json
	pipeline_setup
	B=http://127.0.0.1:$PROV_PORT
}

teardown() {
	reap ${MUTE_PID:-}
	pipeline_teardown
}

post() {
	am_post "[{\"labels\":{\"alertname\":\"StemeDBAPIDown\",\"severity\":\"critical\",\"instance\":\"api-1\",\"job\":\"stemedb\"},
	  \"annotations\":{\"summary\":\"API down\"},\"startsAt\":\"$(at 0)\",\"endsAt\":\"$(at $(($1 + 5)))\"}]"
}
ctl() { curl -sf -X POST --data "$2" "$B/_control/$1" >/dev/null; }

# tick MIN: one tick at minute MIN, its standard error in $BATS_TEST_TMPDIR/
# err.MIN.  It must end within 60 s, the contract; one that does not is
# stopped at 150 s (the test then fails on it, instead of hanging).
tick() {
	local t=$SECONDS st=0
	ctl clock "{\"now\": \"$(at "$1")\"}"
	post "$1"
	ESC_NOW=$(at "$1") timeout 150 esc-tick 2>"$BATS_TEST_TMPDIR/err.$1" || st=$?
	t=$((SECONDS - t))
	echo "minute $1: exit $st, ${t}s" >> "$BATS_TEST_TMPDIR/ticks"
	if [ "$st" -eq 124 ] || [ "$t" -gt 60 ]; then
		echo "the tick of minute $1 took ${t}s (exit $st)" >&2
		cat "$BATS_TEST_TMPDIR/err.$1" >&2
		return 1
	fi
}

# delivered LEVEL CHANNEL: a page of that level and channel has a
# delivered receipt (its dedup_key ends in -L<level>-<channel>).
delivered() {
	jq -se --arg k "-L$1-$2" 'any(.[]; .type == "receipt" and
	    .status == "delivered" and (.dedup_key | endswith($k)))' "$J" >/dev/null
}

# pd_key: the dedup_key of the level 1 PagerDuty page.
pd_key() {
	jq -r 'select(.type == "receipt" and (.dedup_key | endswith("-L1-pagerduty"))) | .dedup_key' "$J" | head -n 1
}

@test "the mail server refusing connections: every tick ends within 60 s, level 1 goes out through PagerDuty, Slack and SMS and level 2 at minute 5 through PagerDuty and Slack, an ack in PagerDuty at minute 6 is applied, the mail goes out once the server is back, level 3 at minute 15" {
	tick 0
	for l in pagerduty slack sms; do delivered 1 "$l"; done
	# Said once for the tick, not once for each page.
	run grep -c 'email' "$BATS_TEST_TMPDIR/err.0"
	assert_output 1
	run cat "$BATS_TEST_TMPDIR/err.0"
	assert_line --regexp '^esc-tick: email: 3 deliveries not made this tick \(esc-notify: email: 3 deliveries failed: .*\); kept in the spool for the next$'
	tick 1
	tick 5
	# Level 2 of the shipped policy: PagerDuty and Slack.
	for l in pagerduty slack; do delivered 2 "$l"; done
	key=$(pd_key)
	ctl pagerduty/act '{"action": "acknowledge", "incident_key": "'"$key"'", "user": "PBOB001", "at": "'"$(at 6)"'", "channel": "mobile"}'
	tick 6
	tick 7
	# The router took the ack at minute 6.
	assert_equal "$(jq -c 'select(.type == "incident" and .event == "acked") | [.by, .at]' "$J")" "[\"bob\",\"$(at 6)\"]"
	# No mail went out, and none is dead: they wait in the spool.
	assert_equal "$(jq -c 'select(.type == "receipt" and .channel == "email")' "$J")" ''
	# The server back at minute 8: the mails go out, and everything is
	# in the journal once.
	start_smtp "$SMTP_PORT"
	tick 8
	delivered 1 email
	assert_equal "$(jq -c 'select(.type == "receipt" and .channel == "email") | .status' "$J" | sort | uniq -c | tr -s ' ')" ' 3 "delivered"'
	assert_equal "$(jq -c 'select(.type == "incident" and .event == "acked") | [.by, .at]' "$J")" "[\"bob\",\"$(at 6)\"]"
	assert_equal "$(ls "$ESC_DIR/pending")" ''
	assert_equal "$(jq -r 'select(.type == "page") | .dedup_key' "$J" | sort | uniq -d)" ''
	# Level 3 (unresolved, acked or not) at minute 15.
	tick 15
	delivered 3 pagerduty
	cat "$BATS_TEST_TMPDIR/ticks" >&3
}

@test "the mail server accepting connections and never answering: every tick ends within 60 s, level 2 goes out at minute 5" {
	# Accepts, holds every connection open, says nothing.
	"$PY" -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64)
held = []
while True:
    c, _ = s.accept(); held.append(c)
' "$SMTP_PORT" &
	MUTE_PID=$!
	wait_port "$SMTP_PORT"
	tick 0
	tick 5
	for l in pagerduty slack sms; do delivered 1 "$l"; done
	for l in pagerduty slack; do delivered 2 "$l"; done
	assert_equal "$(jq -c 'select(.type == "receipt" and .channel == "email" and .status == "delivered")' "$J")" ''
	cat "$BATS_TEST_TMPDIR/ticks" >&3
}

@test "PagerDuty's REST API answering after 25 s to every request, and the mail down: every tick ends within 60 s, level 2 at minute 5; the ack made at minute 6 is applied by the first tick after the API answers again" {
	prov_ctl '{"mode": "slow", "latency_ms": 25000, "path": "/log_entries"}'
	prov_ctl '{"mode": "slow", "latency_ms": 25000, "path": "/incidents"}'
	prov_ctl '{"mode": "slow", "latency_ms": 25000, "path": "/users"}'
	tick 0
	tick 5
	for l in pagerduty slack; do delivered 2 "$l"; done
	run cat "$BATS_TEST_TMPDIR/err.5"
	assert_line --regexp "^esc-inbox: pagerduty: http://127.0.0.1:[0-9]+/log_entries\?since=.*: the poll's deadline has passed; its cursor stays$"
	key=$(pd_key)
	ctl pagerduty/act '{"action": "acknowledge", "incident_key": "'"$key"'", "user": "PBOB001", "at": "'"$(at 6)"'", "channel": "mobile"}'
	tick 6
	# Every request answers after 25 s, past the poll's deadline: no
	# poll can read PagerDuty, and none holds the tick.
	acked() { jq -c 'select(.type == "incident" and .event == "acked") | [.by, .at]' "$J"; }
	assert_equal "$(acked)" ''
	prov_ctl '{"mode": "clear"}'
	tick 7
	assert_equal "$(acked)" "[\"bob\",\"$(at 6)\"]"
	cat "$BATS_TEST_TMPDIR/ticks" >&3
}
