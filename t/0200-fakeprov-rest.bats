#!/usr/bin/env bats
# The provider stand-in itself (t/fakeprov.py): PagerDuty's REST API v2
# (incidents, log entries, users), fed by its Events API v2 too, and
# Twilio's Messages list, as t/fakeprov.md describes them.

load test_helper
load fixtures/notify/helper
bats_require_minimum_version 1.5.0

setup() {
	# Python and curl only: under make check SANITIZE=1 the same test
	# again, no sanitized program in it.
	[ "${SANITIZE:-}" != 1 ] || skip "no program of esc runs here: nothing to sanitize"
	start_prov --pd-token t0ken --pd-read-token r3ad \
	    --pd-user PBOB001:bob@example.com:Bob --pd-user PESC001:esc@example.com:esc \
	    --now 2026-11-27T10:00:00Z --twilio-sid "$ESC_TWILIO_SID" --twilio-token "$ESC_TWILIO_TOKEN"
	B=http://127.0.0.1:$PROV_PORT
}

teardown() {
	stop_servers
}

# curl to the REST API with the documented headers; -w adds the status.
pd() {
	curl -s -H 'Authorization: Token token=t0ken' \
	    -H 'Accept: application/vnd.pagerduty+json;version=2' "$@"
}
pdw() {
	pd -H 'From: esc@example.com' -H 'Content-Type: application/json' "$@"
}
ctl() { # ctl PATH JSON
	curl -s -X POST --data "$2" "$B/_control/$1"
}
event() { # event ACTION DEDUP_KEY
	curl -s -X POST --data "{\"routing_key\": \"k\", \"event_action\": \"$1\",
	    \"dedup_key\": \"$2\", \"payload\": {\"summary\": \"API down\",
	    \"source\": \"api-1\", \"severity\": \"critical\"}}" "$B/v2/enqueue" >/dev/null
}
create() { # create KEY [ASSIGNEE...]
	local k=$1
	shift
	pdw --data "$(jq -cn --arg k "$k" '{incident: {type: "incident",
	    title: "StemeDB API is down", incident_key: $k, urgency: "high",
	    service: {id: "PSTEMED", type: "service_reference"},
	    body: {type: "incident_body", details: "runbook"},
	    assignments: ($ARGS.positional | map({assignee: {id: ., type: "user_reference"}}))}}' \
	    --args "$@")" -w '\n%{http_code}' "$B/incidents"
}

@test "events: a trigger opens an incident REST sees by its dedup key, with no incident_key of its own" {
	event trigger inc-a-L1-pagerduty
	event trigger inc-a-L1-pagerduty
	run pd "$B/incidents?incident_key=inc-a-L1-pagerduty"
	assert_equal "$(jq -c '.incidents | map([.incident_number, .status, .incident_key, .created_at, .assigned_via, .service.id])' <<<"$output")" \
	    '[[1,"triggered",null,"2026-11-27T10:00:00Z","escalation_policy","PSTEMED"]]'
	id=$(jq -r '.incidents[0].id' <<<"$output")
	run pd "$B/incidents/$id/alerts"
	assert_equal "$(jq -c '.alerts | map([.alert_key, .status, .incident.id == "'"$id"'"])' <<<"$output")" \
	    '[["inc-a-L1-pagerduty","triggered",true]]'
	ctl clock '{"now": "2026-11-27T10:01:00Z"}'
	event acknowledge inc-a-L1-pagerduty
	run pd "$B/incidents/$id"
	assert_equal "$(jq -c '.incident | [.status, .last_status_change_at, .acknowledgements[0].acknowledger.type, .last_status_change_by.id]' <<<"$output")" \
	    '["acknowledged","2026-11-27T10:01:00Z","service_reference","PSTEMED"]'
	event resolve inc-a-L1-pagerduty
	event trigger inc-a-L1-pagerduty
	run pd "$B/incidents?incident_key=inc-a-L1-pagerduty"
	assert_equal "$(jq -c '.incidents | map([.incident_number, .status, .resolved_at, .acknowledgements])' <<<"$output")" \
	    '[[1,"resolved","2026-11-27T10:01:00Z",[]],[2,"triggered",null,[]]]'
}

