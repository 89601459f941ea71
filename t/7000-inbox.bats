#!/usr/bin/env bats
# esc-inbox poll against the provider stand-in: PagerDuty's log entries
# and Twilio's list of replies become ack, resolve, note and rejected
# records; cursors; pagination, 429, failures and exit statuses.

load test_helper
load fixtures/notify/helper
bats_require_minimum_version 1.5.0

T=2026-11-27T10:00:00Z

setup() {
	start_prov --pd-token t0ken --pd-user PBOB001:bob@example.com:Bob \
	    --pd-user PXTERN1:xena@example.com:Xena --pd-user PCAROLX:carol@example.com:Carol \
	    --now "$T" --twilio-sid "$ESC_TWILIO_SID" --twilio-token "$ESC_TWILIO_TOKEN"
	export ESC_PD_API_TOKEN=t0ken
	inbox_channels
	export ESC_DIR=$BATS_TEST_TMPDIR/esc
	export ESC_ROSTER=$FIX/inbox/roster.json
	mkdir -p "$ESC_DIR"
	# An open incident: the example alerts routed at 10:00.
	esc-classify --now "$T" "$ESC_SRC/share/esc/examples/alerts.ndjson" |
	    esc-route -s "$ESC_DIR/state.json" --now "$T" > "$BATS_TEST_TMPDIR/pages"
	KEY=$(jq -r 'select(.type == "page" and .alertname == "StemeDBAPIDown" and .channel == "pagerduty") | .dedup_key' "$BATS_TEST_TMPDIR/pages")
	INC=${KEY:0:16}
	CODE=$(esc-inbox code "$INC" | cut -d' ' -f2)
	B=http://127.0.0.1:$PROV_PORT
}

teardown() {
	stop_servers
}

# The channels file with PagerDuty's REST API and SMS replies read.
inbox_channels() {
	channels '.pagerduty += {api_url: ("http://127.0.0.1:'"$PROV_PORT"'"),
	    api_token_env: "ESC_PD_API_TOKEN"} | .sms.replies = true'
}

ctl() { curl -sf -X POST --data "$2" "$B/_control/$1" >/dev/null; }
event() { # event ACTION DEDUP_KEY
	curl -sf -X POST --data "{\"routing_key\": \"k\", \"event_action\": \"$1\",
	    \"dedup_key\": \"$2\", \"payload\": {\"summary\": \"API down\",
	    \"source\": \"api-1\", \"severity\": \"critical\"}}" "$B/v2/enqueue" >/dev/null
}
sms() { # sms FROM BODY AT
	ctl twilio/messages "{\"from\": \"$1\", \"to\": \"+15550100\", \"body\": \"$2\", \"at\": \"$3\"}"
}

@test "esc-inbox code: four characters, none ambiguous, never R; the SMS page says how to answer" {
	run esc-inbox code "$INC" 0000000000000001
	assert_success
	assert_line --index 0 --regexp "^$INC [34679ACDEFGHJKMNPQTUVWXY]{4}$"
	assert_line --index 1 --regexp '^0000000000000001 [34679ACDEFGHJKMNPQTUVWXY]{4}$'
	jq -c 'select(.type == "page" and .channel == "pagerduty" and .level == 1) | .channel = "sms" | .reply_code = "'"$CODE"'" | .recipients = [{"role":"primary","person":"bob","phone":"+1-555-0102"}]' \
	    "$BATS_TEST_TMPDIR/pages" | head -n 1 > "$BATS_TEST_TMPDIR/sms"
	run --separate-stderr esc-notify --now "$T" "$BATS_TEST_TMPDIR/sms"
	assert_success
	body=$(jq -r 'select(.kind == "twilio") | .body' "$PROV_LOG" | "$PY" -c 'import sys, urllib.parse; print(urllib.parse.parse_qs(sys.stdin.read())["Body"][0])')
	assert_equal "$(printf %s "$body" | wc -m)" "$(printf %s "${body:0:160}" | wc -m)"
	[[ $body == *"Reply $CODE to ack, ${CODE}R to resolve"* ]]
}

