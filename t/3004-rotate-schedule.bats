#!/usr/bin/env bats
# --oncall, --shifts, --handoff and --ical.

load test_helper
bats_require_minimum_version 1.5.0

setup() {
	TEAM="$FIX/rotate/team.json"
	R="$BATS_TEST_TMPDIR/r.json"
}

@test "schedule: --oncall gives one shift record per role, the current holder" {
	run -0 esc-rotate -r "$TEAM" --oncall --at 2026-12-25T00:00:00Z
	assert_output '{"type":"shift","role":"primary","person":"dave","start":"2026-12-24T17:00:00Z","end":"2026-12-26T09:00:00Z","override":true}
{"type":"shift","role":"backup","person":"bob","start":"2026-12-21T14:00:00Z","end":"2026-12-28T14:00:00Z"}
{"type":"shift","role":"manager","person":"frank","start":"2026-12-21T14:00:00Z","end":"2026-12-28T14:00:00Z"}
{"type":"shift","role":"director","person":"dana","start":null,"end":null}
{"type":"shift","role":"sre_lead","person":"erin","start":null,"end":null}'
}

@test "schedule: --oncall without --at uses --now / ESC_NOW" {
	ESC_NOW=2026-01-06T00:00:00Z run -0 esc-rotate -r "$TEAM" --oncall
	assert_equal "$(jq -r 'select(.role == "primary") | .person' <<<"$output")" "alice"
	run -0 esc-rotate -r "$TEAM" --oncall --now 2026-01-13T00:00:00Z
	assert_equal "$(jq -r 'select(.role == "primary") | .person' <<<"$output")" "bob"
	ESC_NOW=yesterday run -2 esc-rotate -r "$TEAM" --oncall
	assert_output --partial "ESC_NOW"
}

@test "schedule: --shifts lists every shift in the window, sorted, filtered by --role and --person" {
	run -0 esc-rotate -r "$TEAM" --shifts --from 2026-01-05T14:00:00Z --to 2026-01-19T14:00:00Z
	assert_equal "$(jq -r '[.role, .person, .start] | join(" ")' <<<"$output")" "primary alice 2026-01-05T14:00:00Z
backup carol 2026-01-05T14:00:00Z
manager frank 2026-01-05T14:00:00Z
primary bob 2026-01-12T14:00:00Z
backup alice 2026-01-12T14:00:00Z
manager frank 2026-01-12T14:00:00Z"
	run -0 esc-rotate -r "$TEAM" --shifts --from 2026-01-05T14:00:00Z --to 2026-02-02T14:00:00Z --person alice
	assert_equal "$(jq -r '[.role, .start] | join(" ")' <<<"$output")" "primary 2026-01-05T14:00:00Z
backup 2026-01-12T14:00:00Z
primary 2026-01-26T14:00:00Z"
	run -0 esc-rotate -r "$TEAM" --shifts --from 2026-12-20T00:00:00Z --to 2026-12-31T00:00:00Z --role primary --person dave
	assert_output '{"type":"shift","role":"primary","person":"dave","start":"2026-12-24T17:00:00Z","end":"2026-12-26T09:00:00Z","override":true}'
}

@test "schedule: --shifts over ten years is complete" {
	run -0 bash -c 'esc-rotate -r "$1" --shifts --role primary --from 2026-01-05T14:00:00Z --to 2036-01-07T14:00:00Z | wc -l' _ "$TEAM"
	# 522 weeks, and the override cuts one of them in three.
	assert_output 524
}

