#!/usr/bin/env bats
# esc-notify and the files it shares with the other tools, against a
# hostile provider, channels file or neighbour: a secret echoed at the
# cut of an error, passwords in URLs, tokens over http://, a symlink
# where the state's temporary file goes, directories another user owns,
# sizes that overflow.

load test_helper
load fixtures/notify/helper
bats_require_minimum_version 1.5.0

# n x's.
xs() {
	printf 'x%.0s' $(seq 1 "$1")
}

needs_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root to give a file away"
}

@test "a provider's error is masked, then cut: no part of a secret straddling byte 200 shows" {
	page pagerduty >"$BATS_TEST_TMPDIR/in"
	# The routing key from byte 191 to 222 of the answer.
	prov_ctl "$(jq -cn --arg b "$(xs 190)R0UTINGKEYsekret0123456789abcdef tail" \
	    '{mode: "answer", status: 400, body: $b, path: "/v2/enqueue"}')"
	run --separate-stderr esc-notify "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	assert_equal "$(jq -r 'select(.type == "receipt") | .error' <<<"$output")" "HTTP 400: $(xs 190)*** tail"
	assert_equal "$stderr" "esc-notify: pagerduty inc-20261127-1000-abcd-L1-pagerduty trigger pagerduty: failed: HTTP 400: $(xs 190)*** tail"
	refute_output --partial R0UTINGKEY
	[[ $stderr != *R0UTINGKEY* ]]
	# What is left after masking is still cut to 200 bytes.
	prov_ctl '{"mode": "clear"}'
	prov_ctl "$(jq -cn --arg b "$(xs 250)R0UTINGKEYsekret0123456789abcdef" \
	    '{mode: "answer", status: 400, body: $b, path: "/v2/enqueue"}')"
	run --separate-stderr esc-notify "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	assert_equal "$(jq -r 'select(.type == "receipt") | .error' <<<"$output")" "HTTP 400: $(xs 200)"
}

@test "a Slack Web API error is masked, then cut: the bot token does not show in part" {
	page slack '.slack_channel = "#incident-2026-11-27-10-00" | .create_channel = true' >"$BATS_TEST_TMPDIR/in"
	prov_ctl "$(jq -cn --arg e "$(xs 240)xoxb-SEKRET-b0t-t0ken" \
	    '{mode: "answer", status: 200, ctype: "application/json",
	      body: ({ok: false, error: $e} | tojson), path: "/api/"}')"
	run --separate-stderr esc-notify "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	assert_equal "$(jq -r 'select(.type == "receipt") | .error' <<<"$output")" "slack: $(xs 200)"
	refute_output --partial xoxb-SEK
	[[ $stderr != *xoxb-SEK* ]]
}

@test "a password in a channel URL is masked in --dry-run, receipts and messages" {
	channels ".pagerduty.url = \"http://pduser:pdSEKRETpass@127.0.0.1:$PROV_PORT/v2/enqueue\"
	  | .email.url = \"smtps://mailer:smSEKRETpass@127.0.0.1:9\"
	  | .sms.url = \"http://smsuser:twSEKRETpass@127.0.0.1:$PROV_PORT/2010-04-01/Accounts/{account_sid}/Messages.json\""
	chmod 600 "$CH"
	{ page pagerduty; page email; page sms; } >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr esc-notify --verbose --dry-run "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_line "POST http://***@127.0.0.1:$PROV_PORT/v2/enqueue"
	assert_line "SMTP smtps://***@127.0.0.1:9"
	assert_line "POST http://***@127.0.0.1:$PROV_PORT/2010-04-01/Accounts/***/Messages.json"
	refute_output --partial SEKRETpass
	[[ $stderr != *SEKRETpass* ]]
	# A provider that echoes the credentials it was sent.
	prov_ctl '{"mode": "answer", "status": 401, "body": "no such user pduser:pdSEKRETpass", "path": "/v2/enqueue"}'
	page pagerduty >"$BATS_TEST_TMPDIR/one"
	run --separate-stderr esc-notify --verbose "$BATS_TEST_TMPDIR/one"
	assert_failure 1
	assert_equal "$(jq -r 'select(.type == "receipt") | .error' <<<"$output")" "HTTP 401: no such user ***"
	refute_output --partial SEKRETpass
	[[ $stderr != *SEKRETpass* ]]
}

