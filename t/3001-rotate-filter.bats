#!/usr/bin/env bats
# esc-rotate as a filter: pages and tasks gain "recipients".

load test_helper
bats_require_minimum_version 1.5.0

setup() {
	TEAM="$FIX/rotate/team.json"
}

# A page at 2026-01-14T03:00:00Z falls in week 1 (from Monday 2026-01-12
# 14:00Z): primary bob, backup alice.
page() {
	printf '{"type":"page","incident":"i1","alert":"a1","channel":"sms","to":%s,"at":"%s","dedup_key":"i1-L1-sms"}\n' "$1" "${2:-2026-01-14T03:00:00Z}"
}

@test "rotate: a page gets the holders of its roles with their contacts" {
	run -0 esc-rotate -r "$TEAM" < <(page '["primary","backup"]')
	assert_equal "$(jq -c '.recipients' <<<"$output")" \
	    '[{"role":"primary","person":"bob","name":"Bob Okafor","email":"bob@example.com","phone":"+1-555-0102","slack":"U01BOB0002"},{"role":"backup","person":"alice","name":"Alice Ng","email":"alice@example.com","phone":"+1-555-0101","slack":"U01ALICE01"}]'
	assert_equal "$(jq -c 'del(.recipients)' <<<"$output")" "$(page '["primary","backup"]' | jq -c .)"
}

@test "rotate: resolution is at the record's at, not now" {
	run -0 esc-rotate -r "$TEAM" --now 2026-06-01T00:00:00Z < <(page '["primary"]' 2026-01-12T13:59:59Z; page '["primary"]' 2026-01-12T14:00:00Z)
	assert_equal "$(jq -r '.recipients[0].person' <<<"$output" | paste -sd,)" "alice,bob"
}

@test "rotate: a task (to = [owner]) is resolved too; other records pass unchanged" {
	in='{"type":"incident","incident":"i1","event":"opened","at":"2026-01-14T03:00:00Z"}
{"type":"task","incident":"i1","action":"Engage AWS support","owner":"manager","to":["manager"],"at":"2026-01-14T03:10:00Z","due_at":"2026-01-14T03:10:00Z"}
{ "type" : "note",   "by":"x" }'
	run -0 esc-rotate -r "$TEAM" <<<"$in"
	assert_equal "${lines[0]}" '{"type":"incident","incident":"i1","event":"opened","at":"2026-01-14T03:00:00Z"}'
	assert_equal "$(jq -c '[.recipients[] | .role, .person]' <<<"${lines[1]}")" '["manager","frank"]'
	assert_equal "${lines[2]}" '{ "type" : "note",   "by":"x" }'
	assert_equal "${#lines[@]}" 3
}

@test "rotate: times before the rotation's start count backwards (week -1 is members[-1 mod 3])" {
	run -0 esc-rotate -r "$TEAM" < <(page '["primary","backup"]' 2026-01-01T12:00:00Z)
	assert_equal "$(jq -r '[.recipients[].person] | join(",")' <<<"$output")" "carol,bob"
}

@test "rotate: one person holding two roles is a recipient once" {
	run -0 esc-rotate -r "$TEAM" < <(page '["primary","sre_lead","primary"]')
	assert_equal "$(jq -r '[.recipients[] | .role + ":" + .person] | join(",")' <<<"$output")" "primary:bob,sre_lead:erin"
}

@test "rotate: an override replaces the rotation's holder for its window" {
	run -0 esc-rotate -r "$TEAM" < <(page '["primary"]' 2026-12-24T16:59:59Z; page '["primary"]' 2026-12-24T17:00:00Z; page '["primary"]' 2026-12-26T09:00:00Z)
	assert_equal "$(jq -r '.recipients[0].person' <<<"$output" | paste -sd,)" "carol,dave,carol"
}

