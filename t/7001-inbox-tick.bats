#!/usr/bin/env bats
# Acks come back through esc-tick: a real Alertmanager, simulated minutes
# (ESC_NOW, and the stand-in's clock set to it), PagerDuty's app and SMS
# replies played by the stand-in.

load test_helper
load alertmanager
load fixtures/notify/helper
bats_require_minimum_version 1.5.0

setup() {
	start_prov --pd-token t0ken --pd-user PBOB001:bob@example.com:Bob
	start_smtp
	export ESC_PD_API_TOKEN=t0ken
	channels '.pagerduty += {api_url: ("http://127.0.0.1:'"$PROV_PORT"'"),
	    api_token_env: "ESC_PD_API_TOKEN"} | .sms.replies = true'
	am_start
	export ESC_ALERTMANAGER_URL=$AM_URL
	export ESC_DIR=$BATS_TEST_TMPDIR/esc
	export ESC_ROSTER=$FIX/inbox/roster.json
	J=$ESC_DIR/journal.ndjson
	T0=$(date -u +%s)
	B=http://127.0.0.1:$PROV_PORT
}

teardown() {
	am_stop
	stop_servers
}

at() { date -u -d "@$((T0 + $1 * 60))" +%Y-%m-%dT%H:%M:%SZ; }
post() {
	am_post "[{\"labels\":{\"alertname\":\"StemeDBAPIDown\",\"severity\":\"critical\",\"instance\":\"api-1\",\"job\":\"stemedb\"},
	  \"annotations\":{\"summary\":\"API down\"},\"startsAt\":\"$(at 0)\",\"endsAt\":\"$(at $(($1 + 5)))\"}]"
}
ctl() { curl -sf -X POST --data "$2" "$B/_control/$1" >/dev/null; }
# tick MIN: the stand-in's clock and esc's agree.
tick() {
	ctl clock "{\"now\": \"$(at "$1")\"}"
	ESC_NOW=$(at "$1") esc-tick
}
# The pages made, as "minute level channel".
pages() {
	jq -r --argjson t0 "$T0" 'select(.type == "page" and .event != "resolve")
	    | "\(((.at | fromdateiso8601) - $t0) / 60 | floor) L\(.level) \(.channel)"' "$J" | sort -u
}

@test "acked in PagerDuty at minute 2: no level 2 at 5, level 3 at 15; resolved in PagerDuty at 20 resolves the incident" {
	for m in $(seq 0 20); do
		post "$m"
		if [ "$m" = 2 ]; then
			key=$(jq -r 'select(.type == "page" and .channel == "pagerduty" and .level == 1) | .dedup_key' "$J")
			ctl pagerduty/act '{"action": "acknowledge", "incident_key": "'"$key"'", "user": "PBOB001", "at": "'"$(at 2)"'", "channel": "mobile"}'
		fi
		if [ "$m" = 20 ]; then
			ctl pagerduty/act '{"action": "resolve", "incident_key": "'"$key"'", "user": "PBOB001", "at": "'"$(at 20)"'"}'
		fi
		run tick "$m"
		assert_success
	done
	inc=${key:0:16}
	assert_equal "$(jq -c 'select(.type == "incident" and .event == "acked") | [.incident, .by, .at]' "$J")" \
	    "[\"$inc\",\"bob\",\"$(at 2)\"]"
	run pages
	refute_line --regexp '^5 L2 '
	assert_line '15 L3 pagerduty'
	assert_equal "$(jq -c 'select(.type == "incident" and .event == "resolved") | [.by, .at]' "$J")" \
	    "[\"bob\",\"$(at 20)\"]"
	assert_equal "$(jq -c 'select(.type == "postmortem") | .resolved_at' "$J")" "\"$(at 20)\""
	# The all-clear on Slack.
	assert_equal "$(jq -c 'select(.type == "receipt" and .channel == "slack" and .event == "resolve") | .status' "$J" | sort -u)" '"delivered"'
	# The inbox's files are gone once the router took them.
	assert_equal "$(ls "$ESC_DIR/inbox/pending")" ''
}

@test "an SMS reply with the code from the primary's phone acks; from an unknown number it is rejected" {
	post 0
	run tick 0
	assert_success
	inc=$(jq -r 'select(.type == "incident" and .event == "opened") | .incident' "$J")
	code=$(esc-inbox code "$inc" | cut -d' ' -f2)
	P=$(esc-rotate --oncall --at "$(at 0)" | jq -r 'select(.role == "primary") | .person')
	phone=$(jq -r --arg p "$P" '.people[$p].phone' < <(grep -v '^ *//' "$ESC_ROSTER"))
	# The page said how to answer.
	jq -r 'select(.kind == "twilio") | .body' "$PROV_LOG" | grep -q "Reply%20$code%20to%20ack" ||
	    jq -r 'select(.kind == "twilio") | .body' "$PROV_LOG" | grep -q "Reply+$code+to+ack"
	ctl twilio/messages "{\"from\": \"+15559999\", \"to\": \"+15550100\", \"body\": \"$code\", \"at\": \"$(at 1)\"}"
	post 1
	run --separate-stderr tick 1
	assert_success
	[[ $stderr == *"esc-inbox: sms: "*" from +15559999 at "*": unknown number"* ]]
	assert_equal "$(jq -c 'select(.type == "rejected") | [.source, .reason, .from, .at]' "$J")" \
	    "[\"sms\",\"unknown number\",\"+15559999\",\"$(at 1)\"]"
	assert_equal "$(jq -c 'select(.type == "incident" and .event == "acked")' "$J")" ''
	ctl twilio/messages "{\"from\": \"+$(tr -dc 0-9 <<<"$phone")\", \"to\": \"+15550100\", \"body\": \"${code,,}\", \"at\": \"$(at 2)\"}"
	post 2
	run tick 2
	assert_success
	assert_equal "$(jq -c 'select(.type == "incident" and .event == "acked") | [.by, .at]' "$J")" \
	    "[\"$P\",\"$(at 2)\"]"
	for m in 3 4 5; do post "$m"; run tick "$m"; assert_success; done
	run pages
	refute_line --regexp '^5 L2 '
}

@test "PagerDuty and Twilio unreachable: the pages still escalate, the tick exits 1, no cursor moves" {
	channels '.pagerduty += {api_url: "http://127.0.0.1:1", api_token_env: "ESC_PD_API_TOKEN"} | .sms.replies = true'
	prov_ctl '{"mode": "500", "path": "/2010-04-01/"}'
	for m in 0 5; do
		post "$m"
		run --separate-stderr tick "$m"
		assert_failure 1
		[[ $stderr == *"esc-inbox: pagerduty: "*"its cursor stays"* ]]
		[[ $stderr == *"esc-inbox: sms: "*"HTTP 500"* ]]
	done
	run pages
	assert_line '0 L1 pagerduty'
	assert_line '5 L2 pagerduty'
	[ ! -e "$ESC_DIR/inbox/pagerduty.cursor" ]
	[ ! -e "$ESC_DIR/inbox/sms.cursor" ]
	assert_equal "$(jq -r 'select(.type == "heartbeat") | .ok' "$J" | sort -u)" false
}
