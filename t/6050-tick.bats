#!/usr/bin/env bats
# esc-tick and esc-deliver without Alertmanager: configuration errors,
# journal rotation, the textfile metrics, pending files left by a crash.

load test_helper
load fixtures/notify/helper
bats_require_minimum_version 1.5.0

setup() {
	export ESC_DIR=$BATS_TEST_TMPDIR/esc
	export ESC_ROSTER=$ESC_SRC/share/esc/roster.example.json
	# Nothing listens on port 1: every fetch fails at once.
	export ESC_ALERTMANAGER_URL=http://127.0.0.1:1
}

# pagerduty_page: the PagerDuty page esc-route makes at 13:50 for the
# example alerts' StemeDBAPIDown.
pagerduty_page() {
	esc-classify --now 2026-11-30T13:50:00Z "$ESC_SRC/share/esc/examples/alerts.ndjson" |
	    esc-route -s "$BATS_TEST_TMPDIR/state" --now 2026-11-30T13:50:00Z |
	    jq -c 'select(.type == "page" and .alertname == "StemeDBAPIDown" and .channel == "pagerduty")'
}

@test "esc-tick: configuration errors are exit 2" {
	run env -u ESC_ALERTMANAGER_URL esc-tick
	assert_failure 2
	assert_output "esc-tick: ESC_ALERTMANAGER_URL is not set"
	run env ESC_NOW=yesterday-ish esc-tick
	assert_failure 2
	assert_output "esc-tick: ESC_NOW: not a time: yesterday-ish"
	run esc-tick --bogus
	assert_failure 2
	assert_output "usage: esc-tick [--watch | --check] (configured by the environment; see esc(7))"
}

@test "esc-tick: the journal is rotated under the lock, never splitting a record" {
	channels
	for m in $(seq 10 29); do
		ESC_NOW=2026-11-30T14:${m}:00Z ESC_JOURNAL_MAX=300 ESC_JOURNAL_KEEP=3 esc-tick 2>/dev/null || true
	done
	run bash -c "ls '$ESC_DIR' | grep -c '^journal.ndjson.'"
	assert_output 3
	# Every line of every journal is one whole record.
	run bash -c "cat '$ESC_DIR'/journal.ndjson* | jq -c 'select(.type == \"heartbeat\") | .ok' | sort | uniq -c"
	assert_success
	assert_output --regexp '^ +[0-9]+ false$'
	# The newest record is the last tick's heartbeat, in the current
	# journal or, if that one was just rotated, in the newest old one.
	last=$(cd "$ESC_DIR" && cat $(ls journal.ndjson.* | sort) $(ls journal.ndjson 2>/dev/null) | tail -n 1)
	assert_equal "$(jq -r .at <<<"$last")" 2026-11-30T14:29:00Z
}

@test "esc-tick: rotation in an ESC_DIR with a space removes only old journals" {
	channels
	export ESC_DIR="$BATS_TEST_TMPDIR/my dir"
	# What a path split at the space would name.
	echo precious > "$BATS_TEST_TMPDIR/my"
	mkdir -p "$BATS_TEST_TMPDIR/cwd/dir"
	echo precious > "$BATS_TEST_TMPDIR/cwd/dir/journal.ndjson.20261130T141000Z"
	cd "$BATS_TEST_TMPDIR/cwd"
	for m in $(seq 10 17); do
		ESC_NOW=2026-11-30T14:${m}:00Z ESC_JOURNAL_MAX=10 ESC_JOURNAL_KEEP=2 esc-tick 2>/dev/null || true
	done
	assert_equal "$(cat "$BATS_TEST_TMPDIR/my")" precious
	assert_equal "$(cat "$BATS_TEST_TMPDIR/cwd/dir/journal.ndjson.20261130T141000Z")" precious
	run ls "$ESC_DIR"
	assert_output --regexp $'journal.ndjson.20261130T141600Z\njournal.ndjson.20261130T141700Z\n'
	assert_equal "$(ls "$ESC_DIR" | grep -c '^journal.ndjson')" 2
}