@test "sms: the code from a roster phone acks, code+R resolves; an unknown number or code is rejected and said" {
	sms +15550102 " ${CODE,,} " 2026-11-27T10:01:00Z
	sms +15550199 "$CODE" 2026-11-27T10:02:00Z
	sms +15550103 "HELLO" 2026-11-27T10:03:00Z
	sms +15550103 "${CODE}R" 2026-11-27T10:04:00Z
	run --separate-stderr esc-inbox --now 2026-11-27T10:05:00Z poll
	assert_success
	assert_equal "$(jq -c 'del(.sms_sid)' <<<"$output")" "$(cat <<OUT
{"type":"ack","incident":"$INC","by":"bob","at":"2026-11-27T10:01:00Z","source":"sms","from":"+15550102"}
{"type":"rejected","at":"2026-11-27T10:02:00Z","source":"sms","reason":"unknown number","from":"+15550199"}
{"type":"rejected","at":"2026-11-27T10:03:00Z","source":"sms","reason":"not the code of an open incident","from":"+15550103"}
{"type":"resolve","incident":"$INC","by":"carol","at":"2026-11-27T10:04:00Z","source":"sms","from":"+15550103"}
OUT
)"
	assert_equal "$(jq -r .sms_sid <<<"${lines[0]}")" SM00000000000000000000000000000001
	assert_equal "$(sort <<<"$stderr")" "esc-inbox: sms: SM00000000000000000000000000000002 from +15550199 at Fri, 27 Nov 2026 10:02:00 +0000: unknown number
esc-inbox: sms: SM00000000000000000000000000000003 from +15550103 at Fri, 27 Nov 2026 10:03:00 +0000: not the code of an open incident"
	# The cursor moved: nothing is read twice; what is new is read.
	assert_equal "$(stat -c %a "$ESC_DIR/inbox/sms.cursor")" 600
	run --separate-stderr esc-inbox --now 2026-11-27T10:06:00Z poll
	assert_success
	assert_output ''
	sms +15550101 "$CODE" 2026-11-27T10:06:00Z
	run --separate-stderr esc-inbox --now 2026-11-27T10:07:00Z poll
	assert_equal "$(jq -c '[.type, .by, .at]' <<<"$output")" '["ack","alice","2026-11-27T10:06:00Z"]'
	# esc-route takes the records; a second ack changes nothing.
	run --separate-stderr esc-route -s "$ESC_DIR/state.json" --now 2026-11-27T10:07:00Z < <(echo "$output"; echo "$output")
	assert_success
	assert_equal "$(jq -c 'select(.type == "incident" and .event == "acked") | .by' <<<"$output")" '"alice"'
}

@test "pagerduty: a user's ack, note and resolve of an esc page; the Events API's own and foreign incidents ignored" {
	event trigger "$KEY"
	event trigger not-an-esc-key
	ctl pagerduty/act '{"action": "acknowledge", "incident_key": "'"$KEY"'", "user": "PBOB001", "at": "2026-11-27T10:02:00Z", "channel": "mobile"}'
	ctl pagerduty/act '{"action": "acknowledge", "incident_key": "not-an-esc-key", "user": "PBOB001", "at": "2026-11-27T10:02:00Z"}'
	ctl pagerduty/act '{"action": "note", "incident_key": "'"$KEY"'", "user": "PXTERN1", "at": "2026-11-27T10:03:00Z", "note": "looking"}'
	ctl pagerduty/act '{"action": "resolve", "incident_key": "'"$KEY"'", "user": "PCAROLX", "at": "2026-11-27T10:20:00Z"}'
	event trigger "$KEY"
	event resolve "$KEY"
	run --separate-stderr esc-inbox --now 2026-11-27T10:21:00Z poll
	assert_success
	assert_equal "$(jq -c 'del(.pagerduty_log_entry)' <<<"$output")" "$(cat <<OUT
{"type":"ack","incident":"$INC","by":"bob","at":"2026-11-27T10:02:00Z","source":"pagerduty","pagerduty_incident":"P000001"}
{"type":"note","incident":"$INC","by":"Xena","at":"2026-11-27T10:03:00Z","source":"pagerduty","pagerduty_incident":"P000001","note":"looking"}
{"type":"resolve","incident":"$INC","by":"carol","at":"2026-11-27T10:20:00Z","source":"pagerduty","pagerduty_incident":"P000001"}
OUT
)"
	# The requests carry the token and the version; the cursor moved.
	assert_equal "$(jq -sc 'map(select(.kind == "pagerduty_rest") | .headers.Authorization) | unique' "$PROV_LOG")" '["Token token=t0ken"]'
	assert_equal "$(jq -c .at "$ESC_DIR/inbox/pagerduty.cursor")" '"2026-11-27T10:20:00Z"'
	run --separate-stderr esc-inbox --now 2026-11-27T10:22:00Z poll
	assert_success
	assert_output ''
}

