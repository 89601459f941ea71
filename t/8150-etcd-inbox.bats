#!/usr/bin/env bats
# A host's acks outlive the host (issue 21, item 2): with the state on
# etcd, what esc-inbox serve and poll take is kept on etcd
# (inbox/pending/NAME) before serve's 2xx and in the transaction that
# moves poll's cursors, and the next tick on any host takes it, deleting
# the keys with the state it changed.  Two hosts (two ESC_DIRs) on a real
# 3-member etcd cluster, a real Alertmanager, PagerDuty played by the
# stand-in; simulated minutes (ESC_NOW, and the stand-in's clock).  The
# policy pages level 1 at minute 0 and level 2 at minute 5.

load test_helper
load alertmanager
load etcd
load fixtures/notify/helper
bats_require_minimum_version 1.5.0

setup() {
	etcd_start 3
	start_prov --pd-token t0ken --pd-user PBOB001:bob@example.com:Bob
	start_smtp
	export ESC_PD_API_TOKEN=t0ken ESC_PD_WEBHOOK_SECRET=pdWEBHOOKsekret
	channels '.pagerduty += {api_url: ("http://127.0.0.1:'"$PROV_PORT"'"),
	    api_token_env: "ESC_PD_API_TOKEN",
	    webhook_secret_env: "ESC_PD_WEBHOOK_SECRET"}'
	am_start
	export ESC_ALERTMANAGER_URL=$AM_URL
	export ESC_ROSTER=$FIX/inbox/roster.json
	A=$BATS_TEST_TMPDIR/a B=$BATS_TEST_TMPDIR/b
	mkdir -p "$A" "$B"
	T0=$(date -u +%s)
	P=http://127.0.0.1:$PROV_PORT
}

teardown() {
	reap -9 ${INBOX_PID:-}
	am_stop
	stop_servers
	etcd_stop
}

at() { date -u -d "@$((T0 + $1 * 60))" +%Y-%m-%dT%H:%M:%SZ; }
post() {
	am_post "[{\"labels\":{\"alertname\":\"StemeDBAPIDown\",\"severity\":\"critical\",\"instance\":\"api-1\",\"job\":\"stemedb\"},
	  \"annotations\":{\"summary\":\"API down\"},\"startsAt\":\"$(at 0)\",\"endsAt\":\"$(at $(($1 + 5)))\"}]"
}
ctl() { curl -sf -X POST --data "$2" "$P/_control/$1" >/dev/null; }
clock() { ctl clock "{\"now\": \"$(at "$1")\"}"; }

# tick DIR MIN: that host's tick of minute MIN; it must succeed.
tick() {
	post "$2"
	clock "$2"
	ESC_DIR=$1 ESC_NOW=$(at "$2") esc-tick >>"$1.out" 2>>"$1.err" ||
	    fail "$(basename "$1"), minute $2: exit $?: $(cat "$1.err")"
}

# Level 1 paged by host b at minute 0: its PagerDuty dedup key in KEY.
paged() {
	tick "$B" 0
	KEY=$(jq -r 'select(.type == "page" and .channel == "pagerduty" and .level == 1) | .dedup_key' "$B/journal.ndjson")
	[ -n "$KEY" ]
	INC=${KEY:0:16}
}

# The acks journalled on host DIR, as "incident by at".
acked() {
	jq -r 'select(.type == "incident" and .event == "acked") | "\(.incident) \(.by) \(.at)"' "$1/journal.ndjson"
}

# The pages of both journals, as "minute level channel".
pages() {
	cat "$A/journal.ndjson" "$B/journal.ndjson" 2>/dev/null |
	    jq -r --argjson t0 "$T0" 'select(.type == "page" and .event != "resolve")
	    | "\(((.at | fromdateiso8601) - $t0) / 60 | floor) L\(.level) \(.channel)"' | sort -u
}

@test "serve on host a answers 2xx to a PagerDuty ack and is killed -9 before any tick: host b's next tick takes the ack, no level 2" {
	paged
	ESC_DIR=$A start_inbox --now "$(at 1)"
	body=$(printf '{"event":{"id":"01ACK","event_type":"incident.acknowledged","resource_type":"incident","occurred_at":"%s","agent":{"id":"PBOB001","type":"user_reference","summary":"Bob"},"data":{"id":"P000001","type":"incident","incident_key":"%s"}}}' "$(at 1)" "$KEY")
	sig=$(printf '%s' "$body" | pd_sign "$ESC_PD_WEBHOOK_SECRET")
	run curl -s -o /dev/null -w '%{http_code}' -m 30 -X POST \
	    -H "X-PagerDuty-Signature: $sig" --data-binary "$body" "$INBOX/pagerduty"
	assert_output 200
	# The doorbell still rings host a's own watching tick.
	[ -e "$A/inbox/doorbell" ]
	# Host a dies at once: nothing of the ack is on its disk, all of it
	# on etcd.
	reap -9 "$INBOX_PID"
	assert_equal "$(ls "$A/inbox/pending")" ''
	run etcd_keys /esc/inbox/pending/
	assert_equal "${#lines[@]}" 1
	assert_equal "$(etcd_get "${lines[0]}" | jq -r '"\(.type) \(.incident) \(.by)"')" "ack $INC bob"
	# Host b ticks on, past level 2's minute.
	for m in 1 2 3 4 5 6; do
		tick "$B" "$m"
	done
	assert_equal "$(acked "$B")" "$INC bob $(at 1)"
	run pages
	assert_line '0 L1 pagerduty'
	refute_line --regexp ' L2 '
	# Taken once: the key went with the state that holds the ack.
	assert_equal "$(etcd_keys /esc/inbox/pending/)" ''
}