@test "esc-tick: a bad ESC_JOURNAL_MAX or ESC_JOURNAL_KEEP is a configuration error" {
	# Bash arithmetic would run the command substitution.
	run env ESC_JOURNAL_MAX=1 ESC_JOURNAL_KEEP='HOME[$(touch $BATS_TEST_TMPDIR/owned)]' esc-tick
	assert_failure 2
	assert_output "esc-tick: ESC_JOURNAL_KEEP: not a number: HOME[\$(touch \$BATS_TEST_TMPDIR/owned)]"
	run env ESC_JOURNAL_MAX=lots esc-tick
	assert_failure 2
	assert_output "esc-tick: ESC_JOURNAL_MAX: not a size: lots"
	assert [ ! -e "$BATS_TEST_TMPDIR/owned" ]
}

@test "esc-tick: ESC_TEXTFILE_DIR gets esc.prom for node_exporter" {
	channels
	mkdir "$BATS_TEST_TMPDIR/tf"
	run env ESC_NOW=2026-11-30T14:00:00Z ESC_TEXTFILE_DIR="$BATS_TEST_TMPDIR/tf" esc-tick
	assert_failure 1
	run grep -E '^esc_tick_(last_run_timestamp_seconds|ok) ' "$BATS_TEST_TMPDIR/tf/esc.prom"
	assert_output $'esc_tick_last_run_timestamp_seconds 1796047200\nesc_tick_ok 0'
	if command -v promtool >/dev/null; then
		run promtool check metrics < "$BATS_TEST_TMPDIR/tf/esc.prom"
		assert_success
	fi
}

@test "esc-tick: esc_receipts_dead_total counts dead receipts, not records that mention one" {
	channels
	mkdir -p "$ESC_DIR" "$BATS_TEST_TMPDIR/tf"
	{
		echo '{"type":"receipt","dedup_key":"k1","channel":"sms","recipient":"bob","status":"dead","attempts":3,"at":"2026-11-30T13:00:00Z"}'
		echo '{"type":"page","incident":"i1","labels":{"status":"dead"},"note":"\"status\":\"dead\""}'
		echo '{"type":"receipt","dedup_key":"k2","channel":"sms","recipient":"bob","status":"delivered","attempts":1,"at":"2026-11-30T13:00:00Z"}'
		echo '{"type":"receipt","status":"dead'
	} > "$ESC_DIR/journal.ndjson"
	chmod 600 "$ESC_DIR/journal.ndjson"
	run env ESC_NOW=2026-11-30T14:00:00Z ESC_TEXTFILE_DIR="$BATS_TEST_TMPDIR/tf" esc-tick
	assert_failure 1
	run grep '^esc_receipts_dead_total ' "$BATS_TEST_TMPDIR/tf/esc.prom"
	assert_output "esc_receipts_dead_total 1"
}

@test "esc-deliver: a pending file left by a crash is delivered once, a torn last line dropped" {
	start_prov
	start_smtp
	channels
	mkdir -p "$ESC_DIR/pending"
	# What a router wrote before the run died: a page, and half a record.
	pagerduty_page > "$ESC_DIR/pending/a.ndjson"
	printf '{"type":"page","incident":"x' >> "$ESC_DIR/pending/a.ndjson"
	run esc-deliver
	assert_success
	assert_equal "$(ls "$ESC_DIR/pending")" ""
	assert_equal "$(jq -r 'select(.type == "receipt") | [.channel, .status] | @tsv' "$ESC_DIR/journal.ndjson")" $'pagerduty\tdelivered'
	# The same decisions again (a rerun after a crash): nothing is sent twice.
	jq -c 'select(.type == "page")' "$ESC_DIR/journal.ndjson" > "$ESC_DIR/pending/b.ndjson"
	run esc-deliver
	assert_success
	assert_equal "$(jq -r 'select(.kind == "pagerduty")' "$PROV_LOG" | jq -s length)" 1
}

