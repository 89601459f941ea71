#!/usr/bin/env bats
# esc-notify: Slack pages carry "Acknowledge" and "Resolve" buttons when a
# signing secret lets esc-inbox serve verify the clicks (issue 13).

load test_helper
load fixtures/notify/helper
bats_require_minimum_version 1.5.0

ID=0123456789abcdef
export ESC_SLACK_SIGNING_SECRET=s1gn1ngSEKRET0123456789abcdef

# The blocks of each Slack message the stand-in received, one line each.
blocks() {
	jq -c '.body | fromjson | .blocks' "$PROV_LOG"
}

@test "slack buttons: a page of an esc incident has two buttons whose value is the incident id" {
	channels '.slack.signing_secret_env = "ESC_SLACK_SIGNING_SECRET"'
	deliver slack ".incident = \"$ID\" | .mention = \"none\""
	assert_success
	assert_equal "$(jq -r 'select(.type == "receipt") | .status' <<<"$output")" delivered
	run blocks
	assert_output '[{"type":"section","text":{"type":"mrkdwn","text":"*[CRITICAL] StemeDBAPIDown: StemeDB API is down*\nIncident 0123456789abcdef, level 1, to primary (Alice Ng)\nRunbook: <https://docs.stemedb.com/operations/runbooks/StemeDBAPIDown|runbook>"}},{"type":"actions","elements":[{"type":"button","text":{"type":"plain_text","text":"Acknowledge"},"action_id":"esc_ack","value":"0123456789abcdef","style":"primary"},{"type":"button","text":{"type":"plain_text","text":"Resolve"},"action_id":"esc_resolve","value":"0123456789abcdef","style":"danger"}]}]'
	# The secret is for verifying, never sent nor shown.
	refute_output --partial s1gn1ngSEKRET
	refute_line --partial s1gn1ngSEKRET <<<"$stderr"
	run grep -c s1gn1ngSEKRET "$PROV_LOG"
	assert_output 0
}

@test "slack buttons: without a signing secret the same page has no buttons" {
	deliver slack ".incident = \"$ID\" | .mention = \"none\""
	assert_success
	run blocks
	assert_output '[{"type":"section","text":{"type":"mrkdwn","text":"*[CRITICAL] StemeDBAPIDown: StemeDB API is down*\nIncident 0123456789abcdef, level 1, to primary (Alice Ng)\nRunbook: <https://docs.stemedb.com/operations/runbooks/StemeDBAPIDown|runbook>"}}]'
}

@test "slack buttons: signing_secret_env naming an unset variable: no buttons, the page still goes" {
	unset ESC_SLACK_SIGNING_SECRET
	channels '.slack.signing_secret_env = "ESC_SLACK_SIGNING_SECRET"'
	deliver slack ".incident = \"$ID\""
	assert_success
	assert_equal "$(jq -r 'select(.type == "receipt") | .status' <<<"$output")" delivered
	assert_equal "$(blocks | jq -c 'map(.type)')" '["section"]'
}

@test "slack buttons: signing_secret_file is read like the other secrets" {
	printf '%s\n' "$ESC_SLACK_SIGNING_SECRET" >"$BATS_TEST_TMPDIR/sig"
	chmod 600 "$BATS_TEST_TMPDIR/sig"
	channels ".slack.signing_secret_file = \"$BATS_TEST_TMPDIR/sig\""
	deliver slack ".incident = \"$ID\""
	assert_success
	assert_equal "$(blocks | jq -c 'map(.type)')" '["section","actions"]'
}

@test "slack buttons: none on a resolve page, a task or a page without an esc incident id" {
	channels '.slack.signing_secret_env = "ESC_SLACK_SIGNING_SECRET"'
	{ page slack ".incident = \"$ID\" | .event = \"resolve\" | .dedup_key += \"-r\""
	  page slack ".incident = \"$ID\" | .type = \"task\" | .action = \"restart api\" | .owner = \"primary\" | .dedup_key += \"-t\""
	  page slack '.dedup_key += "-x"'; } >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr esc-notify "$BATS_TEST_TMPDIR/in"
	assert_success
	run sh -c "jq -c '.body | fromjson | .blocks | map(.type)' '$PROV_LOG' | sort | uniq -c"
	assert_output '      3 ["section"]'
}

@test "slack buttons: a page posted to an incident channel with the bot token has them too" {
	channels '.slack.signing_secret_env = "ESC_SLACK_SIGNING_SECRET"'
	deliver slack ".incident = \"$ID\" | .slack_channel = \"#incident-2026-11-27-10-00\" | .create_channel = true"
	assert_success
	: >"$PROV_LOG"
	deliver slack ".incident = \"$ID\" | .slack_channel = \"#incident-2026-11-27-10-00\" | .level = 2 | .dedup_key += \"-2\""
	assert_success
	run jq -c '[.path, (.body | fromjson | .blocks | map(.type)), (.body | fromjson | .blocks[1].elements | map(.action_id + "=" + .value))]' "$PROV_LOG"
	assert_output '["/api/chat.postMessage",["section","actions"],["esc_ack=0123456789abcdef","esc_resolve=0123456789abcdef"]]'
}

@test "slack buttons: signing_secret (plain) is not a key of the slack section" {
	refuses_channels '.slack.signing_secret = "x"' 'slack.signing_secret: unknown key'
}
