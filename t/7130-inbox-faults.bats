#!/usr/bin/env bats
# Crash safety of the inbox: esc-tick killed while it drains
# $ESC_DIR/inbox/pending/ loses no ack and applies none twice (the short
# version of t/inboxfault.sh, and the moments that matter, made certain).

load test_helper
load fixtures/notify/helper
bats_require_minimum_version 1.5.0

setup() {
	start_prov
	start_smtp
	channels
	export ESC_DIR=$BATS_TEST_TMPDIR/esc
	export ESC_ROSTER=$ESC_SRC/share/esc/roster.example.json
	J=$ESC_DIR/journal.ndjson
	T0=$(date -u -d 2026-11-30T13:50:00Z +%s)
	# Alertmanager's API, served from a file: one critical alert from T0.
	mkdir -p "$BATS_TEST_TMPDIR/am/api/v2" "$BATS_TEST_TMPDIR/bin"
	jq -n --arg t "$(at 0)" '[{labels: {alertname: "StemeDBAPIDown",
	    severity: "critical", instance: "api-1"},
	  annotations: {summary: "API down"}, startsAt: $t,
	  endsAt: "0001-01-01T00:00:00Z", fingerprint: "00000000000000a1",
	  status: {state: "active", silencedBy: [], inhibitedBy: []},
	  receivers: [{name: "esc"}], updatedAt: $t, generatorURL: ""}]' \
	    > "$BATS_TEST_TMPDIR/am/api/v2/alerts"
	AM_PORT=$(free_port)
	"$PY" -m http.server --bind 127.0.0.1 --directory "$BATS_TEST_TMPDIR/am" \
	    "$AM_PORT" >/dev/null 2>&1 &
	AM_PID=$!
	wait_port "$AM_PORT"
	export ESC_ALERTMANAGER_URL=http://127.0.0.1:$AM_PORT
	REAL_ROUTE=$(command -v esc-route)
	export REAL_ROUTE
}

teardown() {
	reap "${AM_PID:-}"
	stop_servers
}

at() { date -u -d "@$((T0 + $1 * 60))" +%Y-%m-%dT%H:%M:%SZ; }
# tick MIN [PATH-FIRST]: esc-tick at that minute in a process group of its
# own (so that a stage can kill the whole tick), its status kept.
tick() {
	local p=$PATH
	[ -z "${2:-}" ] || p=$2:$PATH
	PATH=$p ESC_NOW=$(at "$1") setsid esc-tick
}
# The incident records "acked", as "incident by at".
acked() {
	jq -r 'select(.type == "incident" and .event == "acked") |
	    "\(.incident) \(.by) \(.at)"' "$J"
}
# The state's acked time of incident $1, as seconds (- when not acked).
state_acked() {
	awk -F'\t' -v id="$1" '$1 == id { print $6 }' "$ESC_DIR/state.json"
}
# An ack as esc-inbox serve writes it for PagerDuty's webhook, at 13:50:30.
drop_ack() {
	mkdir -p "$ESC_DIR/inbox/pending"
	printf '{"type":"ack","incident":"%s","by":"bob","at":"%s","source":"pagerduty","pagerduty_incident":"P000001","pagerduty_log_entry":"Q0000000000A"}\n' \
	    "$1" "2026-11-30T13:50:30Z" > "$ESC_DIR/inbox/pending/20261130T135030Z.4242.1.ndjson"
}
opened() {
	jq -r 'select(.type == "incident" and .event == "opened") | .incident' "$J"
}
# opened_acked: the incident opened at minute 0 ($inc), and its ack in the
# inbox.
opened_acked() {
	run tick 0
	assert_success
	inc=$(opened)
	drop_ack "$inc"
}
# strace_route INJECT: a stand-in esc-route that runs the real one with
# strace's fault INJECT at its rename of the new state into place.
strace_route() {
	cat > "$BATS_TEST_TMPDIR/bin/esc-route" <<-EOF
	#!/bin/bash
	exec strace -f -qq -o /dev/null -e trace=rename,renameat,renameat2 \\
	    -e inject=rename,renameat,renameat2:$1 "\$REAL_ROUTE" "\$@"
	EOF
	chmod +x "$BATS_TEST_TMPDIR/bin/esc-route"
}
# The run at minute 1 took nothing: the state has no ack, the file is
# there.
untaken() {
	assert_equal "$(state_acked "$inc")" -
	[ -e "$ESC_DIR/inbox/pending/20261130T135030Z.4242.1.ndjson" ]
}
# Ticks at minutes 2 to 6, as cron's: the ack taken once, in the journal
# and in the state, the inbox empty, no level 2 at minute 5.
drained_once() {
	for m in 2 3 4 5 6; do
		run tick "$m"
		assert_success
	done
	assert_equal "$(acked)" "$inc bob 2026-11-30T13:50:30Z"
	assert_equal "$(state_acked "$inc")" "$(date -u -d 2026-11-30T13:50:30Z +%s)"
	assert_equal "$(find "$ESC_DIR/inbox/pending" -type f)" ''
	run jq -c 'select(.type == "page" and .level == 2)' "$J"
	assert_output ''
}