@test "control: a user acks and resolves at given times; log entries and users say who and when" {
	event trigger inc-b-L1-pagerduty
	run ctl pagerduty/act '{"action": "acknowledge", "incident_key": "inc-b-L1-pagerduty",
	    "user": "PBOB001", "at": "2026-11-27T10:02:00Z", "channel": "mobile"}'
	assert_equal "$(jq -c '[.ok, (.incidents | length)]' <<<"$output")" '[true,1]'
	run pd "$B/incidents?statuses[]=acknowledged"
	assert_equal "$(jq -c '.incidents[0] | [.status, .acknowledgements[0].at, .acknowledgements[0].acknowledger, .last_status_change_by.id]' <<<"$output")" \
	    '["acknowledged","2026-11-27T10:02:00Z",{"id":"PBOB001","type":"user_reference","summary":"Bob","self":"'"$B"'/users/PBOB001","html_url":"https://fakeprov.pagerduty.com/users/PBOB001"},"PBOB001"]'
	ctl pagerduty/act '{"action": "note", "incident_key": "inc-b-L1-pagerduty", "user": "PBOB001",
	    "at": "2026-11-27T10:03:00Z", "note": "looking"}' >/dev/null
	ctl pagerduty/act '{"action": "resolve", "incident_key": "inc-b-L1-pagerduty", "user": "PBOB001",
	    "at": "2026-11-27T10:20:00Z"}' >/dev/null
	run pd "$B/log_entries?since=2026-11-27T10:01:00Z&include[]=incidents"
	assert_equal "$(jq -c '[.more, (.log_entries[] | [.type, .created_at, .agent.id, .agent.type, .channel.type, .incident.alert_counts.all])]' <<<"$output")" \
	    '[false,["resolve_log_entry","2026-11-27T10:20:00Z","PBOB001","user_reference","website",1],["annotate_log_entry","2026-11-27T10:03:00Z","PBOB001","user_reference","note",1],["acknowledge_log_entry","2026-11-27T10:02:00Z","PBOB001","user_reference","mobile",1]]'
	id=$(jq -r '.log_entries[0].incident.id' <<<"$output")
	run pd "$B/incidents/$id/log_entries?is_overview=true"
	assert_equal "$(jq -c '[.log_entries[].type]' <<<"$output")" \
	    '["resolve_log_entry","annotate_log_entry","acknowledge_log_entry","trigger_log_entry"]'
	run pd "$B/incidents/$id/notes"
	assert_equal "$(jq -c '.notes | map([.content, .user.id, .created_at])' <<<"$output")" '[["looking","PBOB001","2026-11-27T10:03:00Z"]]'
	run pd "$B/users/PBOB001"
	assert_equal "$(jq -c '.user | [.id, .type, .email, .name]' <<<"$output")" '["PBOB001","user","bob@example.com","Bob"]'
	run pd "$B/users?query=bob@"
	assert_equal "$(jq -c '[.users[].id]' <<<"$output")" '["PBOB001"]'
	# The stand-in refuses what a test got wrong.
	run ctl pagerduty/act '{"action": "acknowledge", "incident_key": "inc-b-L1-pagerduty", "user": "PBOB001"}'
	assert_output '{"error": "no such open incident"}'
	run ctl pagerduty/act '{"action": "acknowledge", "incident": "'"$id"'", "user": "PNOBODY"}'
	assert_output '{"error": "no such user: PNOBODY"}'
}

