#!/usr/bin/env bats
# esc-notify with the state on etcd (issue 14): each delivery claimed on
# etcd before it is tried and marked done after, so that two hosts, each
# with its own spool, never both make it; a dead host's claim goes with
# its lease; without etcd nothing is sent and nothing is lost.

load test_helper
load fixtures/notify/helper
load etcd1
bats_require_minimum_version 1.5.0

setup() {
	notify_setup
	start_etcd
	page webhook >"$BATS_TEST_TMPDIR/one"
	for i in $(seq 1 30); do page webhook ".dedup_key += \"-$i\""; done >"$BATS_TEST_TMPDIR/in"
	SP2=$BATS_TEST_TMPDIR/spool2
}

teardown() {
	reap -9 ${BG:-}
	stop_servers
	stop_etcd
}

delivered() {
	jq -s 'map(select(.status == 200)) | length' "$PROV_LOG"
}

# The one delivery in spool $1's new/: its name.
pending_name() {
	ls "$1/new"
}

# Spools $BATS_TEST_TMPDIR/one in $SP without sending it: the tick lock
# is another's meanwhile.
spool_only() {
	local l
	l=$(ectl lease grant 60 | awk '{print $2}')
	ectl put /t/lock "elsewhere 1" --lease "$l" >/dev/null
	run --separate-stderr esc-notify --lock-wait 0 --spool "$SP" "$BATS_TEST_TMPDIR/one"
	assert_failure 1
	ectl lease revoke "$l" >/dev/null
}

@test "two hosts given the same pages at once: each delivered once, by one of them" {
	prov_ctl '{"mode": "slow", "latency_ms": 20}'
	esc-notify --spool "$SP" -j 4 "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/o1" 2>"$BATS_TEST_TMPDIR/e1" &
	p1=$!
	esc-notify --spool "$SP2" -j 4 "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/o2" 2>"$BATS_TEST_TMPDIR/e2" &
	p2=$!
	BG="$p1 $p2"
	wait "$p1"
	wait "$p2"
	BG=
	assert_equal "$(cat "$BATS_TEST_TMPDIR/e1" "$BATS_TEST_TMPDIR/e2")" ""
	assert_equal "$(wc -l <"$PROV_LOG")" 30
	assert_equal "$(jq -rs 'map(.body | fromjson | .dedup_key) | unique | length' "$PROV_LOG")" 30
	# One receipt per delivery, from whichever host made it.
	assert_equal "$(cat "$BATS_TEST_TMPDIR/o1" "$BATS_TEST_TMPDIR/o2" | jq -s 'map(select(.type == "receipt" and .status == "delivered")) | length')" 30
	# Both spools know every delivery done; etcd has 30 done marks (the
	# time each was made) and no claim left.
	assert_equal "$(ls "$SP/done" | wc -l) $(ls "$SP2/done" | wc -l)" "30 30"
	assert_equal "$(ls "$SP/new" | wc -l) $(ls "$SP2/new" | wc -l)" "0 0"
	assert_equal "$(ectl get --prefix /t/done/ --keys-only | grep -c .)" 30
	assert_equal "$(ectl get --prefix /t/claim/ --keys-only | grep -c .)" 0
	ectl get --prefix /t/done/ --print-value-only | grep -qE '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T'
}

@test "a done mark on etcd stops a re-delivery, whatever this host's spool says" {
	run --separate-stderr esc-notify --spool "$SP" "$BATS_TEST_TMPDIR/one"
	assert_success
	assert_equal "$(jq -r 'select(.type == "receipt") | .status' <<<"$output")" delivered
	# The second host: its own spool has never seen the page.
	run --separate-stderr esc-notify -v --spool "$SP2" "$BATS_TEST_TMPDIR/one"
	assert_success
	assert_equal "$(delivered)" 1
	# As with the spool's own done/: the record passes, no receipt.
	assert_equal "$(jq -s 'map(select(.type == "receipt")) | length' <<<"$output")" 0
	assert_equal "$(jq -s 'map(select(.type == "page")) | length' <<<"$output")" 1
	[[ "$stderr" == *"delivered already (etcd), not sent again"* ]]
	assert_equal "$(ls "$SP2/done" | wc -l) $(ls "$SP2/new" | wc -l)" "1 0"
	# Nor without a spool at all.
	run --separate-stderr esc-notify "$BATS_TEST_TMPDIR/one"
	assert_success
	assert_equal "$(delivered)" 1
}

