#!/usr/bin/env bats
# esc-tick --watch: a tick at once, every minute, and within a second of
# the inbox's doorbell; SIGTERM waits for the running tick.  A real
# Alertmanager, the provider stand-in, the wall clock.  Where a test must
# catch a tick midway, a gate ahead of esc-inbox on PATH holds the tick
# after it removed the doorbell and read Alertmanager, and before it lists
# inbox/pending/.

load test_helper
load alertmanager
load fixtures/notify/helper
bats_require_minimum_version 1.5.0

setup() {
	start_prov --pd-token t0ken --pd-user PBOB001:bob@example.com:Bob
	start_smtp
	export ESC_PD_API_TOKEN=t0ken
	channels '.pagerduty += {api_url: ("http://127.0.0.1:'"$PROV_PORT"'"),
	    api_token_env: "ESC_PD_API_TOKEN"}'
	am_start
	export ESC_ALERTMANAGER_URL=$AM_URL
	export ESC_DIR=$BATS_TEST_TMPDIR/esc
	export ESC_ROSTER=$FIX/inbox/roster.json
	J=$ESC_DIR/journal.ndjson
	BELL=$ESC_DIR/inbox/doorbell
	W=
}

teardown() {
	# A gated tick goes on, so that the watcher's SIGTERM ends it.
	[ -z "${GATE:-}" ] || : >"$GATE/go"
	reap $W ${INBOX_PID:-}
	am_stop
	stop_servers
}

# watch [esc-tick's environment...]: esc-tick --watch in the background,
# its pid in W, its standard error in $BATS_TEST_TMPDIR/watch.err.  As
# from a terminal: SIGINT not ignored (a shell without job control has
# its background commands ignore it), in a process group of its own that
# a test can send SIGINT to as a terminal's ^C does.
watch() {
	env "$@" "$PY" -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.setsid()
os.execvp(sys.argv[1], sys.argv[1:])' esc-tick --watch >"$BATS_TEST_TMPDIR/watch.out" \
	    2>"$BATS_TEST_TMPDIR/watch.err" 3>&- &
	W=$!
}

# gate: each esc-inbox poll of a tick appends a line to $GATE/entered,
# then waits (10 s at most) for $GATE/go.
gate() {
	GATE=$BATS_TEST_TMPDIR/gate
	mkdir -p "$GATE/bin"
	cat >"$GATE/bin/esc-inbox" <<EOF
#!/bin/bash
if [ "\$1" = poll ]; then
	echo \$\$ >>"$GATE/entered"
	for i in \$(seq 1 200); do [ -e "$GATE/go" ] && break; sleep 0.05; done
fi
exec "$(command -v esc-inbox)" "\$@"
EOF
	chmod +x "$GATE/bin/esc-inbox"
	export PATH=$GATE/bin:$PATH
}

# heartbeats: how many ticks finished.
heartbeats() {
	jq -c 'select(.type == "heartbeat")' "$J" 2>/dev/null | wc -l
}
ticked() { [ "$(heartbeats)" -ge "$1" ]; }
entered() { [ -f "$GATE/entered" ] && [ "$(wc -l <"$GATE/entered")" -ge "$1" ]; }
paged() { [ -n "$(jq -c 'select(.kind == "pagerduty")' "$PROV_LOG")" ]; }
gone() { ! kill -0 "$1" 2>/dev/null; }

# stopped: waits (bounded) for the watcher to end; its status in ws.
stopped() {
	wait_until gone "$W" || fail "esc-tick --watch still runs"
	wait "$W"
	ws=$?
	W=
}

post_alert() {
	am_post '[{"labels":{"alertname":"StemeDBAPIDown","severity":"critical","instance":"api-1","job":"stemedb"},
	  "annotations":{"summary":"API down"}}]'
}