@test "esc-deliver: killed between the journal and the removal, the next run journals nothing twice and finishes a half append" {
	start_prov
	channels
	mkdir -p "$ESC_DIR/pending"
	page=$(pagerduty_page)
	echo "$page" > "$ESC_DIR/pending/a.ndjson"
	echo '{"type":"note","n":1}' > "$ESC_DIR/journal.ndjson"
	# Killed after the append: the file and its mark are left.
	ESC_FAILPOINT=deliver-journalled run setsid esc-deliver
	assert_failure 137
	assert [ -e "$ESC_DIR/pending/a.ndjson.jnl" ]
	whole=$(cat "$ESC_DIR/journal.ndjson")
	run esc-deliver
	assert_success
	assert_equal "$(ls "$ESC_DIR/pending")" ""
	assert_equal "$(cat "$ESC_DIR/journal.ndjson")" "$whole"
	# Killed in the middle of the append: the part is cut off, and the
	# file delivered again (the spool makes no second request).
	jq -c '.dedup_key += "-b" | .incident += "b"' <<<"$page" > "$ESC_DIR/pending/b.ndjson"
	ESC_FAILPOINT=deliver-journalled run setsid esc-deliver
	assert_failure 137
	truncate -s -20 "$ESC_DIR/journal.ndjson"
	run esc-deliver
	assert_success
	assert_equal "$(ls "$ESC_DIR/pending")" ""
	# Whole lines, b's page once.  (Its receipt was in the part cut off,
	# and the spool skips a delivery made: the journal has none for it.)
	run jq -r '[.type, .dedup_key, .status // "-"] | @tsv' "$ESC_DIR/journal.ndjson"
	assert_success
	assert_output - <<-EOF
	note		-
	page	$(jq -r .dedup_key <<<"$page")	-
	receipt	$(jq -r .dedup_key <<<"$page")	delivered
	page	$(jq -r .dedup_key <<<"$page")-b	-
	EOF
	assert_equal "$(jq -r 'select(.kind == "pagerduty")' "$PROV_LOG" | jq -s length)" 2
}

@test "esc-tick: an alert esc-classify rejects holds back its own incident's resolution, no other" {
	mkdir -p "$BATS_TEST_TMPDIR/am/api/v2"
	port=$(free_port)
	"$PY" -m http.server --bind 127.0.0.1 --directory "$BATS_TEST_TMPDIR/am" "$port" >/dev/null 2>&1 &
	PROV_PID=$!
	wait_port "$port"
	export ESC_ALERTMANAGER_URL=http://127.0.0.1:$port
	channels
	a='{"labels":{"alertname":"A","severity":"info","instance":"x"},"annotations":{"summary":"a"},"startsAt":"2026-11-30T14:00:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"aaaa","status":{"state":"active","silencedBy":[],"inhibitedBy":[]}}'
	b=$(sed 's/"A"/"B"/; s/"aaaa"/"bbbb"/' <<<"$a")
	c=$(sed 's/"A"/"C"/; s/"aaaa"/"cccc"/' <<<"$a")
	echo "[$a, $b, $c]" > "$BATS_TEST_TMPDIR/am/api/v2/alerts"
	ESC_NOW=2026-11-30T14:00:00Z esc-tick 2>/dev/null || true
	assert_equal "$(jq -r 'select(.type == "incident") | .alertname + " " + .event' "$ESC_DIR/journal.ndjson" | sort | tr '\n' ' ')" "A opened B opened C opened "
	# B comes back broken (esc-classify rejects it), C is gone.
	echo "[$a, $(sed 's/"instance":"x"/"instance":7/' <<<"$b")]" > "$BATS_TEST_TMPDIR/am/api/v2/alerts"
	run env ESC_NOW=2026-11-30T14:01:00Z esc-tick
	assert_failure 1
	assert_line --partial ":2: labels.instance: expected a string, got a number"
	assert_line --regexp "^esc-route: .*:2: incident [0-9a-f]{16} \(B\) is not resolved for being absent: this rejected line may be its alert$"
	run jq -r 'select(.type == "incident" and .event == "resolved") | .alertname' "$ESC_DIR/journal.ndjson"
	assert_output 'C'
	# The rejected record is in the journal, naming B's fingerprint.
	assert_equal "$(jq -c 'select(.type == "rejected") | [.record, .source, .alert, .alertname]' "$ESC_DIR/journal.ndjson")" \
	    '["alert","alertmanager-api","bbbb","B"]'
	assert_equal "$(tail -n 1 "$ESC_DIR/journal.ndjson" | jq -c .ok)" false
	# B with a bad time is an alert again: it stays open, flagged.
	echo "[$a, $(sed 's/2026-11-30T14:00:00Z/soon/' <<<"$b")]" > "$BATS_TEST_TMPDIR/am/api/v2/alerts"
	run env ESC_NOW=2026-11-30T14:02:00Z esc-tick
	assert_failure 1
	assert_line --partial ":2: startsAt: not an RFC 3339 time: soon (the alert starts now: bad-time)"
	run jq -r 'select(.type == "incident" and .event == "resolved") | .alertname' "$ESC_DIR/journal.ndjson"
	assert_output 'C'
}