@test "a claim whose lease is gone (esc-lock killed with -9) is taken over and delivered once" {
	prov_ctl '{"mode": "slow", "latency_ms": 5000}'
	esc-lock esc-notify --spool "$SP" "$BATS_TEST_TMPDIR/one" >/dev/null 2>&1 &
	BG=$!
	wait_until claimed
	n=$(pending_name "$SP")
	# (Not through jq: a lease id needs more than a double's 53 bits.)
	lease=$(ectl get "/t/claim/$n" -w json | grep -o '"lease":[0-9]*' | cut -d: -f2)
	[ -n "$lease" ]
	child=$(ps -o pid= --ppid "$BG")
	kill -9 "$BG" $child
	wait "$BG" || true
	BG=
	# The dead host's lock and claim stay until its lease expires: a run
	# meanwhile does not send, says why, and keeps the delivery.
	run --separate-stderr esc-notify --spool "$SP" --lock-wait 1 "$BATS_TEST_TMPDIR/one"
	assert_failure 1
	[[ "$stderr" == *"the tick lock is held by"*"nothing sent; 1 deliveries stay pending in the spool"* ]]
	assert_equal "$(pending_name "$SP")" "$n"
	# Its lease expires (revoked, not to wait its 30 s).
	ectl lease revoke "$(printf %x "$lease")"
	prov_ctl '{"mode": "clear"}'
	run --separate-stderr esc-notify --spool "$SP" /dev/null
	assert_success
	assert_equal "$(jq -r 'select(.type == "receipt") | .status' <<<"$output")" delivered
	assert_equal "$(delivered)" 1
	assert_equal "$(ls "$SP/done")" "$n"
	ectl get "/t/done/$n" --print-value-only | grep -q T
	assert_equal "$(ectl get "/t/claim/$n" --keys-only)" ""
}

@test "a claim of another host's live lease: left pending, sent once that lease has gone" {
	spool_only
	n=$(pending_name "$SP")
	lease=$(ectl lease grant 60 | awk '{print $2}')
	ectl put "/t/claim/$n" "otherhost 1" --lease "$lease" >/dev/null
	run --separate-stderr esc-notify --spool "$SP" "$BATS_TEST_TMPDIR/one"
	assert_success
	assert_equal "$stderr" "esc-notify: inc-20261127-1000-abcd-L1-webhook trigger $(jq -r .recipient "$SP/new/$n"): claimed by another host's run (etcd): left pending for a later run"
	assert_equal "$(jq -s 'map(select(.type == "receipt")) | length' <<<"$output")" 0
	assert_equal "$(wc -l <"$PROV_LOG")" 0
	assert_equal "$(pending_name "$SP")" "$n"
	# Without a spool to keep it, the input must come again: exit 1.
	run --separate-stderr esc-notify "$BATS_TEST_TMPDIR/one"
	assert_failure 1
	[[ "$stderr" == *": claimed by another host's run (etcd): left pending for a later run" ]]
	assert_equal "$(wc -l <"$PROV_LOG")" 0
	ectl lease revoke "$lease" >/dev/null
	run --separate-stderr esc-notify --spool "$SP" /dev/null
	assert_success
	assert_equal "$(delivered)" 1
}

