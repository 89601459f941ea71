#!/usr/bin/env bats
# esc-route's state on etcd (ESC_ETCD_ENDPOINTS): one key per incident,
# only what changed written, the records into the outbox with the
# incidents they are about, migration both ways, and never a file when
# etcd cannot be had.  A real etcd (one member on loopback) for the file.

load test_helper
load fixtures/route/helpers

OTHER="$ESC_SRC/t/fixtures/route/policy-other.json"

setup_file() {
	local peer
	ETCD_PORT=$(free_port)
	peer=$(free_port)
	etcd --data-dir "$BATS_FILE_TMPDIR/etcd" --name default \
	    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
	    --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
	    --listen-peer-urls "http://127.0.0.1:$peer" \
	    --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
	    --initial-cluster "default=http://127.0.0.1:$peer" \
	    >"$BATS_FILE_TMPDIR/etcd.log" 2>&1 &
	ETCD_PID=$!
	export ETCD_PORT ETCD_PID
	wait_port "$ETCD_PORT"
	wait_until etcdctl --endpoints "http://127.0.0.1:$ETCD_PORT" \
	    endpoint health >/dev/null 2>&1
}

teardown_file() {
	reap "$ETCD_PID"
}

# Each test its own prefix: the etcd is the file's.
setup() {
	ST="$BATS_TEST_TMPDIR/state"
	EP="http://127.0.0.1:$ETCD_PORT"
	PFX="/t$BATS_TEST_NUMBER/"
	export ST EP PFX
	each_policy
}

# on_etcd COMMAND...: COMMAND with the state on the test's etcd prefix.
on_etcd() {
	ESC_ETCD_ENDPOINTS=$EP ESC_ETCD_PREFIX=$PFX "$@"
}

ctl() {
	ETCDCTL_API=3 etcdctl --endpoints "$EP" "$@"
}

# keys PATH: the keys under the prefix's PATH, without the prefix.
keys() {
	ctl get --prefix "$PFX$1" --keys-only | sed -e '/^$/d' -e "s|^$PFX||"
}

# revision: etcd's revision (it grows by one with each write).
revision() {
	ctl endpoint status -w json | jq '.[0].Status.header.revision'
}

