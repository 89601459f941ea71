#!/usr/bin/env bats
# PagerDuty rest mode (REST API v2: incidents assigned to the page's own
# people) and the mirror of acks made outside PagerDuty (issue 12).

load test_helper
load fixtures/notify/helper
bats_require_minimum_version 1.5.0

export ESC_PAGERDUTY_API_TOKEN=pdAPIt0kenSEKRET
T0=1795773600		# 2026-11-27T10:00:00Z, a Friday

tm() { date -u -d "@$((T0 + $1 * 60))" +%Y-%m-%dT%H:%M:%SZ; }

setup() {
	local u users=()
	# Everybody of the test roster but dana has a PagerDuty user.
	for u in $(jq -r '.people | to_entries[] | select(.value.pagerduty) |
	    "\(.value.pagerduty):\(.value.email)"' "$FIX/notify/roster-pd.json"); do
		users+=(--pd-user "$u")
	done
	start_prov --pd-token "$ESC_PAGERDUTY_API_TOKEN" \
	    --pd-user PESCBOT:esc-bot@example.com "${users[@]}" \
	    --now "$(tm 0)"
	rest_channels
	export ESC_ROSTER=$FIX/notify/roster-pd.json
	ST=$BATS_TEST_TMPDIR/state
	SP=$BATS_TEST_TMPDIR/spool
}

teardown() {
	stop_servers
}

rest_channels() {
	channels ".pagerduty += {mode: \"rest\",
	    api_url: \"http://127.0.0.1:$PROV_PORT\",
	    api_token_env: \"ESC_PAGERDUTY_API_TOKEN\",
	    from: \"esc-bot@example.com\", service: \"PSTEMED\"}"
}

# The critical alert firing since minute 0.
alert() {
	jq -nc --arg at "$(tm 0)" '{type: "alert", id: "apidown-api1",
	  name: "StemeDBAPIDown", status: "firing", severity: "critical",
	  starts_at: $at, labels: {alertname: "StemeDBAPIDown",
	  instance: "api-1:8080", severity: "critical"},
	  annotations: {summary: "StemeDB API is down"},
	  summary: "StemeDB API is down", runbook: null, hygiene: []}'
}

# tick MIN [records]: esc-route | esc-rotate | esc-notify at minute MIN on
# the alert (and the records of $2), only the PagerDuty pages; the journal
# part to $BATS_TEST_TMPDIR/out.
tick() {
	local now
	now=$(tm "$1")
	{ alert; [ -z "${2:-}" ] || printf '%s\n' "$2"; } |
	    esc-route -s "$ST" --now "$now" |
	    jq -c 'select(.type != "page" or .channel == "pagerduty")' |
	    esc-rotate --now "$now" |
	    esc-notify --spool "$SP" --now "$now" >"$BATS_TEST_TMPDIR/out" \
	    2>"$BATS_TEST_TMPDIR/err" || TICK_RC=$?
}

# The PagerDuty REST requests (method path) seen.
rest_calls() {
	jq -r 'select(.kind == "pagerduty_rest") | "\(.method) \(.path) \(.status)"' "$PROV_LOG"
}

state() {
	curl -sf "http://127.0.0.1:$PROV_PORT/_state"
}