@test "pagerduty: every page of log entries is read, and a 429 is waited out" {
	for i in $(seq 1 105); do event trigger "other-$i"; done
	ctl pagerduty/act '{"action": "acknowledge", "incident_key": "other-1", "user": "PBOB001", "at": "2026-11-27T10:01:00Z"}'
	event trigger "$KEY"
	ctl pagerduty/act '{"action": "acknowledge", "incident_key": "'"$KEY"'", "user": "PBOB001", "at": "2026-11-27T09:59:00Z"}'
	prov_ctl '{"mode": "429", "count": 1, "path": "/log_entries", "reset": 1}'
	run --separate-stderr esc-inbox --now 2026-11-27T10:05:00Z poll
	assert_success
	assert_equal "$(jq -c '[.type, .by, .at]' <<<"$output")" '["ack","bob","2026-11-27T09:59:00Z"]'
	assert_equal "$(jq -sc 'map(select(.kind == "pagerduty_rest" and (.path | startswith("/log_entries"))) | [.status, (.path | capture("offset=(?<o>[0-9]+)").o)])' "$PROV_LOG")" \
	    '[[429,"0"],[200,"0"],[200,"100"]]'
}

@test "unreachable providers: what could be read is written, exit 1, no cursor of theirs moves" {
	sms +15550102 "$CODE" 2026-11-27T10:01:00Z
	channels '.pagerduty += {api_url: "http://127.0.0.1:1", api_token_env: "ESC_PD_API_TOKEN"} | .sms.replies = true'
	run --separate-stderr esc-inbox --now 2026-11-27T10:05:00Z poll
	assert_failure 1
	assert_equal "$(jq -c '[.type, .by]' <<<"$output")" '["ack","bob"]'
	[[ $stderr == *'esc-inbox: pagerduty: http://127.0.0.1:1/log_entries?since='*'&offset=0: Couldn'"'"'t connect to server; its cursor stays'* ]]
	[ ! -e "$ESC_DIR/inbox/pagerduty.cursor" ]
	[ -e "$ESC_DIR/inbox/sms.cursor" ]
	inbox_channels
	prov_ctl '{"mode": "500", "path": "/2010-04-01/"}'
	sms +15550102 "$CODE" 2026-11-27T10:06:00Z
	cp "$ESC_DIR/inbox/sms.cursor" "$BATS_TEST_TMPDIR/before"
	run --separate-stderr esc-inbox --verbose --now 2026-11-27T10:07:00Z poll
	assert_failure 1
	[[ $stderr == *'esc-inbox: sms: http://127.0.0.1:'*'/Accounts/***/Messages.json?To=%2B15550100&DateSent%3E=2026-11-27&PageSize=100: HTTP 500: {"code": 20500'* ]]
	for s in $SECRETS t0ken; do [[ $stderr$output != *$s* ]]; done
	cmp "$ESC_DIR/inbox/sms.cursor" "$BATS_TEST_TMPDIR/before"
	# A full output moves no cursor either.
	prov_ctl '{"mode": "clear"}'
	run --separate-stderr bash -c 'esc-inbox --now 2026-11-27T10:07:00Z poll > /dev/full'
	assert_failure 1
	cmp "$ESC_DIR/inbox/sms.cursor" "$BATS_TEST_TMPDIR/before"
}