@test "esc-tick --watch: a tick at once; the doorbell makes another within a second or two, and is removed" {
	watch
	wait_until ticked 1 || fail "no first tick: $(cat "$BATS_TEST_TMPDIR/watch.err")"
	assert_equal "$(jq -c 'select(.type == "heartbeat") | .ok' "$J")" true
	sleep 1
	assert_equal "$(heartbeats)" 1
	t0=$EPOCHREALTIME
	: >"$BELL"
	# The tick takes the doorbell away once it holds the lock.
	wait_until eval '[ ! -e "$BELL" ]' || fail "the doorbell is still there"
	dt=$(echo "$EPOCHREALTIME - $t0" | bc)
	[ "$(echo "$dt < 3" | bc)" = 1 ] || fail "the tick began ${dt}s after the ring"
	wait_until ticked 2
	assert_equal "$(heartbeats)" 2
	kill -TERM "$W"
	stopped
	assert_equal "$ws" 0
	assert_equal "$(cat "$BATS_TEST_TMPDIR/watch.err")" ''
	# Nothing of the watcher's is left in ESC_DIR.
	assert_equal "$(cd "$ESC_DIR" && ls -d watch.* tick.?????? 2>/dev/null)" ''
}

@test "esc-tick --watch: with no ring, the next tick 60 s after the last began (this test takes a minute)" {
	watch
	wait_until ticked 1
	t0=$EPOCHSECONDS
	# Bounded: 75 s at most.
	for i in $(seq 1 300); do
		ticked 2 && break
		sleep 0.25
	done
	dt=$((EPOCHSECONDS - t0))
	assert_equal "$(heartbeats)" 2
	# The first tick's heartbeat came at the end of that tick, less than
	# 60 s after its start; the second tick begins 60 s after it.
	[ "$dt" -ge 45 ] && [ "$dt" -le 70 ] || fail "the second tick ${dt}s after the first"
	kill -TERM "$W"
	stopped
	assert_equal "$ws" 0
}

@test "esc-tick --watch: an ack written to inbox/pending/ with a ring is applied at once" {
	post_alert
	watch
	wait_until ticked 1
	inc=$(jq -r 'select(.type == "incident" and .event == "opened") | .incident' "$J")
	[ -n "$inc" ] || fail "no incident opened"
	# What esc-inbox serve does: the records, synced, then the ring.
	at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	mkdir -p "$ESC_DIR/inbox/pending"
	echo '{"type":"ack","incident":"'"$inc"'","by":"bob","at":"'"$at"'","source":"pagerduty","pagerduty_incident":"P000001","pagerduty_log_entry":"Q0000000000A"}' \
	    >"$ESC_DIR/inbox/pending/.t"
	mv "$ESC_DIR/inbox/pending/.t" "$ESC_DIR/inbox/pending/20261130T000000Z.1.1.ndjson"
	: >"$BELL"
	wait_until eval '[ -n "$(jq -c '"'"'select(.type == "incident" and .event == "acked")'"'"' "$J")" ]' ||
	    fail "not acked: $(cat "$BATS_TEST_TMPDIR/watch.err")"
	assert_equal "$(jq -c 'select(.type == "incident" and .event == "acked") | [.incident, .by, .at]' "$J")" \
	    "[\"$inc\",\"bob\",\"$at\"]"
	# The tick journals its records, then its heartbeat.
	wait_until ticked 2 || true
	assert_equal "$(heartbeats)" 2
	assert_equal "$(ls "$ESC_DIR/inbox/pending")" ''
}

@test "esc-tick --watch: a ring during a tick makes exactly one more tick" {
	gate
	watch
	wait_until entered 1 || fail "no tick: $(cat "$BATS_TEST_TMPDIR/watch.err")"
	# The tick removed the doorbell before it got to the gate; three
	# rings now are one.
	for i in 1 2 3; do : >"$BELL"; sleep 0.1; done
	: >"$GATE/go"
	wait_until ticked 2
	# A third tick would begin within a second.
	sleep 2
	assert_equal "$(heartbeats)" 2
	assert_equal "$(wc -l <"$GATE/entered")" 2
	[ ! -e "$BELL" ]
	kill -TERM "$W"
	stopped
	assert_equal "$ws" 0
}