@test "pagerduty rest: level 2 creates an incident assigned to exactly that week's backup and manager" {
	tick 0
	tick 5
	P=$(esc-rotate --oncall --at "$(tm 0)" | jq -r 'select(.role == "primary") | .person')
	B=$(esc-rotate --oncall --at "$(tm 5)" | jq -r 'select(.role == "backup") | .person')
	M=$(esc-rotate --oncall --at "$(tm 5)" | jq -r 'select(.role == "manager") | .person')
	want=$(jq -c --arg b "$B" --arg m "$M" '[.people[$b].pagerduty, .people[$m].pagerduty] | sort' "$ESC_ROSTER")
	run jq -c 'select(.kind == "pagerduty_rest" and .method == "POST") | .body | fromjson | .incident |
	    [.incident_key, ([.assignments[].assignee.id] | sort), .urgency, .service, .type, .body.type]' "$PROV_LOG"
	assert_line --index 0 --partial "-L1-pagerduty\",[\"$(jq -r --arg p "$P" '.people[$p].pagerduty' "$ESC_ROSTER")\"],\"high\""
	assert_line --index 1 "[\"$(jq -r 'select(.type == "page" and .level == 2) | .dedup_key' "$BATS_TEST_TMPDIR/out")\",$want,\"high\",{\"id\":\"PSTEMED\",\"type\":\"service_reference\"},\"incident\",\"incident_body\"]"
	assert_equal "${#lines[@]}" 2
	# The headers PagerDuty requires; the stand-in made the incidents.
	run jq -r 'select(.kind == "pagerduty_rest") | .headers | [.From, .Authorization, .Accept] | @tsv' "$PROV_LOG"
	assert_line --index 1 "$(printf 'esc-bot@example.com\tToken token=pdAPIt0kenSEKRET\tapplication/vnd.pagerduty+json;version=2')"
	run jq -c '[.pagerduty.incidents[] | [.status, .assigned_via, ([.assignments[].assignee.id] | sort)]]' <<<"$(state)"
	assert_output "[[\"triggered\",\"direct_assignment\",[\"$(jq -r --arg p "$P" '.people[$p].pagerduty' "$ESC_ROSTER")\"]],[\"triggered\",\"direct_assignment\",$want]]"
	run jq -c 'select(.type == "receipt" and .channel == "pagerduty") | [.channel, .recipient, .status, .http_status]' "$BATS_TEST_TMPDIR/out"
	assert_output '["pagerduty","pagerduty","delivered",201]'
	# No token anywhere esc wrote.
	run grep -r pdAPIt0kenSEKRET "$BATS_TEST_TMPDIR/out" "$SP"
	assert_failure
}

@test "pagerduty rest: a recipient without a pagerduty id fails by name, the others are paged" {
	# Level 3 goes to the director (dana, who has no PagerDuty user), the
	# SRE lead and the product lead.
	tick 0
	TICK_RC=0
	tick 15
	assert_equal "$TICK_RC" 1
	run jq -c 'select(.type == "receipt" and (.dedup_key | endswith("-L3-pagerduty"))) | [.recipient, .status, .error]' "$BATS_TEST_TMPDIR/out"
	assert_line '["dana","failed","no \"pagerduty\" id in the roster for dana"]'
	assert_line '["pagerduty","delivered",null]'
	assert_equal "${#lines[@]}" 2
	run jq -c 'select(.kind == "pagerduty_rest" and .method == "POST") | .body | fromjson | .incident | select(.incident_key | endswith("-L3-pagerduty")) | [.assignments[].assignee.id] | sort' "$PROV_LOG"
	assert_output '["PERIN01","PIVAN01"]'
}

@test "pagerduty rest: a retry after a duplicate incident_key counts as delivered" {
	page pagerduty '.recipients[0].pagerduty = "PALICE01"' >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr esc-notify "$BATS_TEST_TMPDIR/in"
	assert_success
	# A second run without the spool (a crash after the POST): PagerDuty
	# refuses the key, which is esc's own incident.
	run --separate-stderr esc-notify "$BATS_TEST_TMPDIR/in"
	assert_success
	run jq -c 'select(.type == "receipt") | [.status, .http_status, .error]' <<<"$output"
	assert_output '["delivered",400,null]'
	run rest_calls
	assert_output "POST /incidents 201
POST /incidents 400"
	run jq '.pagerduty.incidents | length' <<<"$(state)"
	assert_output 1
}

@test "pagerduty rest: PagerDuty's error words go into the receipt; 429 waits for ratelimit-reset" {
	page pagerduty '.recipients[0].pagerduty = "PNOBODY"' >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr esc-notify "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	run jq -c 'select(.type == "receipt") | [.status, .http_status, .error]' <<<"$output"
	assert_output '["failed",400,"HTTP 400: Invalid Input Provided (2001): Assignee PNOBODY not found"]'
	prov_ctl '{"mode": "429", "count": 1, "reset": 1}'
	page pagerduty '.recipients[0].pagerduty = "PALICE01"' >"$BATS_TEST_TMPDIR/in"
	start=$(date +%s%N)
	run --separate-stderr esc-notify "$BATS_TEST_TMPDIR/in"
	assert_success
	assert [ $(( ($(date +%s%N) - start) / 1000000 )) -ge 900 ]
	run jq -c 'select(.type == "receipt") | [.status, .attempts, .http_status]' <<<"$output"
	assert_output '["delivered",2,201]'
}