@test "a channels file holding a plain webhook URL or a URL password must be owner-only" {
	channels ".webhook = {url: \"http://127.0.0.1:$PROV_PORT/hook/plainSEKRET\"}"
	chmod 644 "$CH"
	run esc-notify /dev/null
	assert_failure 2
	assert_output "esc-notify: $CH: webhook.url: a secret in a file readable by group or others (chmod 600)"
	chmod 600 "$CH"
	run esc-notify /dev/null
	assert_success
	for f in ".slack.webhooks[\"#stemedb-oncall\"] = {url: \"http://127.0.0.1:9/services/T/B/plainSEKRET\"}	slack.webhooks.#stemedb-oncall.url" \
	    '.pagerduty.url = "https://u:pw@events.example/v2/enqueue"	pagerduty.url' \
	    '.slack.api_url = "https://u:pw@slack.example/api"	slack.api_url' \
	    '.email.url = "smtps://u:pw@mail.example:465"	email.url' \
	    '.sms.url = "https://ACtokenAsUser@sms.example/x"	sms.url'; do
		channels "${f%	*}"
		chmod 640 "$CH"
		run esc-notify /dev/null
		assert_failure 2
		assert_output "esc-notify: $CH: ${f#*	}: a secret in a file readable by group or others (chmod 600)"
	done
	# Secrets from variables and files only: any mode will do.
	channels
	chmod 644 "$CH"
	run esc-notify /dev/null
	assert_success
}

@test "a channels file holding a secret and owned by another user is refused" {
	needs_root
	channels ".webhook = {url: \"http://127.0.0.1:$PROV_PORT/hook/plainSEKRET\"}"
	chmod 600 "$CH"
	chown nobody "$CH"
	run esc-notify /dev/null
	assert_failure 2
	assert_output "esc-notify: $CH: webhook.url: a secret in a file owned by uid $(id -u nobody), not by the user running esc-notify (uid 0)"
}

@test "the Twilio auth token and the Slack bot token go over http:// only to loopback" {
	refuses_channels '.sms.url = "http://api.twilio.example/2010-04-01/Accounts/{account_sid}/Messages.json"' \
	    "sms.url: an auth token over http:// needs https:// (or a loopback host)"
	# A scheme libcurl would guess as http://, a loopback address as user
	# name, a name that only starts like one.
	for u in http://slack.example/api HTTP://slack.example/api slack.example/api \
	    http://127.0.0.1@slack.example/api http://127.0.0.1.example/api \
	    http://localhost.example/api; do
		channels ".slack.api_url = \"$u\""
		chmod 600 "$CH"
		run esc-notify /dev/null
		assert_failure 2
		assert_output "esc-notify: $CH: slack.api_url: a bot token over http:// needs https:// (or a loopback host)"
	done
	for u in http://127.0.0.1:9/api http://127.8.9.10:9/api http://localhost:9/api \
	    http://LocalHost/api 'http://[::1]:9/api' https://slack.example/api; do
		channels ".slack.api_url = \"$u\""
		run esc-notify /dev/null
		assert_success
	done
	# Without a token there is nothing to leak.
	channels '.slack.api_url = "http://slack.example/api" | del(.slack.token_env)'
	run esc-notify /dev/null
	assert_success
}

