#!/usr/bin/env bats
# Wall-clock handoffs across daylight-saving changes (system zone data).

load test_helper
bats_require_minimum_version 1.5.0

setup() {
	DST="$FIX/rotate/dst.json"
}

# start,end,hours,person of each shift of a role in a window
shifts() {
	esc-rotate -r "$DST" --shifts --role "$1" --from "$2" --to "$3" |
	    jq -r '[.start, .end, (((.end | fromdate) - (.start | fromdate)) / 3600 | tostring), .person] | join(" ")'
}

@test "dst: weekly Mon 09:00 New York is 14:00Z in winter, 13:00Z in summer; 167 h and 169 h across the changes" {
	run -0 shifts weekly 2026-03-02T00:00:00Z 2026-03-10T00:00:00Z
	assert_output "2026-02-23T14:00:00Z 2026-03-02T14:00:00Z 168 ben
2026-03-02T14:00:00Z 2026-03-09T13:00:00Z 167 cat
2026-03-09T13:00:00Z 2026-03-16T13:00:00Z 168 ann"
	run -0 shifts weekly 2026-10-27T00:00:00Z 2026-11-03T00:00:00Z
	assert_output "2026-10-26T13:00:00Z 2026-11-02T14:00:00Z 169 ann
2026-11-02T14:00:00Z 2026-11-09T14:00:00Z 168 ben"
}

@test "dst: a year of weekly shifts has no gap and no overlap, and every handoff is Monday 09:00 local" {
	# New York is UTC-4 from 8 March to 1 November 2026, else UTC-5.
	prog='. as $s
	    | ([range(1; length) as $i | select($s[$i].start != $s[$i - 1].end)] | length),
	      length,
	      ([.[] | .start | fromdate | . - (if . >= ("2026-03-08T07:00:00Z" | fromdate) and . < ("2026-11-01T06:00:00Z" | fromdate) then 4 else 5 end) * 3600 | strftime("%a %H:%M")] | unique | join(","))'
	esc-rotate -r "$DST" --shifts --role weekly --from 2026-01-05T14:00:00Z --to 2027-01-04T14:00:00Z >"$BATS_TEST_TMPDIR/s"
	run -0 jq -s -r "$prog" "$BATS_TEST_TMPDIR/s"
	assert_output "0
52
Mon 09:00"
}

@test "dst: a handoff at 02:30 on the spring change moves to 03:00 (the first moment after)" {
	run -0 shifts daily 2026-03-07T12:00:00Z 2026-03-09T00:00:00Z
	assert_output "2026-03-07T07:30:00Z 2026-03-08T07:00:00Z 23.5 ben
2026-03-08T07:00:00Z 2026-03-09T06:30:00Z 23.5 ann"
}

@test "dst: a handoff at 01:30 on the fall change takes its first occurrence (EDT)" {
	run -0 shifts fallback_daily 2026-10-31T12:00:00Z 2026-11-02T00:00:00Z
	assert_output "2026-10-31T05:30:00Z 2026-11-01T05:30:00Z 24 ben
2026-11-01T05:30:00Z 2026-11-02T06:30:00Z 25 ann"
}

@test "dst: hourly shifts follow the wall clock: the skipped hour has no shift, the repeated one is two hours" {
	run -0 shifts hourly 2026-03-08T05:00:00Z 2026-03-08T08:00:00Z
	assert_output "2026-03-08T05:00:00Z 2026-03-08T06:00:00Z 1 ann
2026-03-08T06:00:00Z 2026-03-08T07:00:00Z 1 ben
2026-03-08T07:00:00Z 2026-03-08T08:00:00Z 1 ann"
	run -0 shifts hourly 2026-11-01T04:00:00Z 2026-11-01T08:00:00Z
	assert_output "2026-11-01T04:00:00Z 2026-11-01T05:00:00Z 1 ann
2026-11-01T05:00:00Z 2026-11-01T07:00:00Z 2 ben
2026-11-01T07:00:00Z 2026-11-01T08:00:00Z 1 cat"
}

@test "dst: Europe/Berlin, a rotation's own zone: Sun 02:30 on 29 March is 03:00 CEST, on 25 October the first 02:30" {
	run -0 shifts berlin 2026-03-28T00:00:00Z 2026-03-30T00:00:00Z
	assert_output "2026-03-22T01:30:00Z 2026-03-29T01:00:00Z 167.5 ben
2026-03-29T01:00:00Z 2026-04-05T00:30:00Z 167.5 ann"
	run -0 shifts berlin 2026-10-24T00:00:00Z 2026-10-26T00:00:00Z
	assert_output "2026-10-18T00:30:00Z 2026-10-25T00:30:00Z 168 ben
2026-10-25T00:30:00Z 2026-11-01T01:30:00Z 169 ann"
}

@test "dst: Australia/Sydney (southern hemisphere): April fall-back and October spring-forward" {
	run -0 shifts sydney 2026-04-04T12:00:00Z 2026-04-05T12:00:00Z
	assert_output "2026-04-03T15:30:00Z 2026-04-04T15:30:00Z 24 ben
2026-04-04T15:30:00Z 2026-04-05T16:30:00Z 25 ann"
	run -0 shifts sydney 2026-10-03T12:00:00Z 2026-10-04T12:00:00Z
	assert_output "2026-10-02T16:30:00Z 2026-10-03T16:00:00Z 23.5 ben
2026-10-03T16:00:00Z 2026-10-04T15:30:00Z 23.5 ann"
}

@test "dst: a page inside the repeated hour goes to the holder of that instant" {
	run -0 esc-rotate -r "$DST" < <(printf '{"type":"page","to":["hourly"],"at":"%s"}\n' 2026-11-01T05:59:59Z 2026-11-01T06:30:00Z 2026-11-01T07:00:00Z)
	assert_equal "$(jq -r '.recipients[0].person' <<<"$output" | paste -sd,)" "ben,ben,cat"
}

@test "dst: --audit names the handoffs that fall in a change, without failing" {
	run -0 --separate-stderr esc-rotate -r "$DST" --audit --at 2026-01-01T00:00:00Z --horizon 1y
	assert_equal "$(jq -r 'select(.check == "dst") | [.role, .start] | join(" ")' <<<"$output")" "daily 2026-03-08T07:00:00Z
fallback_daily 2026-11-01T05:30:00Z
hourly 2026-03-08T07:00:00Z
hourly 2026-11-01T05:00:00Z
berlin 2026-03-29T01:00:00Z
berlin 2026-10-25T00:30:00Z
sydney 2026-04-04T15:30:00Z
sydney 2026-10-03T16:00:00Z"
	assert_equal "$(jq -r 'select(.role == "daily" and .check == "dst") | .detail' <<<"$output")" "the handoff falls in a daylight-saving change (skipped hour): it is at 2026-03-08 03:00 local time"
	assert_equal "$stderr" ""
}