@test "pagerduty rest: a resolve closes every open PagerDuty incident of the key" {
	tick 0
	tick 5
	tick 7 "$(jq -nc --arg at "$(tm 7)" '{type: "resolve", alert: "apidown-api1", by: "alice", at: $at}')"
	# Each key: find its open incidents, then close them.
	run rest_calls
	assert_line --regexp '^GET /incidents\?incident_key=[0-9a-f]{16}-L1-pagerduty&statuses%5B%5D=triggered&statuses%5B%5D=acknowledged&limit=100 200$'
	assert_line --regexp '^GET /incidents\?incident_key=[0-9a-f]{16}-L2-pagerduty&statuses%5B%5D=triggered&statuses%5B%5D=acknowledged&limit=100 200$'
	assert_equal "$(grep -c '^PUT /incidents 200$' <<<"$output")" 2
	assert_equal "${#lines[@]}" 6
	run jq -c '[.pagerduty.incidents[] | .status]' <<<"$(state)"
	assert_output '["resolved","resolved"]'
	run jq -c 'select(.kind == "pagerduty_rest" and .method == "PUT") | .body | fromjson | .incidents[] | [.type, .status]' "$PROV_LOG"
	assert_output '["incident_reference","resolved"]
["incident_reference","resolved"]'
	run jq -c 'select(.type == "receipt") | [.event, .status, .attempts]' "$BATS_TEST_TMPDIR/out"
	assert_output '["resolve","delivered",2]
["resolve","delivered",2]'
}

@test "pagerduty rest: --dry-run prints the request, the token masked" {
	page pagerduty '.recipients[0].pagerduty = "PALICE01"' >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr esc-notify --dry-run "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_line "POST http://127.0.0.1:$PROV_PORT/incidents"
	assert_line 'Authorization: Token token=***'
	assert_line 'From: esc-bot@example.com'
	assert_line 'Accept: application/vnd.pagerduty+json;version=2'
	refute_output --partial pdAPIt0kenSEKRET
	run jq -s length "$PROV_LOG"
	assert_output 0
}

# ack MIN [jq object to add]: an ack of the incident at minute MIN, through
# esc-route, esc-rotate and esc-notify; esc-route's records to
# $BATS_TEST_TMPDIR/routed, the rest to $BATS_TEST_TMPDIR/out.
ack_through() {
	local now id
	now=$(tm "$1")
	id=$(jq -r 'select(.type == "incident") | .incident' "$BATS_TEST_TMPDIR/first" | head -1)
	jq -nc --arg id "$id" --arg at "$now" --argjson more "${2:-{\}}" \
	    '{type: "ack", incident: $id, by: "alice", at: $at} + $more' |
	    esc-route -s "$ST" --now "$now" >"$BATS_TEST_TMPDIR/routed"
	esc-rotate --now "$now" <"$BATS_TEST_TMPDIR/routed" |
	    esc-notify --spool "$SP" --now "$now" >"$BATS_TEST_TMPDIR/out"
}

@test "mirror: esc-ack makes esc-route emit an acknowledge page; PagerDuty (events mode) gets event_action acknowledge" {
	channels
	tick 0
	cp "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/first"
	key=$(jq -r 'select(.type == "page" and .channel == "pagerduty") | .dedup_key' "$BATS_TEST_TMPDIR/first")
	id=$(jq -r 'select(.type == "incident") | .incident' "$BATS_TEST_TMPDIR/first")
	# esc-ack writes the ack with no source: a person at the shell.
	run --separate-stderr esc-ack "$id" --by alice -s "$ST" --now "$(tm 2)"
	assert_success
	routed=$output
	run jq -c 'select(.type == "page") | [.event, .channel, .dedup_key, .level, .subject]' <<<"$routed"
	assert_output "[\"acknowledge\",\"pagerduty\",\"$key\",1,\"[ACKNOWLEDGED] StemeDBAPIDown: StemeDB API is down\"]"
	printf '%s\n' "$routed" | esc-rotate --now "$(tm 2)" |
	    esc-notify --spool "$SP" --now "$(tm 2)" >"$BATS_TEST_TMPDIR/out"
	run jq -c 'select(.kind == "pagerduty") | .body | fromjson | [.event_action, .dedup_key, .routing_key, .payload]' "$PROV_LOG"
	assert_line --index 1 "[\"acknowledge\",\"$key\",\"$ESC_PAGERDUTY_ROUTING_KEY\",null]"
	assert_equal "${#lines[@]}" 2
	run jq -c '[.pagerduty.incidents[] | .status]' <<<"$(state)"
	assert_output '["acknowledged"]'
	run jq -c 'select(.type == "receipt" and .channel == "pagerduty") | [.event, .dedup_key, .recipient, .status]' "$BATS_TEST_TMPDIR/out"
	assert_output "[\"acknowledge\",\"$key\",\"pagerduty\",\"delivered\"]"
}

