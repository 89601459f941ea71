#!/usr/bin/env bats
# The roster: rotation arithmetic, member changes, overrides, bad rosters.

load test_helper
bats_require_minimum_version 1.5.0

setup() {
	TEAM="$FIX/rotate/team.json"
	R="$BATS_TEST_TMPDIR/r.json"
}

# The primary of each Monday-09:00 week from 2026-02-09 to 2026-03-16.
weeks() {
	esc-rotate -r "$1" --shifts --role primary --from 2026-02-10T00:00:00Z --to 2026-03-17T00:00:00Z |
	    jq -r .person | paste -sd,
}

@test "roster: week N belongs to members[N mod len]" {
	run -0 weeks "$TEAM"
	# 2026-02-09 is week 5 from 2026-01-05.
	assert_output "carol,alice,bob,carol,alice,bob"
}

@test "roster: adding a member without an effective date reshuffles the current week" {
	jq '.rotations.primary.members += ["dave"]' "$TEAM" >"$R"
	run -0 weeks "$R"
	assert_output "bob,carol,dave,alice,bob,carol"
}

@test "roster: with effective and previous, an edit changes nothing before the first handoff on or after the date" {
	jq '.rotations.primary += {"members": ["alice","bob","carol","dave"], "effective": "2026-02-25", "previous": ["alice","bob","carol"]}' "$TEAM" >"$R"
	run -0 weeks "$R"
	# Weeks 5..7 (to 2026-03-02) as before; from week 8, members[N mod 4].
	assert_output "carol,alice,bob,alice,bob,carol"
	# A page in the current week (week 7) still reaches bob.
	run -0 esc-rotate -r "$R" < <(echo '{"type":"page","to":["primary"],"at":"2026-02-27T12:00:00Z"}')
	assert_equal "$(jq -r '.recipients[0].person' <<<"$output")" "bob"
}

@test "roster: member changes chain (previous may itself have an effective date)" {
	jq '.rotations.primary += {"members": ["dave"], "effective": "2026-03-09",
	    "previous": {"members": ["alice","bob","carol","dave"], "effective": "2026-02-25", "previous": ["alice","bob","carol"]}}' "$TEAM" >"$R"
	run -0 weeks "$R"
	assert_output "carol,alice,bob,alice,dave,dave"
}

@test "roster: an override splits the shift it covers" {
	run -0 esc-rotate -r "$TEAM" --shifts --role primary --from 2026-12-21T14:00:00Z --to 2026-12-28T14:00:00Z
	assert_equal "$(jq -c '[.person, .start, .end, .override]' <<<"$output")" '["carol","2026-12-21T14:00:00Z","2026-12-24T17:00:00Z",null]
["dave","2026-12-24T17:00:00Z","2026-12-26T09:00:00Z",true]
["carol","2026-12-26T09:00:00Z","2026-12-28T14:00:00Z",null]'
}

@test "roster: an override across a handoff stays one shift" {
	jq '.overrides = [{"role":"primary","person":"dave","start":"2026-01-11T00:00:00Z","end":"2026-01-13T00:00:00Z"}]' "$TEAM" >"$R"
	run -0 esc-rotate -r "$R" --shifts --role primary --from 2026-01-10T00:00:00Z --to 2026-01-14T00:00:00Z
	assert_equal "$(jq -c '[.person, .start, .end]' <<<"$output")" '["alice","2026-01-05T14:00:00Z","2026-01-11T00:00:00Z"]
["dave","2026-01-11T00:00:00Z","2026-01-13T00:00:00Z"]
["bob","2026-01-13T00:00:00Z","2026-01-19T14:00:00Z"]'
}

bad() {
	jq "$1" "$TEAM" >"$R"
	run -2 --separate-stderr esc-rotate -r "$R" </dev/null
	assert_equal "$output" ""
	assert_equal "$stderr" "esc-rotate: $R: $2"
}

@test "roster: an unknown person in a rotation is refused with the key path" {
	bad '.rotations.primary.members += ["zed"]' 'rotations.primary.members[3]: unknown person "zed"'
	bad '.fixed.director = ["dana","zed"]' 'fixed.director[1]: unknown person "zed"'
	bad '.rotations.primary += {"effective":"2026-03-02","previous":["alice","zed"]}' 'rotations.primary.previous[1]: unknown person "zed"'
}

@test "roster: an unknown time zone is refused with the key path" {
	bad '.rotations.backup.timezone = "Mars/Olympus_Mons"' 'rotations.backup.timezone: unknown time zone "Mars/Olympus_Mons"'
	bad '.timezone = "../../etc/passwd"' 'timezone: unknown time zone "../../etc/passwd"'
	bad '.people.erin.timezone = "Europe/Nowhere"' 'people.erin.timezone: unknown time zone "Europe/Nowhere"'
}

