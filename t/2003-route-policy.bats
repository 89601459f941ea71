#!/usr/bin/env bats
# esc-route takes everything from the policy: a different policy gives
# different levels, delays, channels, roles, names and rules.

load test_helper
load fixtures/route/helpers

OTHER="$ESC_SRC/t/fixtures/route/policy-other.json"

@test "levels, delays, channels and roles come from the policy (-p)" {
	route 0 -p "$OTHER" <<<"$(alert Other critical firing 0)" >"$BATS_TEST_TMPDIR/all"
	for m in 1 2 3 59 60 61; do
		route "$m" -p "$OTHER" </dev/null >>"$BATS_TEST_TMPDIR/all"
	done
	output=$(cat "$BATS_TEST_TMPDIR/all")
	id=$(incident_id)
	assert_equal "$(jq -c 'select(.type == "page") | [.level, .channel, .to, .at, .dedup_key, .slack_channel, .create_channel]' <<<"$output")" \
	    "$(printf '%s\n' \
	    "[1,\"webhook\",[\"oncall\"],\"2026-11-27T10:00:00Z\",\"$id-L1-webhook\",null,null]" \
	    "[2,\"sms\",[\"lead\"],\"2026-11-27T10:02:00Z\",\"$id-L2-sms\",null,null]" \
	    "[2,\"sms\",[\"boss\"],\"2026-11-27T10:02:00Z\",\"$id-L2-sms-2\",null,null]" \
	    "[2,\"slack\",[\"oncall\",\"lead\",\"boss\"],\"2026-11-27T10:02:00Z\",\"$id-L2-slack\",\"#war-room-1000\",true]" \
	    "[3,\"email\",[\"boss\"],\"2026-11-27T11:00:00Z\",\"$id-L3-email\",null,null]")"
	assert_equal "$(jq -c 'select(.type == "task") | [.level, .action, .owner, .at]' <<<"$output")" \
	    "$(printf '%s\n' '[null,"Look at it","oncall","2026-11-27T10:01:00Z"]' \
	    '[null,"Look again","lead","2026-11-27T10:03:00Z"]' \
	    '[3,"Call the boss","lead","2026-11-27T11:00:00Z"]')"
}

@test "ESC_POLICY names the policy too; a warning level 1 can wait" {
	export ESC_POLICY=$OTHER
	run route 0 <<<"$(alert Other warning firing 0)"
	assert_equal "$(jq -r 'select(.type == "page")' <<<"$output")" ""
	run route 10 </dev/null
	assert_equal "$(jq -c 'select(.type == "page") | [.level, .channel, .mention, .slack_channel, .at]' <<<"$output")" \
	    '[1,"slack","here","#ops","2026-11-27T10:10:00Z"]'
	# Post-mortem rules: this policy wants one for warnings open 5 minutes.
	run route 12 <<<"$(event resolve alert Other-db1-warning 11)"
	assert_equal "$(jq -c 'select(.type == "postmortem") | [.resolved_at, .due_at]' <<<"$output")" \
	    '["2026-11-27T10:11:00Z","2026-11-28T10:11:00Z"]'
}

@test "key_ignore_labels: labels the policy names do not split an incident" {
	a1=$(alert Other critical firing 0 | jq -c '.labels.replica = "a"')
	a2=$(alert Other critical firing 0 | jq -c '.labels.replica = "b" | .id = "other-b"')
	run route 0 -p "$OTHER" <<<"$a1"$'\n'"$a2"
	assert_equal "$(jq -r 'select(.type == "incident") | .event' <<<"$output")" opened
	# With the shipped policy the replica label makes two incidents.
	ST=$BATS_TEST_TMPDIR/s2 run route 0 <<<"$a1"$'\n'"$a2"
	assert_equal "$(jq -r 'select(.type == "incident") | .event' <<<"$output")" "$(printf 'opened\nopened')"
}

@test "the policy's upgraded level lets an alert upgrade info to warning" {
	route 0 -p "$OTHER" <<<"$(alert Other info firing 0)" >/dev/null
	run route 1 -p "$OTHER" <<<"$(alert Other warning firing 1)"
	assert_equal "$(jq -c 'select(.type == "incident") | [.event, .severity, .at]' <<<"$output")" \
	    '["upgraded","warning","2026-11-27T10:01:00Z"]'
	run route 11 -p "$OTHER" </dev/null
	assert_equal "$(jq -c 'select(.type == "page") | [.severity, .level, .at]' <<<"$output")" \
	    '["warning",1,"2026-11-27T10:11:00Z"]'
}

@test "retain_resolved: resolved incidents are pruned from the state after the policy's time" {
	route 0 -p "$OTHER" <<<"$(alert Other critical firing 0)" >/dev/null
	route 1 -p "$OTHER" <<<"$(alert Other critical resolved 0 1)" >/dev/null
	# The incident, and the seed of the SMS codes.
	assert_equal "$(tail -1 "$ST")" "end 2"
	route 61 -p "$OTHER" </dev/null >/dev/null
	assert_equal "$(tail -1 "$ST")" "end 2"
	route 62 -p "$OTHER" </dev/null >/dev/null
	# What is left is the incident key's tombstone (esc-route(1)).
	assert_equal "$(tail -1 "$ST")" "end 2"
	assert_equal "$(grep -c '^tomb	' "$ST")" 1
}

@test "a bad policy is a configuration error" {
	echo '{"version": 2}' >"$BATS_TEST_TMPDIR/bad.json"
	run route 0 -p "$BATS_TEST_TMPDIR/bad.json" </dev/null
	assert_failure 2
	assert_output --partial "esc-route: $BATS_TEST_TMPDIR/bad.json: "
}

# pages_nobody SEVERITY FILTER: esc-route refuses the policy changed by
# the jq FILTER (written to $p): its SEVERITY path pages nobody.
pages_nobody() {
	jsonc "$POLICY" | jq "$2" > "$p"
	run route 0 -p "$p" </dev/null
	assert_failure 2
	assert_output "esc-route: $p: escalation.$1: pages nobody: no level sends a page (a $1 alert must reach someone)"
}

@test "a critical or warning path that pages nobody is a configuration error" {
	p="$BATS_TEST_TMPDIR/p.json"
	pages_nobody critical '.escalation.critical = []'
	# Levels with tasks alone page nobody either.
	pages_nobody critical '.escalation.critical |= map(del(.pages))'
	pages_nobody critical '.escalation.critical |= map(.pages = [])'
	# A warning path that only waits for an upgrade pages nobody until then.
	pages_nobody warning '.escalation.warning = [{"level": 1, "condition": "upgraded", "upgrade_to": "critical"}]'
	# Info may stay quiet (esc-policy(5)); the other tools refuse it too.
	jsonc "$POLICY" | jq '.escalation.info = []' > "$p"
	run route 0 -p "$p" </dev/null
	assert_success
	jsonc "$POLICY" | jq '.escalation.critical = []' > "$p"
	run esc-classify -p "$p" </dev/null
	assert_failure 2
	assert_output "esc-classify: $p: escalation.critical: pages nobody: no level sends a page (a critical alert must reach someone)"
}