@test "mirror: an ack read from PagerDuty (source pagerduty) is not sent back; one from SMS is" {
	channels
	tick 0
	cp "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/first"
	ack_through 2 '{"source": "pagerduty"}'
	run jq -c 'select(.type == "incident") | .event' "$BATS_TEST_TMPDIR/routed"
	assert_output '"acked"'
	run jq -c 'select(.type == "page")' "$BATS_TEST_TMPDIR/routed"
	assert_output ''
	run jq -s '[.[] | select(.kind == "pagerduty")] | length' "$PROV_LOG"
	assert_output 1
}

@test "mirror: an SMS ack goes to PagerDuty; a second ack sends nothing more" {
	channels
	tick 0
	cp "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/first"
	ack_through 2 '{"source": "sms"}'
	run jq -c 'select(.type == "page") | .event' "$BATS_TEST_TMPDIR/routed"
	assert_output '"acknowledge"'
	ack_through 3
	run jq -c 'select(.type == "page")' "$BATS_TEST_TMPDIR/routed"
	assert_output ''
	run jq -c 'select(.kind == "pagerduty") | .body | fromjson | .event_action' "$PROV_LOG"
	assert_output '"trigger"
"acknowledge"'
}

@test "mirror: in rest mode an ack is PUT acknowledged on the key's triggered incidents" {
	tick 0
	cp "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/first"
	tick 5
	ack_through 6
	run jq -c 'select(.type == "page") | [.event, .level]' "$BATS_TEST_TMPDIR/routed"
	assert_output '["acknowledge",1]
["acknowledge",2]'
	run rest_calls
	assert_line --regexp '^GET /incidents\?incident_key=[0-9a-f]{16}-L2-pagerduty&statuses%5B%5D=triggered&limit=100 200$'
	assert_equal "$(grep -c '^PUT /incidents 200$' <<<"$output")" 2
	run jq -c 'select(.kind == "pagerduty_rest" and .method == "PUT") | [.headers.From, (.body | fromjson | .incidents[] | .status)]' "$PROV_LOG"
	assert_output '["esc-bot@example.com","acknowledged"]
["esc-bot@example.com","acknowledged"]'
	run jq -c '[.pagerduty.incidents[] | [.status, .acknowledgements[0].acknowledger.id]]' <<<"$(state)"
	assert_output '[["acknowledged","PESCBOT"],["acknowledged","PESCBOT"]]'
	run jq -c 'select(.type == "receipt") | [.event, .status, .attempts]' "$BATS_TEST_TMPDIR/out"
	assert_output '["acknowledge","delivered",2]
["acknowledge","delivered",2]'
}

@test "an acknowledge page for a channel other than pagerduty fails, saying so" {
	channels
	deliver slack '.event = "acknowledge"'
	assert_failure 1
	run jq -c 'select(.type == "receipt") | [.event, .status, .error]' <<<"$output"
	assert_output '["acknowledge","failed","slack: takes no acknowledge event (only pagerduty does)"]'
	run jq -s length "$PROV_LOG"
	assert_output 0
}

@test "pagerduty rest: a page without recipients is left to the service's escalation policy" {
	page pagerduty 'del(.recipients)' >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr esc-notify "$BATS_TEST_TMPDIR/in"
	assert_success
	run jq -c 'select(.kind == "pagerduty_rest") | .body | fromjson | .incident | [.incident_key, has("assignments")]' "$PROV_LOG"
	assert_output '["inc-20261127-1000-abcd-L1-pagerduty",false]'
	run jq -c '[.pagerduty.incidents[] | .assigned_via]' <<<"$(state)"
	assert_output '["escalation_policy"]'
}