@test "rotate: an unknown role falls back to manager, marked and told on stderr" {
	run -0 --separate-stderr esc-rotate -r "$TEAM" < <(page '["cto"]')
	assert_equal "$(jq -c '.recipients' <<<"$output")" \
	    '[{"role":"cto","person":"frank","name":"Frank Moreau","email":"frank@example.com","phone":"+1-555-0106","fallback":true,"via":"manager"}]'
	assert_equal "$stderr" "esc-rotate: -:1: cto: nobody holds the role at 2026-01-14T03:00:00Z; falling back to manager (frank)"
}

@test "rotate: an empty rotation falls back to manager, then director" {
	jq '.rotations.backup.members = [] | .rotations.manager.members = []' "$TEAM" >"$BATS_TEST_TMPDIR/r.json"
	run -0 --separate-stderr esc-rotate -r "$BATS_TEST_TMPDIR/r.json" < <(page '["backup"]')
	assert_equal "$(jq -c '[.recipients[] | .role, .person, .fallback, .via]' <<<"$output")" '["backup","dana",true,"director"]'
	assert_equal "$stderr" "esc-rotate: -:1: backup: nobody holds the role at 2026-01-14T03:00:00Z; falling back to director (dana)"
}

@test "rotate: a fixed role whose first person is away (override to null) goes to its backup" {
	jq '.overrides += [{"role":"director","person":null,"start":"2026-01-13T00:00:00Z","end":"2026-01-20T00:00:00Z"}]' "$TEAM" >"$BATS_TEST_TMPDIR/r.json"
	run -0 --separate-stderr esc-rotate -r "$BATS_TEST_TMPDIR/r.json" < <(page '["director"]'; page '["director"]' 2026-01-20T00:00:00Z)
	assert_equal "$(jq -c '[.recipients[] | .person, .fallback]' <<<"$output" | paste -sd' ')" '["dan",true] ["dana",null]'
	assert_output --partial '"via":"director"'
}

@test "rotate: nobody at all: empty recipients, the record still goes out, exit 1" {
	jq '.rotations.backup.members = [] | .rotations.manager.members = [] | .fixed.director = []' "$TEAM" >"$BATS_TEST_TMPDIR/r.json"
	run -1 --separate-stderr esc-rotate -r "$BATS_TEST_TMPDIR/r.json" < <(page '["backup"]'; page '["primary"]')
	assert_equal "$(jq -c '.recipients' <<<"${lines[0]}")" '[]'
	assert_equal "$(jq -r '.recipients[0].person' <<<"${lines[1]}")" "bob"
	assert_equal "$stderr" "esc-rotate: -:1: backup: nobody holds the role at 2026-01-14T03:00:00Z, and no fallback does"
}

@test "rotate: the roster's fallback list is the chain" {
	jq '.rotations.backup.members = [] | .fallback = ["sre_lead"]' "$TEAM" >"$BATS_TEST_TMPDIR/r.json"
	run -0 --separate-stderr esc-rotate -r "$BATS_TEST_TMPDIR/r.json" < <(page '["backup"]')
	assert_equal "$(jq -c '[.recipients[] | .person, .via]' <<<"$output")" '["erin","sre_lead"]'
}

@test "rotate: existing recipients are replaced, not doubled" {
	run -0 esc-rotate -r "$TEAM" < <(page '["primary"]' | jq -c '.recipients = [{"person":"zed"}]')
	assert_equal "$(jq -c '[.recipients[].person]' <<<"$output")" '["bob"]'
}

@test "rotate: bad lines and bad fields are reported with file:line; the rest goes out; exit 1" {
	printf '%s\n' '{"type":"page","to":["primary"],"at":"2026-01-14T03:00:00Z"}' 'not json' \
	    '{"type":"page","to":"primary","at":"2026-01-14T03:00:00Z"}' \
	    '{"type":"page","to":["primary"],"at":"yesterday"}' \
	    '{"type":"page","to":["backup"],"at":"2026-01-14T03:00:00Z"}' >"$BATS_TEST_TMPDIR/in.ndjson"
	run -1 --separate-stderr esc-rotate -r "$TEAM" "$BATS_TEST_TMPDIR/in.ndjson"
	assert_equal "${#lines[@]}" 4
	assert_equal "$(jq -r '.recipients[0].person // "none"' <<<"$output" | paste -sd,)" "bob,none,none,alice"
	assert_equal "$stderr" "esc-rotate: $BATS_TEST_TMPDIR/in.ndjson:2: not JSON: syntax error at byte 1
esc-rotate: $BATS_TEST_TMPDIR/in.ndjson:3: \"to\" is not an array of role names; passed on unchanged
esc-rotate: $BATS_TEST_TMPDIR/in.ndjson:4: bad \"at\"; passed on unchanged"
}