@test "esc-tick --watch: SIGTERM during a tick lets it finish, then exit 0" {
	gate
	watch
	wait_until entered 1
	kill -TERM "$W"
	sleep 0.5
	# Still there, waiting for its tick, which has written nothing yet.
	kill -0 "$W" || fail "esc-tick --watch did not wait for its tick"
	assert_equal "$(heartbeats)" 0
	: >"$GATE/go"
	stopped
	assert_equal "$ws" 0
	# The tick finished before the watcher ended, and no other began.
	assert_equal "$(heartbeats)" 1
	assert_equal "$(wc -l <"$GATE/entered")" 1
	assert_equal "$(jq -c 'select(.type == "heartbeat") | .ok' "$J")" true
}

@test "esc-tick --watch: ^C (SIGINT to its process group) ends the watch, not the tick" {
	gate
	watch
	wait_until entered 1
	# The whole process group, as a terminal sends it: the tick and the
	# programs it runs ignore it.
	kill -INT -- "-$W"
	sleep 0.5
	kill -0 "$W" || fail "esc-tick --watch did not wait for its tick"
	: >"$GATE/go"
	stopped
	assert_equal "$ws" 0
	assert_equal "$(heartbeats)" 1
	assert_equal "$(jq -c 'select(.type == "heartbeat") | .ok' "$J")" true
}

@test "esc-tick --watch: a tick's failure is said and the watch goes on; a configuration error on the first is exit 2" {
	run -2 timeout 20 env -u ESC_ALERTMANAGER_URL esc-tick --watch
	assert_output $'esc-tick: ESC_ALERTMANAGER_URL is not set\nesc-tick: --watch: the tick exited 2'
	run timeout 20 esc-tick --watch now
	assert_failure 2
	assert_output "usage: esc-tick [--watch | --check] (configured by the environment; see esc(7))"
	# Alertmanager unreachable: each tick exits 1, the watch goes on.
	watch ESC_ALERTMANAGER_URL=http://127.0.0.1:1
	wait_until ticked 1
	: >"$BELL"
	wait_until ticked 2
	kill -TERM "$W"
	stopped
	assert_equal "$ws" 0
	assert_equal "$(grep -c '^esc-tick: --watch: the tick exited 1$' "$BATS_TEST_TMPDIR/watch.err")" 2
	assert_equal "$(jq -c 'select(.type == "heartbeat") | .ok' "$J" | sort -u)" false
}

@test "esc-tick --watch and esc-tick from cron at once: they queue on the lock, each page goes out once" {
	post_alert
	watch
	wait_until ticked 1
	for i in 1 2 3; do
		esc-tick &
		pids+=("$!")
		: >"$BELL"
	done
	for p in "${pids[@]}"; do
		wait_until gone "$p"
		wait "$p" || fail "esc-tick exited $?"
	done
	# A cron tick may take the last ring itself; ring once more, after
	# them, so the watch's own tick is known to come.
	wait_until eval '[ ! -e "$BELL" ]'
	: >"$BELL"
	wait_until eval '[ ! -e "$BELL" ]'
	sleep 1
	kill -TERM "$W"
	stopped
	assert_equal "$ws" 0
	n=$(heartbeats)
	[ "$n" -ge 5 ] || fail "$n ticks"
	# Every line of the journal is whole, and PagerDuty got one trigger.
	jq -e . "$J" >/dev/null
	assert_equal "$(jq -c 'select(.kind == "pagerduty") | .body | fromjson | .event_action' "$PROV_LOG")" '"trigger"'
}

@test "Alertmanager's webhook through esc-inbox serve: esc-tick --watch pages within seconds, not at the minute" {
	export ESC_INBOX_TOKEN=door-s3cret-token
	channels '.pagerduty += {api_url: ("http://127.0.0.1:'"$PROV_PORT"'"),
	    api_token_env: "ESC_PD_API_TOKEN"} | .inbox = {token_env: "ESC_INBOX_TOKEN"}'
	start_inbox -c "$ESC_CHANNELS"
	# Alertmanager again, its webhook to the server with the bearer token.
	am_stop
	printf '%s' "$ESC_INBOX_TOKEN" >"$BATS_TEST_TMPDIR/am.token"
	cat >"$BATS_TEST_TMPDIR/am.yml" <<EOF
