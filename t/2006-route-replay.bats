#!/usr/bin/env bats
# The replay property: one run over a day's history emits the same page,
# task and postmortem records as a run every minute through that day.

load test_helper
load fixtures/route/helpers

DAY0=1795737600		# 2026-11-27T00:00:00Z

# What must agree: everything but late_by, which says how late a run was,
# and reply_code, which each state's own seed makes (one state each here).
project() {
	jq -c 'select(.type == "page" or .type == "task" or .type == "postmortem") | del(.late_by, .reply_code)' "$@" | sort
}

@test "a generated day: one run equals a run every minute" {
	awk -v seed=11 -v n=40 -f "$ESC_SRC/t/fixtures/route/gen-day" >"$BATS_TEST_TMPDIR/day"
	# The day has what the property is about: upgrades, acks, both kinds of resolve.
	grep -q '"id":"c' "$BATS_TEST_TMPDIR/day"
	grep -q '"type":"ack"' "$BATS_TEST_TMPDIR/day"
	grep -q '"type":"resolve"' "$BATS_TEST_TMPDIR/day"
	grep -q '"status":"resolved"' "$BATS_TEST_TMPDIR/day"

	cut -f2 "$BATS_TEST_TMPDIR/day" |
	    esc-route -s "$BATS_TEST_TMPDIR/one" --now @$((DAY0 + 1440 * 60)) >"$BATS_TEST_TMPDIR/one.out"

	# Split the day by minute once, then run the router every minute.
	mkdir "$BATS_TEST_TMPDIR/min"
	awk -F'\t' -v d="$BATS_TEST_TMPDIR/min" '{ print $2 > (d "/" $1) }' "$BATS_TEST_TMPDIR/day"
	# Under make check SANITIZE=1 each of the 1441 runs is checked by ASan
	# and UBSan, but LeakSanitizer's scan at exit (a third of a run's cost
	# there, 80 s of CPU over the day) is made every 10th minute only: the
	# runs take the same paths (read the state, route, write it), 145 of
	# them with as many different states are leak-checked, and so is the
	# one run over the whole day above.  The plain suite is unchanged.
	noleak=${ASAN_OPTIONS:-}
	[ "${SANITIZE:-}" != 1 ] || noleak=${noleak/detect_leaks=1/detect_leaks=0}
	for m in $(seq 0 1440); do
		f=$BATS_TEST_TMPDIR/min/$m
		[ -e "$f" ] || f=/dev/null
		a=${ASAN_OPTIONS:-}
		[ $((m % 10)) -eq 0 ] || a=$noleak
		ASAN_OPTIONS=$a esc-route -s "$BATS_TEST_TMPDIR/many" --now @$((DAY0 + m * 60)) "$f" ||
		    { echo "run at minute $m failed" >&2; return 1; }
	done >"$BATS_TEST_TMPDIR/many.out"

	project "$BATS_TEST_TMPDIR/one.out" >"$BATS_TEST_TMPDIR/one.p"
	project "$BATS_TEST_TMPDIR/many.out" >"$BATS_TEST_TMPDIR/many.p"
	# Enough happened for the comparison to mean something.
	[ "$(grep -c '"type":"page"' "$BATS_TEST_TMPDIR/one.p")" -gt 100 ]
	[ "$(grep -c '"type":"postmortem"' "$BATS_TEST_TMPDIR/one.p")" -gt 5 ]
	[ "$(grep -c '"event":"resolve"' "$BATS_TEST_TMPDIR/one.p")" -gt 20 ]
	run diff "$BATS_TEST_TMPDIR/one.p" "$BATS_TEST_TMPDIR/many.p"
	assert_success
	# And no record went out twice in the minute-by-minute runs.
	assert_equal "$(jq -r 'select(.dedup_key) | "\(.dedup_key) \(.event // "")"' "$BATS_TEST_TMPDIR/many.out" | sort | uniq -d)" ""
	# The runs were on time: a run every minute is never more than a minute late.
	assert_equal "$(jq -s '[.[] | select(.late_by > 60)] | length' "$BATS_TEST_TMPDIR/many.out")" 0
}

@test "input out of time order takes effect in time order" {
	{ event ack alert StemeDBAPIDown-db1-critical 3; alert StemeDBAPIDown critical firing 0; } >"$BATS_TEST_TMPDIR/in"
	run route 20 "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_equal "$(jq -r 'select(.type == "incident") | "\(.event) \(.at)"' <<<"$output")" \
	    "$(printf '%s\n' 'opened 2026-11-27T10:00:00Z' 'acked 2026-11-27T10:03:00Z' 'escalated 2026-11-27T10:15:00Z')"
}