@test "rotate: the roster comes from -r, then ESC_ROSTER, then the installed default" {
	run -0 --separate-stderr esc-rotate --verbose < <(page '["primary"]' 2026-01-06T12:00:00Z)
	assert_equal "$(jq -r '.recipients[0].person' <<<"$output")" "alice"
	assert_equal "$stderr" "esc-rotate: roster: $ESC_SHAREDIR/roster.example.json (the installed default)"
	ESC_ROSTER="$TEAM" run -0 esc-rotate < <(page '["manager"]')
	assert_equal "$(jq -r '.recipients[0].person' <<<"$output")" "frank"
	run -2 --separate-stderr esc-rotate -r /nonexistent/roster.json </dev/null
	assert_equal "$stderr" "esc-rotate: /nonexistent/roster.json: No such file or directory"
}

@test "rotate: a full output is an error, not a success" {
	[ -w /dev/full ] || skip "no /dev/full"
	run -1 bash -c 'esc-rotate -r "$1" < <(printf "%s\n" "{\"type\":\"x\"}") >/dev/full' _ "$TEAM"
	assert_output "esc-rotate: standard output: No space left on device"
}

@test "rotate: big records and many pass-through records between pages come out whole" {
	big=$(head -c 300000 /dev/zero | tr '\0' x)
	{
		printf '{"type":"page","to":["primary"],"at":"2026-01-14T03:00:00Z","labels":{"blob":"%s"}}\n' "$big"
		for i in $(seq 1 300); do printf '{"type":"note","n":%d,"pad":"%s"}\n' "$i" "${big:0:1000}"; done
		page '["backup"]'
	} >"$BATS_TEST_TMPDIR/in"
	run -0 esc-rotate -r "$TEAM" "$BATS_TEST_TMPDIR/in"
	assert_equal "${#lines[@]}" 302
	assert_equal "$(jq -r '.labels.blob | length' <<<"${lines[0]}")" 300000
	assert_equal "$(jq -r '.recipients[0].person' <<<"${lines[0]}")" bob
	assert_equal "$(printf '%s\n' "${lines[@]:1:300}")" "$(sed -n 2,301p "$BATS_TEST_TMPDIR/in")"
	assert_equal "$(jq -r '.recipients[0].person' <<<"${lines[301]}")" alice
}

@test "rotate: a file that cannot be read says why, with the line" {
	run esc-rotate --now 2026-11-30T12:00:00Z "$BATS_TEST_TMPDIR"
	assert_failure 1
	assert_output "esc-rotate: $BATS_TEST_TMPDIR:1: read error: Is a directory"
}

@test "rotate: an all-clear goes to who was paged (trigger_at), not to who holds the role now" {
	# The primary hands over on Monday 2026-11-30 at 14:00 UTC (09:00 in
	# New York): bob before, carol after.
	run esc-rotate -r "$ESC_SRC/share/esc/roster.example.json" <<<'{"type":"page","event":"resolve","to":["primary"],"at":"2026-11-30T14:20:00Z","trigger_at":"2026-11-30T13:50:00Z"}'
	assert_success
	assert_equal "$(jq -r '.recipients[].person' <<<"$output")" bob
	run esc-rotate -r "$ESC_SRC/share/esc/roster.example.json" <<<'{"type":"page","event":"resolve","to":["primary"],"at":"2026-11-30T14:20:00Z"}'
	assert_equal "$(jq -r '.recipients[].person' <<<"$output")" carol
}