@test "esc-route: a symlink where the state's temporary file goes redirects nothing" {
	st=$BATS_TEST_TMPDIR/state
	echo precious >"$BATS_TEST_TMPDIR/victim"
	jq -nc '{type: "alert", id: "a1", name: "StemeDBAPIDown", status: "firing",
	  severity: "critical", starts_at: "2026-11-27T10:00:00Z", ends_at: null,
	  labels: {alertname: "StemeDBAPIDown", instance: "db1", severity: "critical"},
	  annotations: {summary: "down"}, summary: "down", runbook: null,
	  hygiene: []}' >"$BATS_TEST_TMPDIR/alert"
	# The name the temporary file had: the state's, ".tmp." and the pid,
	# which exec keeps.
	run bash -c 'ln -s "$2" "$1.tmp.$$" && exec esc-route -s "$1" --now 2026-11-27T10:00:00Z "$3"' \
	    _ "$st" "$BATS_TEST_TMPDIR/victim" "$BATS_TEST_TMPDIR/alert"
	assert_success
	assert_equal "$(cat "$BATS_TEST_TMPDIR/victim")" precious
	[ -f "$st" ] && [ ! -L "$st" ]
	assert_equal "$(head -1 "$st")" 'esc-route-state 3'
	assert_equal "$(stat -c %a "$st")" 600
	# Nothing left but the planted link.
	assert_equal "$(find "$BATS_TEST_TMPDIR" -maxdepth 1 -name 'state.tmp*' -type f | wc -l)" 0
}

@test "a spool owned by another user is refused" {
	needs_root
	mkdir -m 700 "$SP"
	chown nobody "$SP"
	page webhook >"$BATS_TEST_TMPDIR/in"
	run esc-notify --spool "$SP" "$BATS_TEST_TMPDIR/in"
	assert_failure 2
	assert_output "esc-notify: $SP: spool owned by uid $(id -u nobody), not by the user running esc-notify (uid 0)"
	assert_equal "$(wc -l <"$PROV_LOG")" 0
}

@test "esc-tick and esc-deliver refuse an ESC_DIR owned by another user" {
	needs_root
	export ESC_DIR=$BATS_TEST_TMPDIR/esc ESC_ALERTMANAGER_URL=http://127.0.0.1:1
	export ESC_ROSTER=$ESC_SRC/share/esc/roster.example.json
	mkdir -m 700 "$ESC_DIR" "$ESC_DIR/pending"
	# What the other user planted for delivery.
	page webhook >"$ESC_DIR/pending/planted.ndjson"
	chown nobody "$ESC_DIR"
	for t in esc-tick esc-deliver; do
		run "$t"
		assert_failure 2
		assert_output "$t: $ESC_DIR: owned by uid $(id -u nobody), not by the user running $t (uid 0)"
	done
	# A pending directory given away in a directory of ours.
	chown "$(id -u)" "$ESC_DIR"
	chown nobody "$ESC_DIR/pending"
	run esc-deliver
	assert_failure 2
	assert_output "esc-deliver: $ESC_DIR/pending: owned by uid $(id -u nobody), not by the user running esc-deliver (uid 0)"
	assert_equal "$(wc -l <"$PROV_LOG")" 0
}

@test "--max-line: a size that overflows or passes 1G is a usage error" {
	echo '{"name":"A"}' >"$BATS_TEST_TMPDIR/a"
	for s in 18446744073709551615 18446744073709551616 17179869184G 1025M 1073741825; do
		run esc-classify --now 2026-11-27T10:00:00Z --max-line "$s" "$BATS_TEST_TMPDIR/a"
		assert_failure 2
		assert_line --index 0 "esc-classify: --max-line: not a size from 1 to 1G: $s"
	done
	run esc-classify --now 2026-11-27T10:00:00Z --max-line 1G "$BATS_TEST_TMPDIR/a"
	assert_success
	run esc-notify --max-line 18446744073709551615 /dev/null
	assert_failure 2
	assert_output "esc-notify: --max-line: not a size from 1 to 1G: 18446744073709551615"
}