@test "roster: a bad handoff, shift or start is refused with the key path" {
	bad '.rotations.primary.handoff = "Mon 25:00"' 'rotations.primary.handoff: bad handoff "Mon 25:00" ("Mon 09:00" or "09:00")'
	bad '.rotations.primary.handoff = "Someday 09:00"' 'rotations.primary.handoff: bad handoff "Someday 09:00" ("Mon 09:00" or "09:00")'
	bad '.rotations.primary.shift = "1d" ' 'rotations.primary.handoff: a weekday is only for weekly shifts'
	bad '.rotations.primary.shift = "1fortnight"' 'rotations.primary.shift: bad shift "1fortnight" (hours, days or weeks up to ten years: "12h", "1d", "1w")'
	bad '.rotations.primary.start = "05/01/2026"' 'rotations.primary.start: bad date (a date: "2026-01-05")'
	bad '.rotations.primary += {"effective":"2026-03-02","previous":{"members":["alice"],"effective":"2026-02-02"}}' 'rotations.primary.previous.previous: missing (the members before the effective date)'
	bad '.rotations.primary += {"effective":"2026-03-02","previous":{"members":["alice"],"effective":"2026-03-09","previous":["bob"]}}' 'rotations.primary.effective: not later than the previous change'
	bad '.rotations.primary.shift = "521w"' 'rotations.primary.shift: bad shift "521w" (hours, days or weeks up to ten years: "12h", "1d", "1w")'
	bad '.rotations.primary.start = "2026-02-30"' 'rotations.primary.start: bad date (a date: "2026-01-05")'
	bad '.people.bob.role = "x"' 'people.bob.role: reserved key'
	bad '.rotas = {}' 'rotas: unknown key'
	bad '.fallback = ["janitor"]' 'fallback[0]: unknown role "janitor"'
	bad '.rotations.primary.hanfoff = "Mon 09:00"' 'rotations.primary.hanfoff: unknown key'
	bad '.rotations.primary.effective = "2026-03-02"' 'rotations.primary.previous: missing (the members before the effective date)'
}

@test "roster: overlapping overrides for one role are refused; for two roles they are fine" {
	bad '.overrides += [{"role":"primary","person":"bob","start":"2026-12-25T00:00:00Z","end":"2026-12-27T00:00:00Z"}]' 'overrides[1]: overlaps overrides[0] for role primary'
	jq '.overrides += [{"role":"backup","person":"bob","start":"2026-12-25T00:00:00Z","end":"2026-12-27T00:00:00Z"}]' "$TEAM" >"$R"
	run -0 esc-rotate -r "$R" </dev/null
	bad '.overrides[0].role = "janitor"' 'overrides[0].role: unknown role "janitor"'
	bad '.overrides[0].end = "2026-12-24T17:00:00Z"' 'overrides[0].end: not after the start'
}

@test "roster: a syntax error names the line" {
	printf '{\n  "people": {,}\n}\n' >"$R"
	run -2 --separate-stderr esc-rotate -r "$R" </dev/null
	assert_equal "$stderr" "esc-rotate: $R:2:15: JSON syntax error"
}

@test "roster: the shipped example loads, and its primary rotation starts 2026-01-05 in New York" {
	run -0 esc-rotate --oncall --at 2026-01-05T14:00:00Z
	assert_equal "$(jq -r '[.role, .person] | join(":")' <<<"$output" | paste -sd,)" \
	    "primary:alice,backup:carol,manager:frank,director:dana,sre_lead:erin,product_lead:ivan,cto:mallory,vp_engineering:victor,customer_success:oscar"
	run -0 esc-rotate --oncall --at 2026-01-05T13:59:59Z
	assert_equal "$(jq -r 'select(.role == "primary") | .person' <<<"$output")" "erin"
}

@test "roster: a fixed role may be one person; \"Monday 09:00\" is a weekday too" {
	jq '.fixed.sre_lead = "erin" | .rotations.primary.handoff = "Monday 09:00"' "$TEAM" >"$R"
	run -0 esc-rotate -r "$R" --oncall --at 2026-01-06T00:00:00Z
	assert_equal "$(jq -r '[.role, .person] | join(":")' <<<"$output" | paste -sd,)" "primary:alice,backup:carol,manager:frank,director:dana,sre_lead:erin"
}