route:
  receiver: esc
  group_by: ['alertname', 'instance']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: esc
    webhook_configs:
      - url: http://127.0.0.1:@HOOK_PORT@/alertmanager
        send_resolved: true
        http_config:
          authorization:
            credentials_file: $BATS_TEST_TMPDIR/am.token
EOF
	HOOK_PORT=$INBOX_PORT am_start "$BATS_TEST_TMPDIR/am.yml"
	export ESC_ALERTMANAGER_URL=$AM_URL
	watch
	wait_until ticked 1
	t0=$EPOCHSECONDS
	post_alert
	# Bounded: 20 s.
	wait_until paged || wait_until paged ||
	    fail "no page: $(cat "$BATS_TEST_TMPDIR/watch.err" "$INBOX_LOG")"
	dt=$((EPOCHSECONDS - t0))
	# group_wait 1s, the ring, a tick: seconds; the minute's tick would
	# come 60 s after the first.
	[ "$dt" -le 20 ] || fail "paged ${dt}s after the alert"
	assert_equal "$(jq -r 'select(.kind == "pagerduty") | .body | fromjson | .event_action' "$PROV_LOG")" trigger
	# The tick the ring made, not the minute's.
	wait_until ticked 2
	assert_equal "$(heartbeats)" 2
	echo "# paged ${dt}s after the alert was posted" >&3
	kill -TERM "$W"
	stopped
	assert_equal "$ws" 0
}

@test "esc-tick: a tick removes the doorbell, even when Alertmanager is down" {
	mkdir -p "$ESC_DIR/inbox"
	: >"$BELL"
	run env ESC_ALERTMANAGER_URL=http://127.0.0.1:1 esc-tick
	assert_failure 1
	[ ! -e "$BELL" ]
	# A configuration error takes no tick, and leaves it.
	: >"$BELL"
	run env ESC_JOURNAL_MAX=lots esc-tick
	assert_failure 2
	[ -e "$BELL" ]
}

@test "share/systemd: the inbox's socket and service, the doorbell's path unit agree with esc-tick.service" {
	S=$ESC_SRC/share/systemd
	# The doorbell the path unit watches is in the ESC_DIR esc-tick has.
	d=$(sed -n 's/^Environment=ESC_DIR=//p' "$S/esc-tick.service")
	assert_equal "$(sed -n 's/^PathExists=//p' "$S/esc-tick.path")" "$d/inbox/doorbell"
	assert_equal "$(sed -n 's/^Unit=//p' "$S/esc-tick.path")" esc-tick.service
	assert_equal "$(sed -n 's/^Environment=ESC_DIR=//p' "$S/esc-inbox.service")" "$d"
	assert_equal "$(sed -n 's/^ReadWritePaths=//p' "$S/esc-inbox.service")" "$d"
	# The socket: loopback only (TLS is the reverse proxy's), handed over
	# through LISTEN_FDS, so no --listen.
	run sed -n 's/^ListenStream=//p' "$S/esc-inbox.socket"
	assert_output --regexp '^127\.0\.0\.1:[0-9]+$'
	assert_equal "$(sed -n 's/^ExecStart=//p' "$S/esc-inbox.service")" "/usr/local/bin/esc-inbox serve"
	for k in User Group EnvironmentFile UMask NoNewPrivileges ProtectSystem ProtectHome PrivateTmp; do
		assert_equal "$(grep "^$k=" "$S/esc-inbox.service")" "$(grep "^$k=" "$S/esc-tick.service")"
	done
	command -v systemd-analyze >/dev/null || skip "no systemd-analyze"
	# The programs need not be installed here.
	u=$BATS_TEST_TMPDIR/units
	mkdir "$u"
	cp "$S"/* "$u/"
	sed -i 's|^ExecStart=/usr/local/bin/[a-z-]*|ExecStart=/bin/true|' "$u"/*.service
	run systemd-analyze verify --man=no "$u"/esc-inbox.socket "$u"/esc-inbox.service "$u"/esc-tick.path "$u"/esc-tick.service "$u"/esc-tick.timer
	assert_success
	assert_output ''
}
