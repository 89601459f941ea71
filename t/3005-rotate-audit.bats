#!/usr/bin/env bats
# --audit (gaps, overlaps, double bookings, load) and --ledger.

load test_helper
bats_require_minimum_version 1.5.0

setup() {
	TEAM="$FIX/rotate/team.json"
	R="$BATS_TEST_TMPDIR/r.json"
	# team.json with every role the shipped policy pages.
	jq '.fixed += {"product_lead": ["dana"], "cto": ["dana"], "vp_engineering": ["dan"], "customer_success": ["dan"]}' "$TEAM" >"$BATS_TEST_TMPDIR/full.json"
	FULL="$BATS_TEST_TMPDIR/full.json"
}

# audit_of FILTER HORIZON: esc-rotate --audit from 2026-01-05T14:00:00Z
# over HORIZON, of the full roster changed by the jq FILTER (written to
# $R); a finding is exit 1.
audit_of() {
	jq "$1" "$FULL" >"$R"
	run -1 --separate-stderr esc-rotate -r "$R" --audit --at 2026-01-05T14:00:00Z --horizon "$2"
}

@test "audit: the shipped roster is clean for a year" {
	run -0 --separate-stderr esc-rotate --audit --at 2026-01-05T00:00:00Z --horizon 1y
	assert_equal "$(jq -r '.check' <<<"$output" | sort -u | paste -sd,)" "load"
	assert_equal "$stderr" ""
}

@test "audit: load per person is weeks and nights held" {
	run -0 esc-rotate -r "$FULL" --audit --at 2026-01-05T14:00:00Z --horizon 3w
	assert_equal "$(jq -r '[.person, .weeks, .nights] | join(" ")' <<<"$output")" "alice 2 14
bob 2 14
carol 2 14
frank 3 21"
}

@test "audit: a role of the policy that the roster lacks is a gap: exit 1" {
	run -1 --separate-stderr esc-rotate -r "$TEAM" --audit --at 2026-01-05T00:00:00Z --horizon 1w
	assert_equal "$(jq -r 'select(.check == "gap") | .role' <<<"$output" | paste -sd,)" "product_lead,cto,vp_engineering,customer_success"
	assert_equal "${stderr_lines[0]}" "esc-rotate: $TEAM: gap: the policy pages role product_lead, which the roster does not define (2026-01-05T00:00:00Z to 2026-01-12T00:00:00Z)"
}

@test "audit: a vacancy (empty rotation, override to nobody) is a gap: exit 1" {
	audit_of '.rotations.backup += {"members": [], "effective": "2026-01-19", "previous": ["carol","alice","bob"]}' 3w
	assert_equal "$(jq -c 'select(.check == "gap") | [.role, .start, .end]' <<<"$output")" '["backup","2026-01-19T14:00:00Z","2026-01-26T14:00:00Z"]'
	assert_equal "$stderr" "esc-rotate: $R: gap: nobody holds the role (2026-01-19T14:00:00Z to 2026-01-26T14:00:00Z)"
	audit_of '.overrides += [{"role":"manager","person":null,"start":"2026-01-07T00:00:00Z","end":"2026-01-07T01:00:00Z"}]' 3w
	assert_equal "$(jq -c 'select(.check == "gap") | [.role, .start, .end]' <<<"$output")" '["manager","2026-01-07T00:00:00Z","2026-01-07T01:00:00Z"]'
}

@test "audit: the same person as primary and backup at once is a double booking: exit 1" {
	audit_of '.overrides += [{"role":"backup","person":"bob","start":"2026-01-14T00:00:00Z","end":"2026-01-15T00:00:00Z"}]' 3w
	assert_equal "$(jq -c 'select(.check == "double_booking") | [.person, .start, .end, .detail]' <<<"$output")" '["bob","2026-01-14T00:00:00Z","2026-01-15T00:00:00Z","bob holds primary and backup at once"]'
	assert_equal "$stderr" "esc-rotate: $R: double_booking: bob holds primary and backup at once (2026-01-14T00:00:00Z to 2026-01-15T00:00:00Z)"
}

@test "audit: a role that is both a rotation and fixed is an overlap: exit 1" {
	audit_of '.fixed.manager = ["dana"]' 1w
	assert_equal "$(jq -c 'select(.check == "overlap") | [.role, .detail]' <<<"$output")" '["manager","the role is both a rotation and fixed"]'
}

@test "audit: a primary with no phone (the policy pages primary by SMS) is no_contact: exit 1" {
	# Said once a person and channel, whatever roles they hold.
	audit_of 'del(.people.bob.phone) | .people.carol.email = ""' 3w
	assert_equal "$(jq -c 'select(.check == "no_contact") | [.role, .person, .detail]' <<<"$output")" \
	    "$(printf '%s\n' '["primary","bob","bob has no phone, and the policy pages role primary by sms"]' \
	    '["primary","carol","carol has no email, and the policy pages role primary by email"]')"
	assert_line --index 0 --partial 'no_contact'
	[[ $stderr == *"no_contact: bob has no phone, and the policy pages role primary by sms ("* ]]
}