@test "esc-deliver: a line a stage refuses goes to dead/ with a dead receipt, loudly; the rest is delivered; exit 1" {
	start_prov
	channels
	mkdir -p "$ESC_DIR/pending"
	f=$ESC_DIR/pending/a.ndjson
	pagerduty_page > "$BATS_TEST_TMPDIR/good"
	# A page too long for esc-rotate (2 MB), and one esc-notify refuses.
	"$PY" - "$BATS_TEST_TMPDIR/good" "$BATS_TEST_TMPDIR/bad" <<-'PY'
	import json, sys
	p = json.loads(open(sys.argv[1]).read())
	big = dict(p, dedup_key=p["dedup_key"] + "-big", summary="x" * 2000000)
	nokey = dict(p)
	del nokey["dedup_key"]
	with open(sys.argv[2], "w") as o:
	    o.write(json.dumps(big) + "\n" + json.dumps(nokey) + "\n")
	PY
	{ sed -n 1p "$BATS_TEST_TMPDIR/bad"; cat "$BATS_TEST_TMPDIR/good"; echo; sed -n 2p "$BATS_TEST_TMPDIR/bad"; } > "$f"
	key=$(jq -r .dedup_key "$BATS_TEST_TMPDIR/good")
	run --separate-stderr env ESC_NOW=2026-11-30T13:51:00Z esc-deliver
	assert_failure 1
	errs=$stderr
	# Nothing is left pending: what could pass was delivered, what never
	# can is in dead/, byte for byte as the stage saw it.
	assert_equal "$(ls "$ESC_DIR/pending")" ""
	assert_equal "$(sed -n 1p "$ESC_DIR/dead/a.ndjson" | md5sum)" "$(sed -n 1p "$BATS_TEST_TMPDIR/bad" | md5sum)"
	assert_equal "$(sed -n 2p "$ESC_DIR/dead/a.ndjson" | jq -c '[.dedup_key, .channel, (.recipients | length)]')" '[null,"pagerduty",1]'
	assert_equal "$(wc -l < "$ESC_DIR/dead/a.ndjson")" 2
	run jq -c 'select(.type == "receipt") | [.dedup_key, .channel, .recipient, .status, .attempts, .at]' "$ESC_DIR/journal.ndjson"
	assert_output - <<-OUT
	["$key","pagerduty","pagerduty","delivered",1,"2026-11-30T13:51:00Z"]
	["$key-big","pagerduty",null,"dead",0,"2026-11-30T13:51:00Z"]
	[null,"pagerduty",null,"dead",0,"2026-11-30T13:51:00Z"]
	OUT
	run jq -r 'select(.status == "dead") | .error' "$ESC_DIR/journal.ndjson"
	assert_output - <<-OUT
	esc-rotate refused line 1 of $f (line longer than 1048576 bytes (see --max-line)): it can never be delivered; moved to $ESC_DIR/dead/a.ndjson
	esc-notify refused line 4 of $f (page without a dedup_key): it can never be delivered; moved to $ESC_DIR/dead/a.ndjson
	OUT
	run printf '%s\n' "$errs"
	assert_line --index 0 "esc-rotate: $f:1: line longer than 1048576 bytes (see --max-line)"
	assert_line "esc-deliver: esc-rotate refused line 1 of $f (line longer than 1048576 bytes (see --max-line)): it can never be delivered; moved to $ESC_DIR/dead/a.ndjson"
	assert_line "esc-deliver: esc-notify refused line 4 of $f (page without a dedup_key): it can never be delivered; moved to $ESC_DIR/dead/a.ndjson"
	assert_equal "$(jq -r 'select(.kind == "pagerduty") | .body | fromjson | .dedup_key' "$PROV_LOG")" "$key"
}