@test "POST /incidents: assigned to the users named, 201; the documented refusals" {
	run create inc-c-L2-pagerduty PBOB001 PESC001
	assert_equal "${lines[1]}" 201
	assert_equal "$(jq -c '.incident | [.incident_key, .status, .urgency, .assigned_via, [.assignments[].assignee.id], .service.id, .title]' <<<"${lines[0]}")" \
	    '["inc-c-L2-pagerduty","triggered","high","direct_assignment",["PBOB001","PESC001"],"PSTEMED","StemeDB API is down"]'
	run create inc-c-L2-pagerduty PBOB001
	assert_equal "${lines[1]}" 400
	assert_equal "${lines[0]}" '{"error": {"message": "Arguments Caused Error", "code": 2002, "errors": ["Open incident with matching dedup key already exists on this service"]}}'
	run create inc-c-L3-pagerduty PNOBODY
	assert_equal "${lines[0]}" '{"error": {"message": "Invalid Input Provided", "code": 2001, "errors": ["Assignee PNOBODY not found"]}}'
	body='{"incident": {"type": "incident", "title": "t", "service": {"id": "PSTEMED", "type": "service_reference"}}}'
	run pd -H 'Content-Type: application/json' --data "$body" -w ' %{http_code}' "$B/incidents"
	assert_output '{"error": {"message": "You must specify a user'"'"'s email address in the \"From\" header to perform this action", "code": 2016}} 400'
	run pd -H 'Content-Type: application/json' -H 'From: nobody@example.com' --data "$body" -w ' %{http_code}' "$B/incidents"
	assert_output '{"error": {"message": "Requester User Not Found", "code": 1008, "errors": []}} 400'
	run pd -H 'From: esc@example.com' --data "$body" -w ' %{http_code}' "$B/incidents"
	assert_output '{"error": {"message": "Invalid Input Provided", "code": 2001, "errors": ["params must be a Hash"]}} 400'
	run curl -s -H 'Authorization: Token token=r3ad' -H 'Accept: application/vnd.pagerduty+json;version=2' \
	    -H 'From: esc@example.com' -H 'Content-Type: application/json' --data "$body" -w ' %{http_code}' "$B/incidents"
	assert_output '{"error": {"message": "Access Denied", "code": 2010}} 403'
	run curl -s -H 'Authorization: Token token=wrong' -H 'Accept: application/vnd.pagerduty+json;version=2' -w ' %{http_code}' "$B/incidents"
	assert_output '{"error": {"message": "Authentication Failed", "code": 2006}} 401'
	run curl -s -H 'Authorization: Token token=t0ken' -w ' %{http_code}' "$B/incidents"
	assert_output '{"error": {"message": "Invalid Input Provided", "code": 2001, "errors": ["Accept must be application/vnd.pagerduty+json;version=2"]}} 400'
	run pd -w ' %{http_code}' "$B/incidents/PNOSUCH"
	assert_output '{"error": {"message": "Not Found", "code": 2100}} 404'
	# The read-only token reads.
	run curl -s -H 'Authorization: Token token=r3ad' -H 'Accept: application/vnd.pagerduty+json;version=2' "$B/incidents"
	assert_equal "$(jq -c '[.incidents[].incident_key]' <<<"$output")" '["inc-c-L2-pagerduty"]'
}

