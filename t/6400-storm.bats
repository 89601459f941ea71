#!/usr/bin/env bats
# When everything breaks at once (issue 20): a storm of alerts through a
# real Alertmanager and esc-tick, with the shipped policy and the example
# roster, is one page per outage; and the always-firing Watchdog is the
# pipeline's heartbeat.

load test_helper
load alertmanager
load fixtures/notify/helper

setup() {
	start_prov
	start_smtp
	channels
	pipeline_setup
}

teardown() {
	pipeline_teardown
}

# nodes MIN FROM TO [END]: NodeDown of cluster prod-eu on nodes FROM..TO,
# firing (ending 5 minutes after MIN), or resolved when END is "gone".
nodes() {
	local end
	end=$(at $(($1 + 5)))
	[ "${4:-}" = gone ] && end=$(date -u -d '-1 second' +%Y-%m-%dT%H:%M:%SZ)
	# Hundreds of alerts: the body from standard input, not the command line.
	jq -nc --argjson a "$2" --argjson b "$3" --arg s "$(at -1)" --arg e "$end" '
	    [range($a; $b + 1) | {labels: {alertname: "NodeDown", cluster: "prod-eu",
	      instance: "n\(.)", severity: "critical", job: "node"},
	      annotations: {summary: "node n\(.) is down"}, startsAt: $s, endsAt: $e}]' |
	    curl -sf -X POST -H 'Content-Type: application/json' \
	    --data-binary @- "$AM_URL/api/v2/alerts"
}

# api MIN: the one page that matters.
api() {
	am_post "[{\"labels\":{\"alertname\":\"StemeDBAPIDown\",\"severity\":\"critical\",\"instance\":\"api-1\",\"job\":\"stemedb\"},
	  \"annotations\":{\"summary\":\"StemeDBAPIDown on api-1\"},\"startsAt\":\"$(at 0)\",\"endsAt\":\"$(at $(($1 + 5)))\"}]"
}

firing() { curl -sf "$AM_URL/api/v2/alerts?active=true" | jq length; }

# receipts EVENT: the delivered receipts of the journal so far.
delivered() { jq -c 'select(.type == "receipt" and .status == "delivered")' "$J"; }