# poll_a FAILPOINT: host a's poll of PagerDuty at minute 1, on its own
# (its own short lease on the tick lock), killed by the failpoint.
poll_a() {
	clock 1
	ESC_DIR=$A ESC_NOW=$(at 1) ESC_ETCD_TTL=2 ESC_FAILPOINT=$1 \
	    run --separate-stderr esc-inbox poll --pending
	assert_equal "$status" 137
}

@test "poll on host a dies just after its transaction (cursor and records): host b's next tick takes the ack, no level 2" {
	paged
	ctl pagerduty/act '{"action": "acknowledge", "incident_key": "'"$KEY"'", "user": "PBOB001", "at": "'"$(at 1)"'", "channel": "mobile"}'
	poll_a inbox-polled
	assert_equal "$(ls "$A/inbox/pending")" ''
	run etcd_keys /esc/inbox/pending/
	assert_equal "${#lines[@]}" 1
	[[ ${lines[0]} == /esc/inbox/pending/*.poll.ndjson ]]
	[ -n "$(etcd_get /esc/inbox/cursor/pagerduty)" ]
	# Host b's tick waits for host a's lease to expire, then takes it
	# (its own poll reads nothing new: the cursor moved).
	for m in 1 2 3 4 5 6; do
		tick "$B" "$m"
	done
	assert_equal "$(acked "$B")" "$INC bob $(at 1)"
	run pages
	assert_line '0 L1 pagerduty'
	refute_line --regexp ' L2 '
	assert_equal "$(etcd_keys /esc/inbox/pending/)" ''
}

@test "poll on host a killed before its transaction: no cursor moved, nothing kept; its next poll reads the ack again" {
	paged
	ctl pagerduty/act '{"action": "acknowledge", "incident_key": "'"$KEY"'", "user": "PBOB001", "at": "'"$(at 1)"'", "channel": "mobile"}'
	poll_a inbox-poll-read
	assert_equal "$(etcd_keys /esc/inbox/)" ''
	# The lease left by the killed poll expires; the next poll reads the
	# same ack and keeps it, with the cursor.
	_etcd_until 30 eval '[ -z "$(etcd_keys /esc/lock)" ]'
	ESC_DIR=$A ESC_NOW=$(at 1) run --separate-stderr esc-inbox poll --pending
	assert_success
	run etcd_keys /esc/inbox/pending/
	assert_equal "${#lines[@]}" 1
	assert_equal "$(etcd_get "${lines[0]}" | jq -r '"\(.type) \(.incident) \(.by) \(.at)"')" "ack $INC bob $(at 1)"
	[ -n "$(etcd_get /esc/inbox/cursor/pagerduty)" ]
	tick "$A" 2
	assert_equal "$(acked "$A")" "$INC bob $(at 1)"
	assert_equal "$(etcd_keys /esc/inbox/pending/)" ''
}

@test "a record on etcd the router cannot read is said by its key and line, the rest taken; a key esc-inbox would not name is left" {
	paged
	etcdctl_ put /esc/inbox/pending/20260101T000000Z.1.1.ndjson "$(printf 'not json\n{"type":"ack","incident":"%s","by":"bob","at":"%s","source":"pagerduty"}\n' "$INC" "$(at 1)")" >/dev/null
	etcdctl_ put "/esc/inbox/pending/odd name" '{"type":"note"}' >/dev/null
	post 1
	clock 1
	ESC_DIR=$B ESC_NOW=$(at 1) run --separate-stderr esc-tick
	assert_failure 1
	[[ $stderr == *"esc-route: etcd $ESC_ETCD_ENDPOINTS /esc/: inbox/pending/20260101T000000Z.1.1.ndjson:1: "* ]]
	[[ $stderr == *"esc-route: etcd $ESC_ETCD_ENDPOINTS /esc/: inbox/pending/odd name: not a record esc-inbox wrote: left"* ]]
	assert_equal "$(acked "$B")" "$INC bob $(at 1)"
	assert_equal "$(etcd_keys /esc/inbox/pending/)" "/esc/inbox/pending/odd name"
}