@test "audit: a bad horizon is a usage error" {
	run -2 --separate-stderr esc-rotate -r "$FULL" --audit --horizon soon
	assert_equal "$stderr" "esc-rotate: --horizon: bad duration: soon"
}

@test "ledger: weeks per role and days off under the policy's rule" {
	run -0 esc-rotate -r "$TEAM" --ledger --from 2026-01-05T14:00:00Z --to 2026-01-26T14:00:00Z </dev/null
	assert_equal "$(jq -c '[.person, .weeks.primary, .weeks.backup, .weeks.manager, .days_off, .after_hours_incidents]' <<<"$output")" '["alice",1,1,0,1.5,0]
["bob",1,1,0,1.5,0]
["carol",1,1,0,1.5,0]
["frank",0,0,3,0,0]'
}

@test "ledger: an override is paid by the share of the week it covers" {
	run -0 esc-rotate -r "$TEAM" --ledger --from 2026-12-21T14:00:00Z --to 2026-12-28T14:00:00Z </dev/null
	# dave covered 40 of carol's 168 hours.
	assert_equal "$(jq -c 'select(.weeks.primary > 0) | [.person, .weeks.primary, .days_off]' <<<"$output")" '["carol",0.76,0.76]
["dave",0.24,0.24]'
}

@test "ledger: incidents paged outside business hours, in the person's own zone" {
	cat >"$BATS_TEST_TMPDIR/journal" <<-'J'
	{"type":"page","incident":"i1","channel":"pagerduty","event":"trigger","to":["primary"],"at":"2026-01-14T03:00:00Z","recipients":[{"role":"primary","person":"bob"}]}
	{"type":"page","incident":"i1","channel":"sms","event":"trigger","to":["primary"],"at":"2026-01-14T03:05:00Z","recipients":[{"role":"primary","person":"bob"}]}
	{"type":"page","incident":"i2","channel":"pagerduty","event":"trigger","to":["primary"],"at":"2026-01-14T15:00:00Z"}
	{"type":"page","incident":"i3","channel":"pagerduty","event":"trigger","to":["primary"],"at":"2026-01-17T15:00:00Z"}
	{"type":"page","incident":"i4","channel":"pagerduty","event":"resolve","to":["primary"],"at":"2026-01-14T04:00:00Z"}
	{"type":"page","incident":"i5","channel":"email","event":"trigger","to":["sre_lead"],"at":"2026-01-14T16:00:00Z"}
	{"type":"page","incident":"i6","channel":"email","event":"trigger","to":["sre_lead"],"at":"2026-01-14T18:00:00Z"}
	{"type":"page","incident":"i7","channel":"email","event":"trigger","to":["sre_lead"],"at":"2026-03-14T18:00:00Z"}
	{"type":"receipt","incident":"i1","at":"2026-01-14T03:00:01Z"}
	J
	run -0 esc-rotate -r "$TEAM" --ledger --from 2026-01-12T14:00:00Z --to 2026-01-19T14:00:00Z "$BATS_TEST_TMPDIR/journal"
	# i1 at 22:00 Tuesday and i3 on a Saturday in New York; i6 at 19:00
	# in Berlin.  i2 and i5 are in office hours, i4 is a resolve, i7 is
	# outside the window.
	assert_equal "$(jq -c 'select(.after_hours_incidents > 0) | [.person, .after_hours_incidents, .incidents]' <<<"$output")" '["bob",2,["i1","i3"]]
["erin",1,["i6"]]'
}

@test "ledger: a bad journal line is reported; the ledger still comes out; exit 1" {
	printf '%s\n' '{"type":"page","incident":"i1","to":["primary"],"at":"2026-01-14T03:00:00Z"}' 'not json' >"$BATS_TEST_TMPDIR/journal"
	run -1 --separate-stderr esc-rotate -r "$TEAM" --ledger --from 2026-01-12T14:00:00Z --to 2026-01-19T14:00:00Z "$BATS_TEST_TMPDIR/journal"
	assert_equal "$(jq -c 'select(.person == "bob") | .incidents' <<<"$output")" '["i1"]'
	assert_equal "$stderr" "esc-rotate: $BATS_TEST_TMPDIR/journal:2: not JSON: syntax error at byte 1"
}

@test "ledger: the journal may come on standard input" {
	run -0 esc-rotate -r "$TEAM" --ledger --from 2026-01-12T14:00:00Z --to 2026-01-19T14:00:00Z \
	    <<<'{"type":"page","incident":"i9","event":"trigger","to":["backup"],"at":"2026-01-18T08:00:00Z"}'
	assert_equal "$(jq -c 'select(.after_hours_incidents > 0) | [.person, .incidents]' <<<"$output")" '["alice",["i9"]]'
}