@test "a storm: 500 NodeDown of one cluster and StemeDBAPIDown are 2 incidents and at most 20 deliveries at level 1" {
	nodes 0 1 500
	api 0
	wait_until [ "$(firing)" = 501 ] || true
	run tick 0
	assert_success
	assert_equal "$(jq -c 'select(.type == "incident" and .event == "opened") | .alertname' "$J" | sort | paste -sd,)" \
	    '"NodeDown","StemeDBAPIDown"'
	assert_equal "$(jq -c 'select(.type == "incident" and .event == "joined")' "$J" | wc -l)" 499
	n=$(delivered | wc -l)
	[ "$n" -le 20 ] || fail "$n deliveries at level 1"
	[ "$n" -ge 8 ] || fail "only $n deliveries"
	# The primary's phone: one SMS per outage.
	P=$(esc-rotate --oncall --at "$(at 0)" | jq -r 'select(.role == "primary") | .person')
	sms=$(delivered | jq -r --arg p "$P" 'select(.channel == "sms" and .person == $p)' | jq -s length)
	[ "$sms" -le 2 ] || fail "$sms SMS to $P"
	echo "# storm, level 1: $n deliveries, $sms SMS to the primary" >&3
	assert_equal "$(jq -r 'select(.kind == "pagerduty" and .method == "POST") | .body | fromjson | .event_action' "$PROV_LOG" | sort | uniq -c | tr -s ' ')" ' 2 trigger'

	# 250 more at minute 2: they join, and no page is sent (StemeDBAPIDown's
	# timeline has a task due then).
	before=$(delivered | jq -c 'select(.event == "trigger")' | wc -l)
	nodes 2 1 750
	api 2
	wait_until [ "$(firing)" = 751 ] || true
	run tick 2
	assert_success
	assert_equal "$(jq -c 'select(.type == "incident" and .event == "joined")' "$J" | wc -l)" 749
	assert_equal "$(delivered | jq -c 'select(.event == "trigger")' | wc -l)" "$before"

	# Level 2 at minute 5: 2 PagerDuty triggers, not 751; the count said.
	for m in 3 4 5; do
		nodes "$m" 1 750
		api "$m"
		run tick "$m"
		assert_success
	done
	assert_equal "$(jq -r 'select(.kind == "pagerduty" and .method == "POST") | .body | fromjson | .event_action' "$PROV_LOG" | sort | uniq -c | tr -s ' ')" ' 4 trigger'
	# (The node named is whichever Alertmanager listed first.)
	[[ $(jq -r 'select(.type == "page" and .level == 2 and .channel == "pagerduty" and .alertname == "NodeDown") | .subject' "$J") =~ ^'[CRITICAL L2] NodeDown ×750, cluster prod-eu: node n'[0-9]+' is down'$ ]]

	# 749 of 750 resolve: the incident stays open; the last closes it.
	nodes 6 1 749 gone
	nodes 6 750 750
	api 6
	wait_until [ "$(firing)" = 2 ] || true
	run tick 6
	assert_success
	assert_equal "$(jq -c 'select(.type == "incident" and .alertname == "NodeDown" and .event == "resolved")' "$J" | wc -l)" 0
	assert_equal "$(jq -c 'select(.type == "incident" and .event == "left")' "$J" | wc -l)" 749
	nodes 7 750 750 gone
	api 7
	wait_until [ "$(firing)" = 1 ] || true
	run tick 7
	assert_success
	assert_equal "$(jq -c 'select(.type == "incident" and .alertname == "NodeDown" and .event == "resolved") | .alerts' "$J")" 1
}

# watchdog MIN: the heartbeat alert, re-sent by Prometheus every minute;
# it started a minute before the test, so that ending it "a second ago"
# is after its start.
watchdog() {
	am_post "[{\"labels\":{\"alertname\":\"Watchdog\",\"severity\":\"none\"},
	  \"annotations\":{\"summary\":\"The alerting pipeline works\"},\"startsAt\":\"$(at -1)\",\"endsAt\":\"$(at $(($1 + 1)))\"}]"
}

@test "Watchdog: firing every tick opens nothing; absent 5 minutes pages AlertingPipelineDown; back, resolves it" {
	for m in 0 1 2; do
		watchdog "$m"
		run tick "$m"
		assert_success
	done
	assert_equal "$(jq -c 'select(.type == "incident" or .type == "page")' "$J" | wc -l)" 0
	# Prometheus stops: the Watchdog expires in Alertmanager.
	am_post "[{\"labels\":{\"alertname\":\"Watchdog\",\"severity\":\"none\"},\"startsAt\":\"$(at -1)\",\"endsAt\":\"$(date -u -d '-1 second' +%Y-%m-%dT%H:%M:%SZ)\"}]"
	wait_until [ "$(firing)" = 0 ] || true
	for m in 3 4 5 6; do
		run tick "$m"
		assert_success
	done
	assert_equal "$(jq -c 'select(.type == "incident")' "$J" | wc -l)" 0
	run tick 7
	assert_success
	assert_equal "$(jq -c 'select(.type == "incident") | [.event, .alertname, .severity]' "$J")" '["opened","AlertingPipelineDown","critical"]'
	assert_equal "$(jq -r 'select(.kind == "pagerduty" and .method == "POST") | .body | fromjson | .payload.summary' "$PROV_LOG")" \
	    '[CRITICAL L1] AlertingPipelineDown: No Watchdog alert for 300s: alerts may not reach esc (Prometheus, Alertmanager or the tick is down)'
	watchdog 8
	run tick 8
	assert_success
	assert_equal "$(jq -c 'select(.type == "incident") | .event' "$J" | paste -sd,)" '"opened","resolved"'
}