@test "schedule: usage errors exit 2" {
	run -2 --separate-stderr esc-rotate -r "$TEAM" --shifts --from 2026-01-01T00:00:00Z
	assert_equal "${stderr_lines[0]}" "esc-rotate: this needs --from and --to"
	run -2 --separate-stderr esc-rotate -r "$TEAM" --shifts --from 2026-02-01T00:00:00Z --to 2026-01-01T00:00:00Z
	assert_equal "$stderr" "esc-rotate: --to is not after --from"
	run -2 --separate-stderr esc-rotate -r "$TEAM" --shifts --from 2026-01-01T00:00:00Z --to 2026-02-01T00:00:00Z --role janitor
	assert_equal "$stderr" "esc-rotate: unknown role: janitor"
	run -2 --separate-stderr esc-rotate -r "$TEAM" --oncall --shifts
	assert_equal "${stderr_lines[0]}" "esc-rotate: only one of --oncall, --shifts, --ical, --audit, --ledger, --handoff"
	run -2 --separate-stderr esc-rotate -r "$TEAM" --oncall --at tomorrow
	assert_equal "$stderr" "esc-rotate: not an RFC 3339 time or a date: tomorrow"
	run -2 --separate-stderr esc-rotate --bogus
	assert_equal "${stderr_lines[1]}" "usage: esc-rotate [-r roster] [--now time] [--rejects file] [file ...]"
	run -2 --separate-stderr esc-rotate -r "$TEAM" --oncall --rejects "$BATS_TEST_TMPDIR/rej"
	assert_equal "${stderr_lines[0]}" "esc-rotate: --rejects only with records to fill in"
}

@test "schedule: --handoff gives the outgoing and incoming person of each role" {
	run -0 esc-rotate -r "$TEAM" --handoff --at 2026-01-12T14:00:00Z
	assert_equal "$(jq -c '[.type, .role, .from, .to_person, .at, .dedup_key, (.recipients | map(.person + " " + .email))]' <<<"$output")" \
	    '["handoff","primary","alice","bob","2026-01-12T14:00:00Z","handoff-primary-2026-01-12T14:00:00Z",["bob bob@example.com"]]
["handoff","backup","carol","alice","2026-01-12T14:00:00Z","handoff-backup-2026-01-12T14:00:00Z",["alice alice@example.com"]]'
	assert_equal "$(jq -r 'select(.role == "primary") | .subject' <<<"$output")" "On-call handoff: primary is now Bob Okafor"
}

@test "schedule: --handoff covers an override's start" {
	run -0 esc-rotate -r "$TEAM" --handoff --at 2026-12-24T17:05:00Z
	assert_equal "$(jq -c '[.role, .from, .to_person, .at]' <<<"$output" | head -1)" '["primary","carol","dave","2026-12-24T17:00:00Z"]'
}

# Unfolds and unescapes an iCalendar with Python's standard library only.
ICS_PY='
import sys, json
raw = sys.stdin.buffer.read()
assert raw.endswith(b"\r\n"), "not CRLF-terminated"
body = raw.decode("utf-8")
for l in body.split("\r\n"):
    assert "\n" not in l and "\r" not in l, "bare line break"
    assert len(l.encode()) <= 75, "line over 75 octets: %r" % l
lines = body.replace("\r\n ", "").split("\r\n")[:-1]
def unesc(v):
    out, i = "", 0
    while i < len(v):
        if v[i] == "\\":
            out += {"n": "\n", "N": "\n"}.get(v[i + 1], v[i + 1]); i += 2
        else:
            out += v[i]; i += 1
    return out
evs, cur, stack = [], None, []
for l in lines:
    k, _, v = l.partition(":")
    if k == "BEGIN":
        stack.append(v)
        if v == "VEVENT": cur = {}
    elif k == "END":
        assert stack.pop() == v
        if v == "VEVENT": evs.append(cur); cur = None
    elif cur is not None:
        cur[k] = unesc(v)
assert not stack
print(json.dumps(evs))
'

