#!/usr/bin/env bats
# esc-notify's budget per run (--deadline, the channels file's
# timeouts.deadline): no provider holds the run.  A mail server that
# refuses connections, one that accepts and never answers, and a slow
# one: the run ends within its budget and a few seconds, the other
# channels' pages are delivered, the mail waits in the spool (said once
# per channel, not once per page) and goes out once the server is back,
# or is dead after its retry window, never before and never lost.

load test_helper
load fixtures/notify/helper
bats_require_minimum_version 1.5.0

setup() {
	notify_setup
	# A mail server nobody runs yet: connections are refused.
	SMTP_PORT=$(free_port)
	channels '.retry = {"max_time": "10m", "base": "200ms", "max_delay": "1s"}'
	MAILDIR=$BATS_TEST_TMPDIR/mail
}

teardown() {
	reap ${BAD_PID:-}
	stop_servers
}

# The tick's pages: one critical to every channel; the e-mail to alice
# and bob.
pages() {
	local ch
	for ch in pagerduty slack sms; do
		page "$ch"
	done
	page email ".recipients = [$ALICE, $BOB]"
}

# bad_smtp MODE [SECS]: the misbehaving mail server on $SMTP_PORT.
bad_smtp() {
	"$PY" "$ESC_SRC/t/fixtures/notify/badsmtp.py" "$SMTP_PORT" "$@" &
	BAD_PID=$!
	wait_port "$SMTP_PORT"
}

# The real server, on the port esc-notify was told of.
smtp_back() {
	reap ${BAD_PID:-}
	BAD_PID=
	mkdir -p "$MAILDIR/cur" "$MAILDIR/new" "$MAILDIR/tmp"
	"$PY" -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" \
	    -c aiosmtpd.handlers.Mailbox "$MAILDIR" 2>"$BATS_TEST_TMPDIR/smtp.err" &
	SMTP_PID=$!
	wait_port "$SMTP_PORT"
}

# receipts: channel and status of each receipt of the last run.
receipts() {
	jq -c 'select(.type == "receipt") | [.channel, .recipient, .status]' <<<"$output"
}

# The run's receipts for the channels that work, whatever the mail does.
assert_others_delivered() {
	run receipts
	assert_output - <<-'OUT'
	["pagerduty","pagerduty","delivered"]
	["slack","#stemedb-alerts-critical","delivered"]
	["sms","+15550111","delivered"]
	OUT
}

# Runs esc-notify with a budget of 3 s on the pages, spooled; checks it
# ended within the budget and a few seconds.
run_budget() {
	pages >"$BATS_TEST_TMPDIR/in"
	SECONDS=0
	run --separate-stderr esc-notify --deadline 3 --spool "$SP" --now 2026-11-27T10:00:30Z "$BATS_TEST_TMPDIR/in"
	echo "ended after ${SECONDS}s" >&3
	[ "$SECONDS" -le 6 ]
}

# The mail, back: the next run (no new input) delivers it once.
mail_later() {
	smtp_back
	run --separate-stderr esc-notify --deadline 20 --spool "$SP" --now 2026-11-27T10:05:00Z /dev/null
	assert_success
	assert_equal "$stderr" ""
	run receipts
	assert_output - <<-'OUT'
	["email","alice@example.com","delivered"]
	["email","bob@example.com","delivered"]
	OUT
	[ "$(ls "$MAILDIR/new" | wc -l)" -eq 2 ]
	# And not again.
	run --separate-stderr esc-notify --spool "$SP" /dev/null
	assert_success
	assert_output ""
	[ "$(ls "$MAILDIR/new" | wc -l)" -eq 2 ]
}

@test "mail server refusing connections: the run ends with its budget, the rest delivered, said once, mail delivered later" {
	run_budget
	assert_failure 1
	assert_equal "$stderr" "esc-notify: email: 2 deliveries failed: Couldn't connect to server; left in the spool for the next run"
	assert_others_delivered
	[ "$(ls "$SP/new" | wc -l)" -eq 2 ]
	mail_later
}

