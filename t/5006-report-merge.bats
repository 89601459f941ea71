#!/usr/bin/env bats
# esc-report over the journals of several hosts (issue 14): each host
# keeps its own journal, the hosts take turns at the tick, and a host
# killed after journalling, before it marked its work done, leaves that
# work to the next tick on another host, which journals the same records
# again.  Merged, the journals must say what the one undisturbed journal
# says: t/fixtures/report/metrics.ndjson (its incidents are worked out in
# t/5001-report-metrics.bats) and t/fixtures/report/review.ndjson.

load test_helper
bats_require_minimum_version 1.5.0

J="$FIX/report/metrics.ndjson"
RJ="$FIX/report/review.ndjson"
WIN=(--since 2026-11-01T00:00:00Z --until 2026-11-08T00:00:00Z)

setup() {
	T="$BATS_TEST_TMPDIR"
	# Host A journalled c1 to c5 (lines 1-24) and was killed after
	# journalling c5's records (lines 20-24) and before it marked them
	# done; host B did c5 again and went on with the rest.  B also
	# delivered c1's first page again: the page as A journalled it, its
	# receipt with B's own time and attempts.
	sed -n 1,24p "$J" > "$T/a.ndjson"
	{ sed -n 2p "$J"; sed -n 3p "$J" | jq -c '.at = "2026-11-02T10:01:02Z" | .attempts = 2';
	  sed -n '20,$p' "$J"; } > "$T/b.ndjson"
	# Three hosts taking turns, line by line.
	for k in 0 1 2; do
		awk -v k=$k 'NR % 3 == k' "$J" > "$T/turn$k.ndjson"
	done
}

metrics() {
	esc-report metrics -f json "$@"
}

@test "merge: two hosts' journals, a killed host's records twice, are the one journal, in either order" {
	want=$(metrics "$J")
	run metrics "$T/a.ndjson" "$T/b.ndjson"
	assert_success
	assert_output "$want"
	run metrics "$T/b.ndjson" "$T/a.ndjson"
	assert_success
	assert_output "$want"
	# c5 is an upgraded critical, acked and resolved once, not reopened.
	run jq -c '.severities.critical | [.incidents, .reopened, .upgraded, .mttr.n]' <<<"$output"
	assert_output '[5,0,1,4]'
}

@test "merge: hosts taking turns interleave in time, whatever the order of the files" {
	want=$(metrics "$J")
	for order in "0 1 2" "2 1 0" "1 2 0"; do
		files=()
		for k in $order; do files+=("$T/turn$k.ndjson"); done
		run metrics "${files[@]}"
		assert_success
		assert_output "$want"
	done
	# And every host's journal given as well as the one: nothing counts twice.
	run metrics "$T/turn2.ndjson" "$J" "$T/turn0.ndjson" "$T/turn1.ndjson" "$J"
	assert_success
	assert_output "$want"
}

@test "merge: pages journalled by two hosts are paged once in the review" {
	# B did lines 90 to 200 again: the pages of r094 among them.
	sed -n 1,200p "$RJ" > "$T/ra.ndjson"
	sed -n '90,$p' "$RJ" > "$T/rb.ndjson"
	want=$(esc-report review -f json "${WIN[@]}" "$RJ")
	run esc-report review -f json "${WIN[@]}" "$T/rb.ndjson" "$T/ra.ndjson"
	assert_success
	assert_output "$want"
	run jq -c .pages_per_person <<<"$output"
	assert_output '{"alice":3,"bob":2,"carol":2}'
}

@test "merge: the post-mortems of two hosts' journals are those of the one journal" {
	esc-report postmortems --dir "$T/one" "$J" >/dev/null
	run esc-report postmortems --dir "$T/two" "$T/b.ndjson" "$T/a.ndjson"
	assert_success
	assert_output "created $T/two/c1.md
created $T/two/c2.md
created $T/two/c3.md
created $T/two/c5.md"
	run diff -r "$T/one" "$T/two"
	assert_success
	assert_output ''
}