@test "PUT /incidents/{id} and PUT /incidents: acknowledge and resolve as the From user" {
	create inc-d-L1-pagerduty PBOB001 >/dev/null
	create inc-d-L2-pagerduty PBOB001 >/dev/null
	run pd "$B/incidents"
	mapfile -t ids < <(jq -r '.incidents[].id' <<<"$output")
	ctl clock '{"now": "2026-11-27T10:04:00Z"}'
	run pdw -X PUT --data '{"incident": {"type": "incident_reference", "status": "acknowledged"}}' "$B/incidents/${ids[0]}"
	assert_equal "$(jq -c '.incident | [.status, .acknowledgements[0].acknowledger.id, .acknowledgements[0].at]' <<<"$output")" \
	    '["acknowledged","PESC001","2026-11-27T10:04:00Z"]'
	run pdw -X PUT --data "$(jq -cn --arg a "${ids[0]}" --arg b "${ids[1]}" '{incidents: [
	    {id: $a, type: "incident_reference", status: "resolved", resolution: "fixed"},
	    {id: $b, type: "incident_reference", status: "resolved"}]}')" "$B/incidents"
	assert_equal "$(jq -c '[.incidents[] | [.status, .resolved_at, .assignments]]' <<<"$output")" \
	    '[["resolved","2026-11-27T10:04:00Z",[]],["resolved","2026-11-27T10:04:00Z",[]]]'
	run pd "$B/incidents/${ids[0]}/log_entries"
	assert_equal "$(jq -c '.log_entries[0] | [.type, .agent.id, .note, .channel.type]' <<<"$output")" '["resolve_log_entry","PESC001","fixed","api"]'
	run pd -X PUT -H 'Content-Type: application/json' --data '{"incident": {"type": "incident_reference", "status": "acknowledged"}}' \
	    -w ' %{http_code}' "$B/incidents/${ids[0]}"
	assert_output --partial '"code": 2016}} 400'
	run pdw -X PUT --data '{"incidents": [{"id": "PNOSUCH", "type": "incident_reference", "status": "resolved"}]}' -w ' %{http_code}' "$B/incidents"
	assert_output '{"error": {"message": "Not Found", "code": 2100}} 404'
	# A bulk update with one bad item changes nothing.
	run pdw -X PUT --data "$(jq -cn --arg a "${ids[0]}" --arg b "${ids[1]}" '{incidents: [
	    {id: $a, type: "incident_reference", status: "triggered"},
	    {id: $b, type: "incident_reference", status: "open"}]}')" -w ' %{http_code}' "$B/incidents"
	assert_output --partial '"code": 2001, "errors": ["status must be acknowledged, resolved or triggered"]}} 400'
	# Acknowledging a resolved incident reopens it, as documented.
	run pdw -X PUT --data '{"incident": {"type": "incident", "status": "acknowledged"}}' "$B/incidents/${ids[0]}"
	assert_equal "$(jq -c '.incident | [.status, .resolved_at]' <<<"$output")" '["acknowledged",null]'
	run pd "$B/incidents/${ids[1]}"
	assert_equal "$(jq -r '.incident.status' <<<"$output")" resolved
}

@test "pagination: limit, offset, more, total; limit at most 100; offset+limit at most 10000" {
	for i in 1 2 3 4 5; do
		event trigger "inc-e$i-L1-pagerduty"
	done
	run pd "$B/incidents?limit=2&offset=0&total=true"
	assert_equal "$(jq -c '[.limit, .offset, .more, .total, [.incidents[].incident_number]]' <<<"$output")" '[2,0,true,5,[1,2]]'
	run pd "$B/incidents?limit=2&offset=4"
	assert_equal "$(jq -c '[.limit, .offset, .more, .total, [.incidents[].incident_number]]' <<<"$output")" '[2,4,false,null,[5]]'
	run pd "$B/incidents?limit=1000&sort_by=incident_number:desc"
	assert_equal "$(jq -c '[.limit, [.incidents[].incident_number]]' <<<"$output")" '[100,[5,4,3,2,1]]'
	run pd "$B/log_entries?limit=2&offset=2&total=true"
	assert_equal "$(jq -c '[.limit, .offset, .more, .total, (.log_entries | length)]' <<<"$output")" '[2,2,true,5,2]'
	run pd -w ' %{http_code}' "$B/incidents?limit=100&offset=9901"
	assert_output '{"error": {"message": "Arguments Caused Error", "code": 2001, "errors": ["Offset+limit exceeds maximum allowed value of 10000. Please try to refine your search to reduce the returned set of records below this number, like adding a date range."]}} 400'
	run pd -w ' %{http_code}' "$B/incidents?statuses[]=open"
	assert_output '{"error": {"message": "Invalid Input Provided", "code": 2001, "errors": ["Status must be a list of triggered, acknowledged, or resolved."]}} 400'
}

