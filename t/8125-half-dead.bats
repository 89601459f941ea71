#!/usr/bin/env bats
# A half-dead host (issue 21, 1): host a reaches etcd but no provider
# (every URL of its channels at a closed port), host b is healthy.  A
# delivery a cannot make goes back to the pool on etcd after a few tries,
# and is dead only once every live host tried it: b delivers every page.
# Two hosts (ESC_DIRs, ESC_HOST a and b) on a real 3-member etcd cluster
# (t/etcd.bash), a real Alertmanager, the stand-in for the providers;
# simulated minutes (ESC_NOW), the leases in real time.

load test_helper
load alertmanager
load etcd
load fixtures/notify/helper
bats_require_minimum_version 1.5.0

setup() {
	etcd_start 3
	start_prov
	start_smtp
	# Host a's channels: everything at a port nothing listens on.
	DEAD=http://127.0.0.1:$(free_port)
	PROV_PORT=${DEAD##*:} SMTP_PORT=${DEAD##*:} channels
	mv "$CH" "$BATS_TEST_TMPDIR/channels-a.json"
	channels
	am_start
	export ESC_ALERTMANAGER_URL=$AM_URL
	export ESC_ROSTER=$ESC_SRC/share/esc/roster.example.json
	A=$BATS_TEST_TMPDIR/a B=$BATS_TEST_TMPDIR/b
	T0=$(date -u +%s)
	P=http://127.0.0.1:$PROV_PORT
}

teardown() {
	am_stop
	stop_servers
	etcd_stop
}

at() { date -u -d "@$((T0 + $1 * 60))" +%Y-%m-%dT%H:%M:%SZ; }
# One critical alert from minute 0, posted until minute 11: it resolves
# after that.
post() {
	am_post "[{\"labels\":{\"alertname\":\"StemeDBAPIDown\",\"severity\":\"critical\",\"instance\":\"api-1\",\"job\":\"stemedb\"},
	  \"annotations\":{\"summary\":\"API down\"},\"startsAt\":\"$(at 0)\",\"endsAt\":\"$(at $(($1 + 2)))\"}]"
}
clock() { curl -sf -X POST --data "{\"now\": \"$(at "$1")\"}" "$P/_control/clock" >/dev/null; }

# Host a's tick of minute MIN: its providers unreachable, so exit 1.
tick_a() {
	ESC_DIR=$A ESC_HOST=a ESC_NOW=$(at "$1") \
	    ESC_CHANNELS=$BATS_TEST_TMPDIR/channels-a.json \
	    ESC_SLACK_CRITICAL_URL=$DEAD/c ESC_SLACK_WARNING_URL=$DEAD/w \
	    ESC_SLACK_ONCALL_URL=$DEAD/o ESC_WEBHOOK_URL=$DEAD/h \
	    esc-tick >>"$A.out" 2>>"$A.err" 3>&- || true
}
tick_b() {
	ESC_DIR=$B ESC_HOST=b ESC_NOW=$(at "$1") ESC_TEXTFILE_DIR=$B esc-tick >>"$B.out" 2>>"$B.err" 3>&- ||
	    fail "host b, minute $1: $(cat "$B.err")"
}

@test "a half-dead host: every page it cannot make is handed back and delivered by the healthy host within two ticks, none dead" {
	local m
	# Host a ticks first each minute: its router makes the pages.
	for m in $(seq 0 19); do
		[ "$m" -ge 12 ] || post "$m"
		clock "$m"
		tick_a "$m"
		tick_b "$m"
	done
	cat "$A/journal.ndjson" "$B/journal.ndjson" >"$BATS_TEST_TMPDIR/all"
	# Pages were made (a trigger per level, and the resolve), by a.
	run jq -r 'select(.type == "page") | "\(.dedup_key) \(.event)"' "$A/journal.ndjson"
	assert_line --partial '-L1-pagerduty trigger'
	assert_line --partial '-L2-pagerduty trigger'
	assert_line --partial ' resolve'
	# Host a delivered nothing and gave nothing up; nothing is dead.
	assert_equal "$(jq -c 'select(.type == "receipt" and .status != "delivered")' "$BATS_TEST_TMPDIR/all")" ""
	assert_equal "$(jq -c 'select(.type == "receipt")' "$A/journal.ndjson")" ""
	# Each page's deliveries were made by b, within two ticks of the page.
	run jq -rs '[.[] | select(.type == "receipt" and .status == "delivered")] as $r
	    | .[] | select(.type == "page") | . as $p
	    | ($r | map(select(.dedup_key == $p.dedup_key and .event == $p.event))) as $got
	    | if ($got | length) == 0 then "never: \($p.dedup_key) \($p.event)"
	      elif ($got | map((.at | fromdateiso8601) - ($p.at | fromdateiso8601)) | max) > 120
	      then "late: \($p.dedup_key) \($p.event)" else empty end' "$BATS_TEST_TMPDIR/all"
	assert_output ""
	# The stand-in saw each PagerDuty event once.
	assert_equal "$(jq -r 'select(.kind == "pagerduty") | .body | fromjson | "\(.event_action) \(.dedup_key)"' "$PROV_LOG" | sort | uniq -d)" ""
	# Nothing is left in the pool.
	assert_equal "$(etcd_keys /esc/pool/)" ""
	# Host b's esc.prom names it, and when it last took the lock.
	run grep '^esc_tick_lock_' "$B/esc.prom"
	assert_line "esc_tick_lock_acquired_timestamp_seconds{host=\"b\"} $(date -u -d "$(at 19)" +%s)"
	assert_line --regexp '^esc_tick_lock_held_seconds\{host="b"\} [0-9]+$'
	# Both hosts say they are live.
	assert_equal "$(etcd_keys /esc/hosts/)" "$(printf '/esc/hosts/a\n/esc/hosts/b')"
}
