#!/usr/bin/env bats
# A paused host (issue 21, 3): host a's esc-notify stops between its
# claims and its sends (ESC_FAILPOINT=claimed), then its whole tick is
# paused past the lease; host b takes the lock and delivers; a continued
# sends nothing: each delivery reaches the stand-in once.  Two hosts on a
# real 3-member etcd cluster (t/etcd.bash), a real Alertmanager, the
# stand-ins; a lease of 3 s.

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
	export ESC_ETCD_TTL=3
	A=$BATS_TEST_TMPDIR/a B=$BATS_TEST_TMPDIR/b
	T0=$(date -u +%s)
	P=http://127.0.0.1:$PROV_PORT
	APID=
}

teardown() {
	if [ -n "$APID" ]; then
		kill -CONT -- "-$APID" 2>/dev/null || true
		kill -KILL -- "-$APID" 2>/dev/null || true
	fi
	am_stop
	stop_servers
	etcd_stop
}

at() { date -u -d "@$((T0 + $1 * 60))" +%Y-%m-%dT%H:%M:%SZ; }

# What was posted to the stand-in (esc-inbox's polls are GETs).
posts() {
	jq -c 'select(.method == "POST") | [.kind, .path, .body]' "$PROV_LOG"
}

# The pid of a stopped esc-notify in host a's process group, if any.
stopped_notify() {
	ps -o pid=,stat=,comm= -g "$APID" | awk '$3 == "esc-notify" && $2 ~ /^T/ { print $1 }' | grep .
}

@test "a host paused between its claims and its sends, past its lease: the other host delivers, the paused one sends nothing when continued" {
	am_post "[{\"labels\":{\"alertname\":\"StemeDBAPIDown\",\"severity\":\"critical\",\"instance\":\"api-1\",\"job\":\"stemedb\"},
	  \"annotations\":{\"summary\":\"API down\"},\"startsAt\":\"$(at 0)\",\"endsAt\":\"$(at 10)\"}]"
	curl -sf -X POST --data "{\"now\": \"$(at 0)\"}" "$P/_control/clock" >/dev/null
	# Host a: its tick in a process group of its own; its esc-notify
	# stops itself once it claimed the pages.
	ESC_DIR=$A ESC_HOST=a ESC_NOW=$(at 0) ESC_FAILPOINT=claimed \
	    setsid esc-tick >"$A.out" 2>"$A.err" 3>&- &
	APID=$!
	wait_until stopped_notify
	# The whole host paused, esc-lock too: its lease runs out.
	kill -STOP -- "-$APID"
	_etcd_until 30 eval '[ -z "$(etcd_get /esc/lock)" ]'
	# Host b ticks the minute: a's claims went with its lease.
	ESC_DIR=$B ESC_HOST=b ESC_NOW=$(at 0) esc-tick >"$B.out" 2>"$B.err" 3>&- ||
	    fail "host b: $(cat "$B.err")"
	sent=$(posts | wc -l)
	[ "$sent" -gt 0 ]
	# Host a continued: it finds its lease gone and sends nothing more.
	kill -CONT -- "-$APID"
	_etcd_until 60 eval '! kill -0 $APID 2>/dev/null'
	run wait "$APID"
	assert_failure
	APID=
	assert_equal "$(posts | wc -l)" "$sent"
	# Every delivery once: as many requests as b's delivered receipts
	# over HTTP, no body twice, and one mail per e-mail receipt.
	assert_equal "$(jq -c 'select(.type == "receipt" and .status == "delivered" and .channel != "email")' "$B/journal.ndjson" | wc -l)" "$sent"
	assert_equal "$(posts | sort | uniq -d)" ""
	assert_equal "$(find "$BATS_TEST_TMPDIR/mail/new" -type f | wc -l)" \
	    "$(jq -c 'select(.type == "receipt" and .status == "delivered" and .channel == "email")' "$B/journal.ndjson" | wc -l)"
	# Host a delivered nothing; its esc-lock said why.
	assert_equal "$(jq -c 'select(.type == "receipt" and .status == "delivered")' "$A/journal.ndjson" 2>/dev/null)" ""
	grep -q "esc-lock: the tick lock's lease expired" "$A.err"
}
