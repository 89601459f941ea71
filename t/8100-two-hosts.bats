#!/usr/bin/env bats
# Two hosts, one pager: two esc "hosts" (two ESC_DIRs) run the same
# crontab against one real Alertmanager and a real 3-member etcd cluster
# (t/etcd.bash) on loopback; PagerDuty, Slack and SMS are the stand-in.
# Simulated minutes (ESC_NOW, and the stand-in's clock set to it); the
# leases are real time.

load test_helper
load alertmanager
load etcd
load fixtures/notify/helper
bats_require_minimum_version 1.5.0

setup() {
	etcd_start 3
	start_prov
	start_smtp
	channels
	am_start
	export ESC_ALERTMANAGER_URL=$AM_URL
	export ESC_ROSTER=$ESC_SRC/share/esc/roster.example.json
	A=$BATS_TEST_TMPDIR/a B=$BATS_TEST_TMPDIR/b
	T0=$(date -u +%s)
	P=http://127.0.0.1:$PROV_PORT
	PIDS=()
}

teardown() {
	local p
	for p in "${PIDS[@]}"; do
		kill -CONT -- "-$p" 2>/dev/null || true
		kill -KILL -- "-$p" 2>/dev/null || true
	done
	am_stop
	stop_servers
	etcd_stop
}

at() { date -u -d "@$((T0 + $1 * 60))" +%Y-%m-%dT%H:%M:%SZ; }
post() {
	am_post "[{\"labels\":{\"alertname\":\"StemeDBAPIDown\",\"severity\":\"critical\",\"instance\":\"api-1\",\"job\":\"stemedb\"},
	  \"annotations\":{\"summary\":\"API down\"},\"startsAt\":\"$(at 0)\",\"endsAt\":\"$(at $(($1 + 5)))\"}]"
}
clock() { curl -sf -X POST --data "{\"now\": \"$(at "$1")\"}" "$P/_control/clock" >/dev/null; }

# host DIR MIN: that host's tick of minute MIN, in the background, in a
# process group of its own (a host that dies takes all of it); its pid in
# PIDS and in HOST_PID.
host() {
	ESC_DIR=$1 ESC_NOW=$(at "$2") setsid esc-tick >>"$1.out" 2>>"$1.err" 3>&- &
	HOST_PID=$!
	PIDS+=("$HOST_PID")
}

# both MIN: both hosts tick minute MIN at once; both must succeed.
both() {
	local a b
	post "$1"
	clock "$1"
	host "$A" "$1"; a=$HOST_PID
	host "$B" "$1"; b=$HOST_PID
	wait "$a" || fail "host a, minute $1: exit $?: $(cat "$A.err")"
	wait "$b" || fail "host b, minute $1: exit $?: $(cat "$B.err")"
}

# What the stand-in was sent for PagerDuty, "event_action dedup_key".
pd_sent() {
	jq -r 'select(.kind == "pagerduty") | .body | fromjson | "\(.event_action) \(.dedup_key)"' "$PROV_LOG"
}

# The pages of both journals, as "minute level channel", each once.
pages() {
	cat "$A/journal.ndjson" "$B/journal.ndjson" 2>/dev/null |
	    jq -r --argjson t0 "$T0" 'select(.type == "page" and .event != "resolve")
	    | "\(((.at | fromdateiso8601) - $t0) / 60 | floor) L\(.level) \(.channel)"' | sort -u
}

@test "two hosts tick the same minutes at once: one router at a time, every page sent once, each host its own journal" {
	for m in 0 1 2 3 4 5 6; do
		both "$m"
	done
	# One trigger for level 1, one for level 2: no host sent a page twice.
	run pd_sent
	assert_equal "$(printf '%s\n' "$output" | sort | uniq -d)" ""
	assert_equal "$(printf '%s\n' "$output" | grep -c '^trigger ')" 2
	run pages
	assert_line '0 L1 pagerduty'
	assert_line '5 L2 pagerduty'
	# Each host journalled what it delivered: a receipt is in one journal.
	assert_equal "$(cat "$A/journal.ndjson" "$B/journal.ndjson" |
	    jq -c 'select(.type == "receipt") | [.dedup_key, .event, .recipient]' | sort | uniq -d)" ""
	# Both hosts ticked every minute: 7 heartbeats each.
	assert_equal "$(jq -c 'select(.type == "heartbeat")' "$A/journal.ndjson" | wc -l)" 7
	assert_equal "$(jq -c 'select(.type == "heartbeat")' "$B/journal.ndjson" | wc -l)" 7
	# The state is on etcd, not in either ESC_DIR.
	assert [ ! -e "$A/state.json" ]
	assert [ ! -e "$B/state.json" ]
	[ -n "$(etcd_keys /esc/state/inc/)" ]
	# esc-report over both journals: one incident, escalated.
	run -0 esc-report metrics -f json "$A/journal.ndjson" "$B/journal.ndjson"
	assert_equal "$(jq -c '.all.incidents' <<<"$output")" 1
}

@test "failover: host a dies for good in its tick of minute 3; host b sends level 2 at minute 5 as if nothing happened" {
	for m in 0 1 2; do
		both "$m"
	done
	# Minute 3: host a takes the lock and dies with it (its whole process
	# group, esc-lock too: the lease is left to expire, 30 s).
	post 3
	clock 3
	mkdir -p "$BATS_TEST_TMPDIR/gate"
	cat >"$BATS_TEST_TMPDIR/gate/esc-inbox" <<'EOF'
#!/bin/sh
# the host dies here, in its tick
echo entered >"$0.entered"
exec sleep 300
EOF
	chmod +x "$BATS_TEST_TMPDIR/gate/esc-inbox"
	PATH=$BATS_TEST_TMPDIR/gate:$PATH host "$A" 3
	wait_until test -e "$BATS_TEST_TMPDIR/gate/esc-inbox.entered"
	kill -KILL -- "-$HOST_PID"
	# Host b's tick of minute 3 waits for the lease to expire, then runs.
	host "$B" 3
	b=$HOST_PID
	_etcd_until 60 eval '! kill -0 $b 2>/dev/null'
	wait "$b" || fail "host b, minute 3: $(cat "$B.err")"
	for m in 4 5 6; do
		post "$m"
		clock "$m"
		host "$B" "$m"
		wait "$HOST_PID" || fail "host b, minute $m: $(cat "$B.err")"
	done
	run pages
	assert_line '0 L1 pagerduty'
	assert_line '5 L2 pagerduty'
	# Level 2 was host b's, at minute 5, sent once.
	assert_equal "$(jq -r --argjson t0 "$T0" 'select(.type == "page" and .level == 2 and .channel == "pagerduty")
	    | ((.at | fromdateiso8601) - $t0) / 60 | floor' "$B/journal.ndjson")" 5
	assert_equal "$(pd_sent | grep -c '^trigger ')" 2
}