@test "random SIGKILLs of esc-tick and its stages while acks arrive: none lost, none doubled" {
	run "$ESC_SRC/t/inboxfault.sh" -r 3 -k 100 -s 2026
	assert_success
	assert_output --regexp '^inboxfault: seed 2026: 3 runs, [0-9]+ kills .*, [1-9][0-9]* records dropped .*, [1-9][0-9]* applied, 0 lost, 0 doubled, 0 state disagreements, 0 level-2 pages after an ack, 0 files left$'
}

@test "esc-tick killed after esc-route committed an ack, before the inbox file is removed: the next tick feeds it again, one acked, the file gone" {
	opened_acked
	# esc-route runs, commits, and the whole tick dies at once.
	cat > "$BATS_TEST_TMPDIR/bin/esc-route" <<-'EOF'
	#!/bin/bash
	"$REAL_ROUTE" "$@"
	kill -9 -- "-$(ps -o pgid= -p $$ | tr -d ' ')"
	EOF
	chmod +x "$BATS_TEST_TMPDIR/bin/esc-route"
	run tick 1 "$BATS_TEST_TMPDIR/bin"
	assert_failure 137
	# Committed: the state holds the ack; the file is still there.
	assert_equal "$(state_acked "$inc")" "$(date -u -d 2026-11-30T13:50:30Z +%s)"
	[ -e "$ESC_DIR/inbox/pending/20261130T135030Z.4242.1.ndjson" ]
	drained_once
}

@test "esc-route killed after its output is synced, before it commits the ack: one acked in the journal, not two" {
	opened_acked
	# SIGKILL at esc-route's rename of the new state: its output, the
	# acked record, is in $ESC_DIR/pending/, its state the old one.
	strace_route signal=KILL
	run --separate-stderr tick 1 "$BATS_TEST_TMPDIR/bin"
	assert_failure 1
	[[ $stderr == *"esc-tick: esc-route exited 137"* ]]
	untaken
	drained_once
}

@test "esc-route cannot write its new state (no space): the inbox file stays, the next tick applies the ack, one acked, no level 2" {
	opened_acked
	# The rename of the new state fails: esc-route says so and exits 1,
	# as it does for a refused line, its output written, its state old.
	strace_route error=ENOSPC
	run --separate-stderr tick 1 "$BATS_TEST_TMPDIR/bin"
	assert_failure 1
	[[ $stderr == *"esc-route: $ESC_DIR/state.json: No space left on device"* ]]
	untaken
	drained_once
}

@test "esc-tick killed after esc-deliver appended the output to the journal, before it removed the file: one acked in the journal, not two" {
	opened_acked
	# esc-deliver's failpoint: the whole tick killed just before the
	# removal of a delivered file of pending/.
	ESC_FAILPOINT=deliver-journalled run tick 1
	assert_failure 137
	# The ack is journalled, and its file is still in pending/.
	assert_equal "$(acked)" "$inc bob 2026-11-30T13:50:30Z"
	run find "$ESC_DIR/pending" -name '*.ndjson'
	assert_output --partial .ndjson
	drained_once
}