@test "esc-inbox: usage and configuration errors are exit 2; nothing configured is nothing read" {
	run esc-inbox
	assert_failure 2
	assert_line --index 0 'usage: esc-inbox [-c channels] [-r roster] [-d dir] [-s state] [-o file | --pending] [--deadline seconds] [--now time] poll'
	run esc-inbox fetch
	assert_failure 2
	run esc-inbox --bogus poll
	assert_failure 2
	run esc-inbox -c "$BATS_TEST_TMPDIR/none.json" poll
	assert_failure 2
	assert_output --partial "none.json"
	run esc-inbox -r "$BATS_TEST_TMPDIR/none.json" poll
	assert_failure 2
	channels '.sms.replies = "yes"'
	run esc-inbox poll
	assert_failure 2
	assert_output "esc-inbox: $CH: sms.replies: true or false"
	# SMS replies are read by default; "replies": false turns them off.
	channels '.sms.replies = false'
	run --separate-stderr esc-inbox -r /nonexistent poll
	assert_success
	assert_output ''
	assert_equal "$(jq -sc 'map(.kind)' "$PROV_LOG")" '[]'
}

@test "pagerduty: at most 20 look-ups a poll; the cursor stops before the first entry not read, and the next poll goes on from it" {
	# 25 incidents the Events API opened: each ack needs a look-up of
	# the incident's alerts to tell whether it is esc's.
	for i in $(seq 1 25); do event trigger "other-$i"; done
	event trigger "$KEY"
	for i in $(seq 1 25); do
		ctl pagerduty/act '{"action": "acknowledge", "incident_key": "other-'"$i"'", "user": "PBOB001", "at": "2026-11-27T10:01:'"$(printf %02d "$i")"'Z"}'
	done
	ctl pagerduty/act '{"action": "acknowledge", "incident_key": "'"$KEY"'", "user": "PBOB001", "at": "2026-11-27T10:02:00Z"}'
	run --separate-stderr esc-inbox --now 2026-11-27T10:05:00Z poll
	assert_success
	assert_output ''
	[[ $stderr == "esc-inbox: pagerduty: 20 look-ups in this poll, the most one makes: the rest wait for the next ("*" entries read, 6 left)" ]]
	# The 20th ack read is the cursor's.
	assert_equal "$(jq -c .at "$ESC_DIR/inbox/pagerduty.cursor")" '"2026-11-27T10:01:20Z"'
	assert_equal "$(jq -s 'map(select(.kind == "pagerduty_rest" and (.path | test("/alerts")))) | length' "$PROV_LOG")" 20
	run --separate-stderr esc-inbox --now 2026-11-27T10:06:00Z poll
	assert_success
	assert_equal "$stderr" ''
	assert_equal "$(jq -c '[.type, .incident, .by, .at]' <<<"$output")" "[\"ack\",\"$INC\",\"bob\",\"2026-11-27T10:02:00Z\"]"
	assert_equal "$(jq -s 'map(select(.kind == "pagerduty_rest" and (.path | test("/alerts")))) | length' "$PROV_LOG")" 26
}

@test "pagerduty answering after 25 s: the poll ends by its --deadline, Twilio's replies are still read, PagerDuty's cursor stays" {
	sms +15550102 "$CODE" 2026-11-27T10:01:00Z
	event trigger "$KEY"
	ctl pagerduty/act '{"action": "acknowledge", "incident_key": "'"$KEY"'", "user": "PBOB001", "at": "2026-11-27T10:02:00Z"}'
	prov_ctl '{"mode": "slow", "latency_ms": 25000, "path": "/log_entries"}'
	t=$SECONDS
	run --separate-stderr esc-inbox --deadline 4 --now 2026-11-27T10:05:00Z poll
	t=$((SECONDS - t))
	assert_failure 1
	# The deadline, with room for a loaded machine: never the 25 s.
	[ "$t" -lt 15 ]
	assert_equal "$(jq -c '[.type, .by, .source]' <<<"$output")" '["ack","bob","sms"]'
	[[ $stderr == 'esc-inbox: pagerduty: http://127.0.0.1:'*'/log_entries?since='*"&offset=0: the poll's deadline has passed; its cursor stays" ]]
	[ ! -e "$ESC_DIR/inbox/pagerduty.cursor" ]
	[ -e "$ESC_DIR/inbox/sms.cursor" ]
	run esc-inbox --deadline 0 poll
	assert_failure 2
	assert_output 'esc-inbox: --deadline: not a number of seconds from 1 to 3600: 0'
}