@test "merge: a record that differs is another record, a host's late_by is not a difference" {
	# B's copy of c5's resolution says 14:33, not 14:31: two resolutions,
	# the last counts (MTTR 33m for c5 in place of 31m).
	sed '$s/"at":"2026-11-02T14:31:00Z"/"at":"2026-11-02T14:33:00Z"/' "$T/a.ndjson" > "$T/a2.ndjson"
	run metrics "$T/a2.ndjson" "$T/b.ndjson"
	assert_success
	run jq -c '.severities.critical | [.incidents, .reopened, .mttr.n, .mttr.mean]' <<<"$output"
	# (1200 + 1980 + 2400 + 3000) / 4
	assert_output '[5,0,4,2145]'
	# A page B journalled again a minute late is the same page; one
	# whose time differs is another page.
	sed -n 1,200p "$RJ" > "$T/ra.ndjson"
	{ sed -n 92p "$RJ" | jq -c '. + {late_by: 60}'; sed -n '201,$p' "$RJ"; } > "$T/rb.ndjson"
	run bash -c "esc-report review -f json ${WIN[*]} '$T/ra.ndjson' '$T/rb.ndjson' | jq -c .pages_per_person"
	assert_output '{"alice":3,"bob":2,"carol":2}'
	{ sed -n 92p "$RJ" | jq -c '.at = "2026-11-03T03:01:00Z"'; sed -n '201,$p' "$RJ"; } > "$T/rb.ndjson"
	run bash -c "esc-report review -f json ${WIN[*]} '$T/ra.ndjson' '$T/rb.ndjson' | jq -c .pages_per_person"
	assert_output '{"alice":4,"bob":2,"carol":2}'
}

@test "merge: a torn last line of one journal is said, the rest counted" {
	# A was killed while it appended w1's opening: half a line, no newline.
	{ cat "$T/a.ndjson"; sed -n 25p "$J" | head -c 60; } > "$T/torn.ndjson"
	want=$(metrics "$J")
	run --separate-stderr metrics "$T/torn.ndjson" "$T/b.ndjson"
	assert_failure 1
	assert_equal "$stderr" "esc-report: $T/torn.ndjson:25: not JSON: syntax error at byte 54"
	assert_output "$want"
	run --separate-stderr metrics "$T/b.ndjson" "$T/torn.ndjson"
	assert_failure 1
	assert_equal "$stderr" "esc-report: $T/torn.ndjson:25: not JSON: syntax error at byte 54"
	assert_output "$want"
}

@test "merge: --verbose says how many records were journalled twice" {
	run --separate-stderr esc-report metrics -v -f json "$T/a.ndjson" "$T/b.ndjson"
	assert_success
	run grep -Fx "esc-report: 5 records journalled more than once, counted once" <<<"$stderr"
	assert_success
}

@test "merge: a journal given twice says what it says once, a refused record refused once" {
	# k1's ack is before its opening (refused); k1 is resolved later.
	# Read twice, the refused ack must not count on its second reading,
	# when the incident it names is known.
	cat > "$T/j.ndjson" <<-'EOF2'
	{"type":"ack","incident":"k1","by":"bob","at":"2026-11-02T09:59:00Z"}
	{"type":"incident","incident":"k1","event":"opened","severity":"critical","level":1,"alert":"a1","at":"2026-11-02T10:00:00Z","opened_at":"2026-11-02T10:00:00Z"}
	{"type":"incident","incident":"k1","event":"acked","severity":"critical","level":1,"alert":"a1","at":"2026-11-02T09:58:00Z","opened_at":"2026-11-02T10:00:00Z","by":"alice"}
	{"type":"incident","incident":"k1","event":"resolved","severity":"critical","level":1,"alert":"a1","at":"2026-11-02T10:10:00Z","opened_at":"2026-11-02T10:00:00Z","by":"alice"}
	EOF2
	run --separate-stderr esc-report metrics "$T/j.ndjson"
	assert_failure 1
	want=$output
	wanterr=$stderr
	assert_equal "$stderr" "esc-report: $T/j.ndjson:3: at: 2026-11-02T09:58:00Z is before the incident opened, at 2026-11-02T10:00:00Z"
	run --separate-stderr esc-report metrics "$T/j.ndjson" "$T/j.ndjson"
	assert_failure 1
	assert_equal "$stderr" "$wanterr"
	assert_output "$want"
	assert_line '1 journal line rejected'
}