# A page to ROLES ('["primary"]') at 2026-01-14T03:00:00Z (week 1: primary
# bob, backup alice, manager frank, director dana), through roster $1:
# "role person fallback via" per recipient.
reached() {
	echo "{\"type\":\"page\",\"to\":$2,\"at\":\"${3:-2026-01-14T03:00:00Z}\"}" |
	    esc-rotate -r "$1" | jq -r '.recipients[] | "\(.role) \(.person) \(.fallback) \(.via)"'
}

# reaches ROLES WANT [AT]: reached through $R is WANT, exit 0.
reaches() {
	run -0 --separate-stderr reached "$R" "$1" "${3:-}"
	assert_output "$2"
}

@test "roster: a primary nobody holds goes to the backup, then the manager, then the director (the seed)" {
	# A vacancy: an override with person null.
	jq '.overrides += [{"role":"primary","person":null,"start":"2026-01-13T00:00:00Z","end":"2026-01-15T00:00:00Z"}]' "$TEAM" >"$R"
	reaches '["primary"]' "primary alice true backup"
	assert_equal "$stderr" "esc-rotate: -:1: primary: nobody holds the role at 2026-01-14T03:00:00Z; falling back to backup (alice)"
	# Outside the vacancy the primary is reached as always.
	reaches '["primary"]' "primary bob null null" 2026-01-15T00:00:00Z
	# The backup is reached once, for both roles.
	reaches '["primary","backup"]' "primary alice true backup"
	# An empty rotation: the next that has someone.
	jq '.rotations.primary.members = [] | .rotations.backup.members = []' "$TEAM" >"$R"
	reaches '["primary"]' "primary frank true manager"
	jq '.rotations.primary.members = [] | .rotations.backup.members = [] | .rotations.manager.members = []' "$TEAM" >"$R"
	reaches '["primary"]' "primary dana true director"
	# Other roles keep manager, then director: the backup does not fall to
	# the primary.
	jq '.rotations.backup.members = []' "$TEAM" >"$R"
	reaches '["backup"]' "backup frank true manager"
}

@test "roster: the shipped example sends a vacant primary slot to the backup" {
	jq '.overrides += [{"role":"primary","person":null,"start":"2026-11-30T00:00:00Z","end":"2026-12-01T00:00:00Z"}]' \
	    <(jsonc "$ESC_SHAREDIR/roster.example.json") >"$R"
	# 07:00 in New York, before the Monday handoff: week 46, bob and dave.
	reaches '["primary"]' "primary dave true backup" 2026-11-30T12:00:00Z
	run -0 --separate-stderr reached "$ESC_SHAREDIR/roster.example.json" '["primary"]' 2026-11-30T12:00:00Z
	assert_output "primary bob null null"
}

@test "roster: fallback chains per role; \"*\" for the roles not named" {
	jq '.rotations.primary.members = [] | .rotations.backup.members = [] |
	    .fallback = {"primary": ["sre_lead", "manager"], "*": ["director"]}' "$TEAM" >"$R"
	reaches '["primary"]' "primary erin true sre_lead"
	reaches '["backup"]' "backup dana true director"
	# A role not named, with no "*": its default chain.
	jq '.rotations.primary.members = [] | .fallback = {"backup": ["director"]}' "$TEAM" >"$R"
	reaches '["primary"]' "primary alice true backup"
	# An empty chain: nobody, exit 1, the page still goes on.
	jq '.rotations.primary.members = [] | .fallback = {"primary": []}' "$TEAM" >"$R"
	run -1 --separate-stderr esc-rotate -r "$R" <<<'{"type":"page","to":["primary"],"at":"2026-01-14T03:00:00Z"}'
	assert_equal "$(jq -c .recipients <<<"$output")" '[]'
	assert_equal "$stderr" "esc-rotate: -:1: primary: nobody holds the role at 2026-01-14T03:00:00Z, and no fallback does"
}

@test "roster: a bad fallback chain is refused with the key path" {
	bad '.fallback = {"primray": ["backup"]}' 'fallback.primray: unknown role'
	bad '.fallback = {"primary": ["backup", "janitor"]}' 'fallback.primary[1]: unknown role "janitor"'
	bad '.fallback = {"primary": ["primary"]}' 'fallback.primary[0]: the role itself'
	bad '.fallback = {"primary": "backup"}' 'fallback.primary: not an array of roles'
	bad '.fallback = {"*": [1]}' 'fallback.*[0]: unknown role "1"'
	bad '.fallback = "manager"' 'fallback: not an array of roles, or an object of them by role'
	jq -c '.fallback = {}' "$TEAM" | sed 's/"fallback":{}/"fallback":{"primary":["backup"],"primary":["manager"]}/' >"$R"
	run -2 --separate-stderr esc-rotate -r "$R" </dev/null
	assert_equal "$stderr" "esc-rotate: $R: fallback.primary: defined twice"
}