@test "pagerduty's look-ups answering after 25 s: the entries read before the deadline are kept and the cursor covers them alone" {
	for i in 1 2; do event trigger "other-$i"; done
	event trigger "$KEY"
	ctl pagerduty/act '{"action": "acknowledge", "incident_key": "'"$KEY"'", "user": "PBOB001", "at": "2026-11-27T10:01:00Z"}'
	ctl pagerduty/act '{"action": "acknowledge", "incident_key": "other-1", "user": "PBOB001", "at": "2026-11-27T10:02:00Z"}'
	ctl pagerduty/act '{"action": "acknowledge", "incident_key": "other-2", "user": "PBOB001", "at": "2026-11-27T10:03:00Z"}'
	# The look-up of esc's incident answers at once, the others' after
	# 25 s.
	for k in other-1 other-2; do
		id=$(curl -sf -H 'Authorization: Token token=t0ken' \
		    -H 'Accept: application/vnd.pagerduty+json;version=2' \
		    "$B/incidents?incident_key=$k" | jq -r '.incidents[0].id')
		prov_ctl '{"mode": "slow", "latency_ms": 25000, "path": "/incidents/'"$id"'"}'
	done
	run --separate-stderr esc-inbox --deadline 4 --now 2026-11-27T10:05:00Z poll
	assert_failure 1
	assert_equal "$(jq -c '[.type, .incident, .at]' <<<"$output")" "[\"ack\",\"$INC\",\"2026-11-27T10:01:00Z\"]"
	[[ $stderr == *"the poll's deadline has passed; its cursor moves over what was read" ]]
	assert_equal "$(jq -c .at "$ESC_DIR/inbox/pagerduty.cursor")" '"2026-11-27T10:01:00Z"'
}

@test "poll: a channel with no credentials is not polled, said once (not each tick), and is no failure" {
	unset ESC_TWILIO_SID
	run --separate-stderr esc-inbox --now "$T" poll
	assert_success
	assert_equal "$stderr" "esc-inbox: sms: not polled: ESC_TWILIO_SID is not set (said once; $ESC_DIR/inbox/unpolled.sms)"
	run --separate-stderr esc-inbox --now "$T" poll
	assert_success
	assert_equal "$stderr" ""
	# The credentials back: polled again, and a later loss said again.
	export ESC_TWILIO_SID=AC5ekretSID0000000000000000000
	run --separate-stderr esc-inbox --now "$T" poll
	assert_success
	[ ! -e "$ESC_DIR/inbox/unpolled.sms" ]
}

@test "poll --pending on files: the records in a synced file of inbox/pending/ named by time, the cursor moved; not with -o" {
	sms +15550102 "$CODE" 2026-11-27T10:01:00Z
	run --separate-stderr esc-inbox --now 2026-11-27T10:03:00Z --pending poll
	assert_success
	assert_output ''
	run ls "$ESC_DIR/inbox/pending"
	assert_output --regexp '^20261127T100300Z\.[0-9]+\.poll\.ndjson$'
	assert_equal "$(jq -r '"\(.type) \(.incident) \(.by)"' "$ESC_DIR/inbox/pending/$output")" "ack $INC bob"
	[ "$(stat -c %a "$ESC_DIR/inbox/pending/$output")" = 600 ]
	grep -q '"at":"2026-11-27T10:01:00Z"' "$ESC_DIR/inbox/sms.cursor"
	# Nothing new: no file.
	run --separate-stderr esc-inbox --now 2026-11-27T10:04:00Z --pending poll
	assert_success
	assert_equal "$(ls "$ESC_DIR/inbox/pending" | wc -l)" 1
	run --separate-stderr esc-inbox -o "$BATS_TEST_TMPDIR/out" --pending poll
	assert_failure 2
	assert_equal "$stderr" "esc-inbox: -o and --pending: one or the other"
}