@test "dates: since and until on created_at, the 30-day default, date_range=all, time_zone" {
	ctl clock '{"now": "2026-10-01T08:00:00Z"}'
	event trigger inc-old-L1-pagerduty
	ctl clock '{"now": "2026-11-27T10:00:00Z"}'
	event trigger inc-new-L1-pagerduty
	run pd "$B/incidents"
	assert_equal "$(jq -c '[.incidents[].incident_number]' <<<"$output")" '[2]'
	run pd "$B/incidents?date_range=all"
	assert_equal "$(jq -c '[.incidents[].incident_number]' <<<"$output")" '[1,2]'
	run pd "$B/incidents?since=2026-09-30T00:00:00Z&until=2026-10-02"
	assert_equal "$(jq -c '[.incidents[].incident_number]' <<<"$output")" '[1]'
	run pd "$B/incidents?since=2026-11-27T10:00:00Z&time_zone=America/New_York"
	assert_equal "$(jq -c '[.incidents[].created_at]' <<<"$output")" '["2026-11-27T05:00:00-05:00"]'
	run pd -w ' %{http_code}' "$B/incidents?since=2026-01-01T00:00:00Z&until=2026-11-27T00:00:00Z"
	assert_output '{"error": {"message": "Invalid Query Date Range", "code": 2005}} 400'
	run pd -w ' %{http_code}' "$B/log_entries?since=yesterday"
	assert_output '{"error": {"message": "Invalid '"'"'since'"'"' or '"'"'until'"'"' Parameter Values", "code": 2004}} 400'
}

@test "rate limit: a scripted 429 with PagerDuty's ratelimit-* headers, then the answer" {
	prov_ctl '{"mode": "429", "count": 1, "path": "/incidents", "reset": 2}'
	run curl -s -D - -o /dev/null -H 'Authorization: Token token=t0ken' \
	    -H 'Accept: application/vnd.pagerduty+json;version=2' "$B/incidents"
	assert_line --partial 'HTTP/1.1 429'
	assert_line --partial 'ratelimit-reset: 2'
	assert_line --partial 'ratelimit-remaining: 0'
	refute_line --partial 'Retry-After'
	run curl -s -D - -o /dev/null -H 'Authorization: Token token=t0ken' \
	    -H 'Accept: application/vnd.pagerduty+json;version=2' "$B/incidents"
	assert_line --partial 'HTTP/1.1 200'
	assert_line --regexp '^ratelimit-limit: 960'
	# Retry-After only when a test asks for it.
	prov_ctl '{"mode": "429", "count": 1, "path": "/log_entries", "retry_after": 3}'
	run curl -s -D - -H 'Authorization: Token token=t0ken' \
	    -H 'Accept: application/vnd.pagerduty+json;version=2' "$B/log_entries"
	assert_line --partial 'Retry-After: 3'
	assert_line '{"error": {"message": "Rate Limit Exceeded"}}'
	assert_equal "$(jq -sc 'map([.kind, .method, .status, .fault])' "$PROV_LOG")" \
	    '[["pagerduty_rest","GET",429,"429"],["pagerduty_rest","GET",200,null],["pagerduty_rest","GET",429,"429"]]'
}