@test "a claim of the run's own lease (the answer to its claim lost) is its own: delivered once" {
	spool_only
	n=$(pending_name "$SP")
	run --separate-stderr esc-lock sh -c 'ETCDCTL_API=3 etcdctl --endpoints "$ESC_ETCD_ENDPOINTS" put "/t/claim/$1" "vm 1" --lease "$(printf %x "$ESC_ETCD_LEASE")" >/dev/null && esc-notify --spool "$2" /dev/null' sh "$n" "$SP"
	assert_success
	assert_equal "$(jq -r 'select(.type == "receipt") | .status' <<<"$output")" delivered
	assert_equal "$(delivered)" 1
	assert_equal "$(ectl get "/t/claim/$n" --keys-only)" ""
	ectl get "/t/done/$n" --print-value-only | grep -q T
}

@test "etcd down: nothing sent, exit 1, the delivery kept; sent on the next run once etcd is back" {
	stop_etcd
	run --separate-stderr esc-notify --spool "$SP" "$BATS_TEST_TMPDIR/one"
	assert_failure 1
	[[ "$stderr" == "esc-notify: etcd: no member answered within 8 s (down, or no quorum): http://127.0.0.1:$ETCD_PORT: "*": nothing sent; 1 deliveries stay pending in the spool" ]]
	# The record passes, without a receipt: it was not tried.
	assert_equal "$(jq -s 'map(select(.type == "receipt")) | length' <<<"$output")" 0
	assert_equal "$(wc -l <"$PROV_LOG")" 0
	assert_equal "$(ls "$SP/new" | wc -l)" 1
	start_etcd
	run --separate-stderr esc-notify --spool "$SP" /dev/null
	assert_success
	assert_equal "$(jq -r 'select(.type == "receipt") | .status' <<<"$output")" delivered
	assert_equal "$(delivered)" 1
	run --separate-stderr esc-notify --spool "$SP" "$BATS_TEST_TMPDIR/one"
	assert_success
	assert_equal "$(delivered)" 1
}

@test "done marks older than 30 days are pruned, a bounded slice a run" {
	# --now picks the slice: minute 29626560 % 256 = 0xc0.
	now=2026-05-01T00:00:00Z
	ectl put /t/done/c0000000000000000000000000000001 2026-03-01T00:00:00Z >/dev/null
	ectl put /t/done/c0000000000000000000000000000002 2026-04-20T00:00:00Z >/dev/null
	ectl put /t/done/c1000000000000000000000000000003 2026-03-01T00:00:00Z >/dev/null
	ectl put /t/done/c0000000000000000000000000000004 "not a time" >/dev/null
	run --separate-stderr esc-notify -v --now "$now" --spool "$SP" "$BATS_TEST_TMPDIR/one"
	assert_success
	[[ "$stderr" == *"etcd: 1 old done marks pruned"* ]]
	run ectl get --prefix /t/done/c --keys-only
	refute_line /t/done/c0000000000000000000000000000001
	assert_line /t/done/c0000000000000000000000000000002
	assert_line /t/done/c1000000000000000000000000000003
	assert_line /t/done/c0000000000000000000000000000004
}

@test "the lock lost (a revoked ESC_ETCD_LEASE): nothing sent, exit 1" {
	lease=$(ectl lease grant 60 | awk '{print $2}')
	ectl put /t/lock "elsewhere 1" --lease "$lease" >/dev/null
	other=$(ectl lease grant 60 | awk '{print $2}')
	ESC_ETCD_LEASE=$((16#$other)) run --separate-stderr esc-notify --spool "$SP" "$BATS_TEST_TMPDIR/one"
	assert_failure 1
	[[ "$stderr" == *"the tick lock is not held with lease $((16#$other)) (ESC_ETCD_LEASE) but by elsewhere 1"*"nothing sent; 1 deliveries stay pending in the spool" ]]
	assert_equal "$(wc -l <"$PROV_LOG")" 0
	assert_equal "$(ls "$SP/new" | wc -l)" 1
}

# A claim is on etcd.
claimed() {
	[ -n "$(ectl get --prefix /t/claim/ --keys-only)" ]
}