@test "esc-deliver: a stage that does not finish keeps the pending file, and the next run delivers it" {
	start_prov
	channels
	mkdir -p "$ESC_DIR/pending"
	pagerduty_page > "$ESC_DIR/pending/a.ndjson"
	# esc-rotate cannot write its output: it never reads the file through.
	mkdir "$ESC_DIR/pending/a.ndjson.rot"
	run esc-deliver
	assert_failure 1
	assert_line "esc-deliver: $ESC_DIR/pending/a.ndjson: esc-rotate exited 1, esc-notify did not run; kept for the next run"
	assert_equal "$(ls "$ESC_DIR/pending" | grep -c '^a.ndjson$')" 1
	assert [ ! -e "$ESC_DIR/journal.ndjson" ]
	rmdir "$ESC_DIR/pending/a.ndjson.rot"
	run esc-deliver
	assert_success
	assert_equal "$(ls "$ESC_DIR/pending")" ""
	assert_equal "$(jq -r 'select(.type == "receipt") | .status' "$ESC_DIR/journal.ndjson")" delivered
}

@test "esc-tick: ESC_TICK_BUDGET out of range is a configuration error" {
	run env ESC_TICK_BUDGET=5 esc-tick
	assert_failure 2
	assert_output "esc-tick: ESC_TICK_BUDGET: not a number of seconds from 20 to 9999: 5"
	run env ESC_TICK_BUDGET='1+1' esc-tick
	assert_failure 2
}

@test "esc-tick: esc.prom says when the last tick started, succeeded and how long it took; a tick that runs shows as started after the last run" {
	channels
	mkdir "$BATS_TEST_TMPDIR/tf"
	run env ESC_NOW=2026-11-30T14:00:00Z ESC_TEXTFILE_DIR="$BATS_TEST_TMPDIR/tf" esc-tick
	assert_failure 1
	run grep -E '^esc_tick_(started_timestamp_seconds|last_success_timestamp_seconds|last_run_timestamp_seconds) ' "$BATS_TEST_TMPDIR/tf/esc.prom"
	assert_output $'esc_tick_started_timestamp_seconds 1796047200\nesc_tick_last_success_timestamp_seconds 0\nesc_tick_last_run_timestamp_seconds 1796047200'
	grep -qE '^esc_tick_duration_seconds [0-9]+$' "$BATS_TEST_TMPDIR/tf/esc.prom"
	[ ! -e "$ESC_DIR/tick.started" ]
	# An Alertmanager that accepts and never answers holds the next
	# tick in its fetch: meanwhile esc.prom and the start mark say a
	# tick runs, started at 14:01.
	port=$(free_port)
	"$PY" -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
held = []
while True:
    c, _ = s.accept(); held.append(c)
' "$port" &
	mute=$!
	wait_port "$port"
	ESC_ALERTMANAGER_URL=http://127.0.0.1:$port ESC_NOW=2026-11-30T14:01:00Z \
	    ESC_TEXTFILE_DIR="$BATS_TEST_TMPDIR/tf" esc-tick 2>/dev/null &
	tick=$!
	wait_until grep -q '^esc_tick_started_timestamp_seconds 1796047260$' "$BATS_TEST_TMPDIR/tf/esc.prom"
	run bash -c "grep -E '^esc_tick_(started_timestamp_seconds|last_run_timestamp_seconds) ' '$BATS_TEST_TMPDIR/tf/esc.prom' | sort"
	assert_output $'esc_tick_last_run_timestamp_seconds 1796047200\nesc_tick_started_timestamp_seconds 1796047260'
	run cat "$ESC_DIR/tick.started"
	assert_output --regexp '^2026-11-30T14:01:00Z [0-9]+$'
	run env ESC_NOW=2026-11-30T14:05:00Z esc-deadman "$ESC_DIR/journal.ndjson"
	assert_failure 1
	assert_output --regexp '^esc-deadman: a tick started at 2026-11-30T14:01:00Z, 240s ago \(more than 3m\), has not finished: esc-tick is stuck \(process [0-9]+\)$'
	reap "$tick" "$mute"
	if command -v promtool >/dev/null; then
		run promtool check metrics < "$BATS_TEST_TMPDIR/tf/esc.prom"
		assert_success
	fi
}