@test "twilio: inbound messages listed newest first, RFC 2822 dates, filters, stable pages" {
	tw=$B/2010-04-01/Accounts/$ESC_TWILIO_SID/Messages.json
	run ctl twilio/messages '{"messages": [
	    {"from": "+15550101", "to": "+15550100", "body": "ACK 7KQ", "at": "2026-11-26T23:59:00Z"},
	    {"from": "+15550102", "to": "+15550100", "body": "7kq", "at": "2026-11-27T10:01:00Z"},
	    {"from": "+15550103", "to": "+15550100", "body": "7KQR", "at": "2026-11-27T10:02:00Z"},
	    {"from": "+15550104", "to": "+15559999", "body": "other", "at": "2026-11-27T10:03:00Z"}]}'
	assert_equal "$(jq -c '[.ok, (.sids | length)]' <<<"$output")" '[true,4]'
	# esc-notify's own SMS is in the list too, as outbound-api.
	curl -s -u "$ESC_TWILIO_SID:$ESC_TWILIO_TOKEN" --data-urlencode To=+15550101 \
	    --data-urlencode From=+15550100 --data-urlencode Body=page "$tw" >/dev/null
	run curl -s -u "$ESC_TWILIO_SID:$ESC_TWILIO_TOKEN" "$tw?To=%2B15550100&PageSize=2"
	assert_equal "$(jq -c '[.page, .page_size, .start, .end, .previous_page_uri, (.messages[] | [.from, .body, .direction, .status, .date_sent])]' <<<"$output")" \
	    '[0,2,0,1,null,["+15550103","7KQR","inbound","received","Fri, 27 Nov 2026 10:02:00 +0000"],["+15550102","7kq","inbound","received","Fri, 27 Nov 2026 10:01:00 +0000"]]'
	next=$(jq -r .next_page_uri <<<"$output")
	# A message that arrives meanwhile does not shift the next page.
	ctl twilio/messages '{"from": "+15550105", "to": "+15550100", "body": "late", "at": "2026-11-27T10:04:00Z"}' >/dev/null
	run curl -s -u "$ESC_TWILIO_SID:$ESC_TWILIO_TOKEN" "$B$next"
	assert_equal "$(jq -c '[.page, .next_page_uri, [.messages[].body]]' <<<"$output")" '[1,null,["ACK 7KQ"]]'
	# DateSent filters compare the UTC date only, as documented.
	run curl -s -u "$ESC_TWILIO_SID:$ESC_TWILIO_TOKEN" "$tw?To=%2B15550100&DateSent%3E=2026-11-27T10:02:00Z"
	assert_equal "$(jq -c '[.messages[].body]' <<<"$output")" '["late","7KQR","7kq"]'
	run curl -s -u "$ESC_TWILIO_SID:$ESC_TWILIO_TOKEN" "$tw?From=%2B15550100"
	assert_equal "$(jq -c '[.messages[] | [.to, .direction]]' <<<"$output")" '[["+15550101","outbound-api"]]'
	run curl -s -u "$ESC_TWILIO_SID:wrong" -w ' %{http_code}' "$tw"
	assert_output '{"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401} 401'
	prov_ctl '{"mode": "429", "count": 1, "path": "/2010-04-01/"}'
	run curl -s -u "$ESC_TWILIO_SID:$ESC_TWILIO_TOKEN" -w ' %{http_code}' "$tw"
	assert_output '{"code": 20429, "message": "Too Many Requests", "more_info": "https://www.twilio.com/docs/errors/20429", "status": 429} 429'
	assert_equal "$(jq -sc 'map(.kind) | group_by(.) | map([.[0], length])' "$PROV_LOG")" '[["twilio",1],["twilio_list",6]]'
}

@test "the state dump and the stats name every kind; the Events API answers as before" {
	run curl -s -X POST --data '{"routing_key": "k", "event_action": "trigger",
	    "payload": {"summary": "s", "source": "x", "severity": "info"}}' "$B/v2/enqueue"
	assert_equal "$(jq -c '[.status, (.dedup_key | test("^[0-9a-f]{32}$"))]' <<<"$output")" '["success",true]'
	key=$(jq -r .dedup_key <<<"$output")
	pd "$B/incidents" >/dev/null
	run curl -s "$B/_state"
	assert_equal "$(jq -c --arg k "$key" '[.now, (.pagerduty.incidents | map(.status)), ([.pagerduty.log_entries[].type]), (.pagerduty.users | map(.email))]' <<<"$output")" \
	    '["2026-11-27T10:00:00Z",["triggered"],["trigger_log_entry"],["bob@example.com","esc@example.com"]]'
	run curl -s "$B/_stats"
	assert_output '{"pagerduty": 1, "pagerduty_rest": 1}'
}