@test "schedule: --ical is RFC 5545 (CRLF, folding, escaping, DTSTAMP, stable UIDs) and parses back" {
	jq '.people.alice.name = "Ng, Alice; \"Al\" \\ Ünïcödé Ñame that is quite long indeed" | .people.alice.email = "alice.with.a.very.long.address@subdomain.example.com"' "$TEAM" >"$R"
	esc-rotate -r "$R" --ical --from 2026-01-05T14:00:00Z --to 2026-01-19T14:00:00Z --role primary --now 2026-01-01T00:00:00Z >"$BATS_TEST_TMPDIR/a.ics"
	run -0 "$PY" -c "$ICS_PY" <"$BATS_TEST_TMPDIR/a.ics"
	assert_equal "$(jq -r '.[] | [.UID, .DTSTART, .DTEND, .DTSTAMP] | join(" ")' <<<"$output")" "primary-20260105T140000Z@esc-rotate 20260105T140000Z 20260112T140000Z 20260101T000000Z
primary-20260112T140000Z@esc-rotate 20260112T140000Z 20260119T140000Z 20260101T000000Z"
	assert_equal "$(jq -r '.[0].SUMMARY' <<<"$output")" 'primary on-call: Ng, Alice; "Al" \ Ünïcödé Ñame that is quite long indeed'
	assert_equal "$(jq -r '.[0].DESCRIPTION' <<<"$output")" 'Role: primary
Person: Ng, Alice; "Al" \ Ünïcödé Ñame that is quite long indeed (alice)
E-mail: alice.with.a.very.long.address@subdomain.example.com'
	head -5 "$BATS_TEST_TMPDIR/a.ics" | tr -d '\r' >"$BATS_TEST_TMPDIR/head"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/head")" "BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//esc//esc-rotate 0.1.0//EN
CALSCALE:GREGORIAN
METHOD:PUBLISH"
	# The same schedule gives the same UIDs on the next run.
	esc-rotate -r "$R" --ical --from 2026-01-05T14:00:00Z --to 2026-01-19T14:00:00Z --role primary --now 2026-01-02T00:00:00Z >"$BATS_TEST_TMPDIR/b.ics"
	assert_equal "$(grep UID "$BATS_TEST_TMPDIR/a.ics")" "$(grep UID "$BATS_TEST_TMPDIR/b.ics")"
}

@test "schedule: --ical without --from and --to is a subscription window, 7 days back and 90 ahead" {
	run -0 "$PY" -c "$ICS_PY" < <(esc-rotate -r "$TEAM" --ical --role primary --now 2026-03-04T12:00:00Z)
	# Weekly shifts: the one holding 7 days before now is the first, the
	# one holding 90 days after the last.
	assert_equal "$(jq -r '.[0].DTSTART' <<<"$output")" 20260223T140000Z
	assert_equal "$(jq -r '.[-1].DTSTART' <<<"$output")" 20260601T130000Z
	assert_equal "$(jq 'length' <<<"$output")" 15
}

@test "schedule: --oncall shows who stands in for a vacant role, and exits 1 when nobody does" {
	jq '.overrides += [{"role":"director","person":null,"start":"2026-01-13T00:00:00Z","end":"2026-01-20T00:00:00Z"}]' "$TEAM" >"$R"
	run -0 esc-rotate -r "$R" --oncall --at 2026-01-14T00:00:00Z
	assert_equal "$(jq -c 'select(.role == "director")' <<<"$output")" '{"type":"shift","role":"director","person":"dan","start":"2026-01-13T00:00:00Z","end":"2026-01-20T00:00:00Z","override":true,"fallback":true,"via":"director"}'
	jq '.fixed.director = [] | .rotations.manager.members = []' "$TEAM" >"$R"
	run -1 --separate-stderr esc-rotate -r "$R" --oncall --at 2026-01-14T00:00:00Z
	assert_equal "$(jq -c 'select(.person == null) | .role' <<<"$output" | paste -sd,)" '"manager","director"'
	assert_equal "$stderr" "esc-rotate: manager: nobody holds the role at 2026-01-14T00:00:00Z
esc-rotate: director: nobody holds the role at 2026-01-14T00:00:00Z"
}

@test "schedule: a date for --from/--to/--at is midnight in the roster's zone; --role narrows --oncall" {
	run -0 esc-rotate -r "$TEAM" --shifts --role primary --from 2026-01-12 --to 2026-01-13
	assert_equal "$(jq -r '.person' <<<"$output" | paste -sd,)" "alice,bob"
	# 2026-01-12 05:00Z is midnight in New York: alice is still on.
	run -0 esc-rotate -r "$TEAM" --oncall --role primary --at 2026-01-12
	assert_output '{"type":"shift","role":"primary","person":"alice","start":"2026-01-05T14:00:00Z","end":"2026-01-12T14:00:00Z"}'
}