@test "mail server that accepts and never answers: the transfer is cut at the budget, the mail waits" {
	bad_smtp hang
	run_budget
	assert_failure 1
	assert_equal "$stderr" "esc-notify: email: 2 deliveries failed: Timeout was reached; left in the spool for the next run"
	assert_others_delivered
	[ "$(ls "$SP/new" | wc -l)" -eq 2 ]
	mail_later
}

@test "a slow mail server: cut at the budget, then delivered by a run with time for it" {
	bad_smtp slow 1
	# libcurl's connect phase takes in the greeting and EHLO: 2 s here.
	channels '.retry = {"max_time": "10m"} | .timeouts = {"connect": "10s", "transfer": "20s"}'
	run_budget
	assert_failure 1
	assert_others_delivered
	[ "$(ls "$SP/new" | wc -l)" -eq 2 ]
	# The slow server takes them, given the time (about 7 s each).
	run --separate-stderr esc-notify --deadline 30 --spool "$SP" --now 2026-11-27T10:01:30Z /dev/null
	assert_success
	run receipts
	assert_output - <<-'OUT'
	["email","alice@example.com","delivered"]
	["email","bob@example.com","delivered"]
	OUT
	[ "$(ls "$SP/new" | wc -l)" -eq 0 ]
}

@test "the retry window runs from the first spooling: never dead before it, dead after it" {
	run_budget
	assert_failure 1
	# 9 minutes later, still within the 10: still waiting.
	run --separate-stderr esc-notify --deadline 2 --spool "$SP" --now 2026-11-27T10:09:30Z /dev/null
	assert_failure 1
	assert_output ""
	assert_equal "$stderr" "esc-notify: email: 2 deliveries failed: Couldn't connect to server; left in the spool for the next run"
	# Past it: dead, each with its receipt.
	run --separate-stderr esc-notify --deadline 2 --spool "$SP" --now 2026-11-27T10:10:31Z /dev/null
	assert_failure 1
	run jq -c 'select(.type == "receipt") | [.recipient, .status, .error]' <<<"$output"
	assert_output - <<-'OUT'
	["alice@example.com","dead","Couldn't connect to server"]
	["bob@example.com","dead","Couldn't connect to server"]
	OUT
	[ "$(ls "$SP/new" | wc -l)" -eq 0 ]
	[ "$(ls "$SP/dead" | wc -l)" -eq 2 ]
}

@test "without a spool, what the budget left undone is a failed receipt, not lost" {
	pages >"$BATS_TEST_TMPDIR/in"
	SECONDS=0
	run --separate-stderr esc-notify --deadline 2 "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	[ "$SECONDS" -le 5 ]
	run jq -c 'select(.type == "receipt" and .channel == "email") | [.recipient, .status, .error]' <<<"$output"
	assert_output - <<-'OUT'
	["alice@example.com","failed","not delivered before the run's deadline: Couldn't connect to server"]
	["bob@example.com","failed","not delivered before the run's deadline: Couldn't connect to server"]
	OUT
	[[ $stderr == "esc-notify: email: 2 deliveries failed: Couldn't connect to server; not delivered (no spool to keep them)"* ]]
}

@test "the channels file's timeouts.deadline is the budget; --deadline overrides it; bad values exit 2" {
	channels '.retry = {"max_time": "10m"} | .timeouts.deadline = "2s"'
	pages >"$BATS_TEST_TMPDIR/in"
	SECONDS=0
	run --separate-stderr esc-notify --spool "$SP" "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	[ "$SECONDS" -le 5 ]
	[ "$(ls "$SP/new" | wc -l)" -eq 2 ]
	run esc-notify --deadline soon /dev/null
	assert_failure 2
	assert_output 'esc-notify: --deadline: not a duration ("60", "90s", "2m"): soon'
	refuses_channels '.timeouts.deadline = "soon"' 'timeouts.deadline: bad duration ("500ms", "2s", "10m")'
}