# hold_lease: the tick lock held with a lease of ours, given to the runs
# as esc-lock would (ESC_ETCD_LEASE): they write nothing but their own.
hold_lease() {
	local lease
	lease=$(ctl lease grant 120 | awk '{print $2}')
	ctl put --lease="$lease" "${PFX}lock" test >/dev/null
	ESC_ETCD_LEASE=$((16#$lease))
	export ESC_ETCD_LEASE
}

# take_outbox DIR: the outbox's files not yet taken, in key order, on
# standard output; then gone from the outbox (as esc-deliver does).
take_outbox() {
	local f n
	mkdir -p "$1"
	on_etcd esc-route --outbox "$1" || return
	for f in "$1"/outbox.*.ndjson; do
		[ -e "$f" ] || continue
		cat "$f"
		n=${f##*/outbox.}
		on_etcd esc-route --outbox-done "${n%.ndjson}" || return
		mv "$f" "$f.done"
	done
}

# both MIN [args...]: the same run, on a file ($ST, output to f.out) and on
# etcd (its outbox to e.out); standard input is the input of both.
# One seed of the SMS codes (the reply_code of sms pages) for the file
# and etcd, which esc-route draws at random otherwise: a state that holds
# it alone, in the file and on etcd.
same_seed() {
	printf 'esc-route-state 2\nseed\t%s\nend 1\n' "$(printf '%064d' 7)" >"$ST"
	chmod 600 "$ST"
	on_etcd esc-route --import-state "$ST"
}

both() {
	local m=$1 in=$BATS_TEST_TMPDIR/in.$1
	shift
	cat >"$in"
	route "$m" "$@" "$in" >>"$BATS_TEST_TMPDIR/f.out"
	on_etcd esc-route --now "$(tm "$m")" "$@" "$in" >"$BATS_TEST_TMPDIR/stdout" || return
	# Nothing on standard output on etcd: the outbox has it.
	[ ! -s "$BATS_TEST_TMPDIR/stdout" ] || return
	take_outbox "$BATS_TEST_TMPDIR/ob" >>"$BATS_TEST_TMPDIR/e.out"
}

@test "on etcd: the same input gives the same records as with a file, minute after minute, and the same state" {
	same_seed
	{ alert DBDown critical firing 0; alert Disk warning firing 0 "" web1
	  echo '{"type":"note-for-later","x":1}'; } | both 0 -p "$OTHER"
	both 1 -p "$OTHER" </dev/null
	both 2 -p "$OTHER" </dev/null
	event ack incident "$(jq -r 'select(.type == "incident" and .alertname == "DBDown") | .incident' "$BATS_TEST_TMPDIR/f.out" | head -1)" 3 |
	    both 3 -p "$OTHER"
	both 5 -p "$OTHER" </dev/null
	alert Disk warning resolved 0 9 web1 | both 10 -p "$OTHER"
	for m in 15 30 45 60 61 62 70 75; do
		both "$m" -p "$OTHER" </dev/null
	done
	alert DBDown critical resolved 0 76 | both 76 -p "$OTHER"
	both 140 -p "$OTHER" </dev/null
	# Enough happened: pages, an ack, both resolved, one pruned.
	[ "$(grep -c '"type":"page"' "$BATS_TEST_TMPDIR/f.out")" -gt 5 ]
	grep -q '"event":"acked"' "$BATS_TEST_TMPDIR/f.out"
	[ "$(grep -c '"event":"resolved"' "$BATS_TEST_TMPDIR/f.out")" -eq 2 ]
	grep -q '"type":"note-for-later"' "$BATS_TEST_TMPDIR/e.out"
	run diff "$BATS_TEST_TMPDIR/f.out" "$BATS_TEST_TMPDIR/e.out"
	assert_success
	# The state too, byte for byte: incidents gone, tombstones kept.
	assert_equal "$(grep -c '^tomb' "$ST")" 2
	run on_etcd esc-route -p "$OTHER" --export-state
	assert_success
	assert_output "$(cat "$ST")"
	assert_equal "$(keys state/)" "$(echo state/seed && printf 'state/tomb/%s\n' $(grep '^tomb' "$ST" | cut -f2) && echo state/version)"
	# The outbox was delivered whole.
	assert_equal "$(keys outbox/)" ""
}

@test "on etcd: a run writes only the incidents that changed, and nothing when nothing did" {
	{ alert A critical firing 0 "" a; alert B critical firing 0 "" b
	  alert C critical firing 0 "" c; } | on_etcd esc-route --now "$(tm 0)"
	id=$(take_outbox "$BATS_TEST_TMPDIR/ob" | jq -r 'select(.type == "incident" and .alertname == "B") | .incident')
	# B acked: its key alone is written, with its records, in one write.
	hold_lease
	rev=$(revision)
	run on_etcd esc-route -v --now "$(tm 1)" <<<"$(event ack incident "$id" 1)"
	assert_success
	assert_line --regexp ": 1 puts, 0 deletes, [0-9]+ records, 1 transactions$"
	assert_equal "$(revision)" $((rev + 1))
	ctl get --prefix "${PFX}state/inc/" -w json >"$BATS_TEST_TMPDIR/kvs"
	assert_equal "$(jq -r --arg k "$(printf '%sstate/inc/%s' "$PFX" "$id" | base64 -w0)" \
	    '[.kvs[] | select(.key != $k) | .mod_revision] | unique | length' "$BATS_TEST_TMPDIR/kvs")" 1
	assert_equal "$(jq -r --arg k "$(printf '%sstate/inc/%s' "$PFX" "$id" | base64 -w0)" \
	    '.kvs[] | select(.key == $k) | .mod_revision' "$BATS_TEST_TMPDIR/kvs")" $((rev + 1))
	# Nothing due: nothing written at all.
	rev=$(revision)
	run on_etcd esc-route -v --now "$(tm 1 30)" </dev/null
	assert_success
	assert_line --partial ": 0 puts, 0 deletes, 0 records, 0 transactions"
	assert_equal "$(revision)" "$rev"
}

@test "on etcd: 150 incidents opened at once commit in several transactions, each incident with its records" {
	for i in $(seq 1 150); do alert Many critical firing 0 "" "h$i"; done >"$BATS_TEST_TMPDIR/in"
	same_seed
	route 0 "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/f.out"
	run on_etcd esc-route -v --now "$(tm 0)" "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_line --regexp ': 150 puts, 0 deletes, 900 records, [2-9] transactions$'
	assert_equal "$(keys state/inc/ | wc -l)" 150
	[ "$(keys outbox/ | wc -l)" -ge 2 ]
	# Every record is there once, and each outbox key was written in the
	# transaction (revision) of the incidents its records are about.
	ctl get --prefix "$PFX" -w json >"$BATS_TEST_TMPDIR/kvs"
	jq -j '.kvs[] | (.key | @base64d) as $k | select($k | contains("/outbox/")) | .value | @base64d' \
	    "$BATS_TEST_TMPDIR/kvs" | sort >"$BATS_TEST_TMPDIR/e.sorted"
	sort "$BATS_TEST_TMPDIR/f.out" >"$BATS_TEST_TMPDIR/f.sorted"
	run diff "$BATS_TEST_TMPDIR/f.sorted" "$BATS_TEST_TMPDIR/e.sorted"
	assert_success
	run jq -r --arg p "$PFX" '
	    [.kvs[] | {k: (.key | @base64d | ltrimstr($p)), v: (.value | @base64d), r: .mod_revision}] as $kv
	    | ($kv | map(select(.k | startswith("state/inc/"))) | map({(.k | ltrimstr("state/inc/")): .r}) | add) as $inc
	    | $kv[] | select(.k | startswith("outbox/")) | .r as $r
	    | .v | split("\n")[] | select(. != "") | fromjson | .incident
	    | select($inc[.] != $r)' "$BATS_TEST_TMPDIR/kvs"
	assert_success
	assert_output ""
	# And the state is the file's.
	run on_etcd esc-route --export-state
	assert_output "$(cat "$ST")"
}

@test "on etcd: a lost tick lock (a revoked lease) fails the run with exit 1 and writes nothing" {
	alert A critical firing 0 | on_etcd esc-route --now "$(tm 0)" >/dev/null
	lease=$(ctl lease grant 60 | awk '{print $2}')
	ctl put --lease="$lease" "${PFX}lock" "test" >/dev/null
	ctl lease revoke "$lease" >/dev/null
	rev=$(revision)
	: >"$BATS_TEST_TMPDIR/inflight"
	run on_etcd env ESC_ETCD_LEASE=$((16#$lease)) esc-route --now "$(tm 5)" \
	    --inflight "$BATS_TEST_TMPDIR/inflight" <<<"$(alert B critical firing 5)"
	assert_failure 1
	assert_output --regexp "^esc-route: etcd $EP $PFX: the tick lock is not held with lease $((16#$lease)) \(ESC_ETCD_LEASE\)"
	assert_equal "$(revision)" "$rev"
	[ -e "$BATS_TEST_TMPDIR/inflight" ]
	# Under esc-lock, the same run goes through.
	run on_etcd esc-lock esc-route --now "$(tm 5)" --inflight "$BATS_TEST_TMPDIR/inflight" <<<"$(alert B critical firing 5)"
	assert_success
	[ ! -e "$BATS_TEST_TMPDIR/inflight" ]
	[ "$(revision)" -gt "$rev" ]
}

@test "on etcd: the lock lost in the middle of a run: its write is refused (fenced), exit 1, nothing written" {
	alert A critical firing 0 | on_etcd esc-route --now "$(tm 0)" >/dev/null
	hold_lease
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	on_etcd esc-route --now "$(tm 5)" "$BATS_TEST_TMPDIR/fifo" >"$BATS_TEST_TMPDIR/out" 2>&1 &
	BG_PIDS=$!
	# The run opens its input once it held the lock and loaded the state.
	exec 7>"$BATS_TEST_TMPDIR/fifo"
	ctl lease revoke "$(printf %x "$ESC_ETCD_LEASE")" >/dev/null
	rev=$(revision)
	alert B critical firing 5 >&7
	exec 7>&-
	st=0
	wait "$BG_PIDS" || st=$?
	assert_equal "$st" 1
	assert_equal "$(cat "$BATS_TEST_TMPDIR/out")" "esc-route: etcd: the tick lock is no longer ours (lease $(printf %x "$ESC_ETCD_LEASE") expired): another host may be ticking; nothing written"
	assert_equal "$(revision)" "$rev"
}

@test "etcd down: exit 1 saying so, no record anywhere, the state file neither touched nor created" {
	down=http://127.0.0.1:$(free_port)
	: >"$BATS_TEST_TMPDIR/inflight"
	run env ESC_ETCD_ENDPOINTS=$down ESC_STATE="$ST" esc-route --now "$(tm 0)" \
	    --inflight "$BATS_TEST_TMPDIR/inflight" <<<"$(alert A critical firing 0)"
	assert_failure 1
	assert_output --regexp "^esc-route: .*127\.0\.0\.1"
	[ ! -e "$ST" ] && [ ! -e "$ST.lock" ]
	[ -e "$BATS_TEST_TMPDIR/inflight" ]
	# A state file there is not used either.
	route 0 <<<"$(alert A critical firing 0)" >/dev/null
	cp "$ST" "$BATS_TEST_TMPDIR/before"
	run env ESC_ETCD_ENDPOINTS=$down esc-route -s "$ST" --now "$(tm 5)" </dev/null
	assert_failure 1
	cmp "$ST" "$BATS_TEST_TMPDIR/before"
	run env ESC_ETCD_ENDPOINTS=$down esc-route --export-state
	assert_failure 1
}

@test "--export-state and --import-state: files to etcd to files, byte for byte; a state is never imported over another" {
	route 0 -p "$OTHER" <<<"$(alert A critical firing 0; alert B warning firing 0 "" b)" >/dev/null
	route 1 -p "$OTHER" <<<"$(alert B warning resolved 0 1 b)" >/dev/null
	route 70 -p "$OTHER" <<<"$(alert C info firing 70 "" 'c	tab')" >/dev/null
	grep -q '^tomb' "$ST"
	[ "$(tail -1 "$ST")" = "end 4" ]
	# Files: the state file as it is.
	run esc-route -s "$ST" --export-state
	assert_success
	assert_output "$(cat "$ST")"
	# Into etcd, and back.
	run on_etcd esc-route -v --import-state "$ST"
	assert_success
	assert_line --partial ": 5 puts in 1 transactions"
	assert_equal "$(keys state/ | wc -l)" 5
	on_etcd esc-route --export-state >"$BATS_TEST_TMPDIR/exported"
	cmp "$ST" "$BATS_TEST_TMPDIR/exported"
	esc-route -s "$BATS_TEST_TMPDIR/back" --import-state "$BATS_TEST_TMPDIR/exported"
	cmp "$ST" "$BATS_TEST_TMPDIR/back"
	assert_equal "$(stat -c %a "$BATS_TEST_TMPDIR/back")" 600
	# Not over a state: etcd's, or a file's.
	run on_etcd esc-route --import-state "$ST"
	assert_failure 2
	assert_output "esc-route: etcd $EP $PFX already holds a state: not imported (export it, and empty it first)"
	run esc-route -s "$BATS_TEST_TMPDIR/back" --import-state "$ST"
	assert_failure 2
	# Not what is not a state.
	echo garbage >"$BATS_TEST_TMPDIR/bad"
	run env ESC_ETCD_PREFIX=/t${BATS_TEST_NUMBER}b/ ESC_ETCD_ENDPOINTS=$EP esc-route --import-state "$BATS_TEST_TMPDIR/bad"
	assert_failure 2
	assert_output "esc-route: $BATS_TEST_TMPDIR/bad:1: not an esc-route state file"
	# An empty etcd exports an empty state.
	run env ESC_ETCD_PREFIX=/t${BATS_TEST_NUMBER}b/ ESC_ETCD_ENDPOINTS=$EP esc-route --export-state
	assert_success
	assert_output "$(printf 'esc-route-state 3\nend 0')"
}

@test "--outbox copies each outbox key once, owner-only; --outbox-done deletes the keys named" {
	alert A critical firing 0 | on_etcd esc-route --now "$(tm 0)"
	alert B critical firing 1 "" b | on_etcd esc-route --now "$(tm 1)"
	mapfile -t names < <(keys outbox/ | sed 's|^outbox/||')
	assert_equal "${#names[@]}" 2
	[[ ${names[0]} =~ ^20261127T100000Z\.[0-9a-f]+\.000001$ ]]
	[[ ${names[1]} =~ ^20261127T100100Z\.[0-9a-f]+\.000001$ ]]
	mkdir "$BATS_TEST_TMPDIR/ob"
	umask 022
	run on_etcd esc-route --outbox "$BATS_TEST_TMPDIR/ob"
	assert_success
	assert_output ""
	assert_equal "$(ls "$BATS_TEST_TMPDIR/ob")" "$(printf 'outbox.%s.ndjson\n' "${names[@]}")"
	assert_equal "$(stat -c %a "$BATS_TEST_TMPDIR/ob/outbox.${names[0]}.ndjson")" 600
	grep -q '"type":"page"' "$BATS_TEST_TMPDIR/ob/outbox.${names[0]}.ndjson"
	# A file already there is left as it is: it may be being delivered.
	echo taken >"$BATS_TEST_TMPDIR/ob/outbox.${names[0]}.ndjson"
	on_etcd esc-route --outbox "$BATS_TEST_TMPDIR/ob"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/ob/outbox.${names[0]}.ndjson")" taken
	# Done: the name, or the file's name.
	run on_etcd esc-route --outbox-done "${names[0]}" "$BATS_TEST_TMPDIR/ob/outbox.${names[1]}.ndjson"
	assert_success
	assert_output ""
	assert_equal "$(keys outbox/)" ""
	run on_etcd esc-route --outbox-done ../state/version
	assert_failure 1
	assert_output "esc-route: ../state/version: not an outbox name"
	assert_equal "$(keys state/version)" state/version
	# Without etcd there is no outbox.
	run esc-route --outbox "$BATS_TEST_TMPDIR/ob"
	assert_failure 2
	assert_output --partial "esc-route: --outbox and --outbox-done: the outbox is on etcd"
}
