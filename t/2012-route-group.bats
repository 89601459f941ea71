#!/usr/bin/env bats
# esc-route: an incident is a group of alerts (the policy's group_by, the
# shipped one ["alertname", "cluster", "service"]): a storm is one page,
# later alerts join, early ones leave, the last one resolves it; the
# heartbeat (Watchdog) opens nothing and its absence pages.

load test_helper
load fixtures/route/helpers

setup() {
	ST="$BATS_TEST_TMPDIR/state"
	export ST
}

# storm FROM TO MIN [NAME] [CLUSTER] [SEVERITY]: firing alerts
# NAME (NodeDown) of CLUSTER (prod-eu) on nodes FROM..TO, started at MIN.
storm() {
	jq -nc --argjson from "$1" --argjson to "$2" --arg start "$(tm "$3")" \
	    --arg name "${4:-NodeDown}" --arg cl "${5-prod-eu}" \
	    --arg sev "${6:-critical}" \
	    'range($from; $to + 1) | {type: "alert",
	    id: "\($name)-\($cl)-n\(.)", name: $name, status: "firing",
	    severity: $sev, starts_at: $start,
	    labels: {alertname: $name, cluster: $cl, instance: "n\(.)",
	        severity: $sev},
	    summary: "node n\(.) is down", runbook: null, hygiene: []}'
}

# snap MIN: esc-route --snapshot at minute MIN on standard input.
snap() {
	route "$1" --snapshot
}

count() {
	jq -c "select($1)" <<<"$output" | wc -l
}

@test "500 alerts of one cluster and one other alert: 2 incidents, level 1 paged once each" {
	run snap 0 < <(storm 1 500 0; alert StemeDBAPIDown critical firing 0)
	assert_success
	assert_equal "$(count '.type == "incident" and .event == "opened"')" 2
	assert_equal "$(count '.type == "incident" and .event == "joined"')" 499
	# Level 1 of the critical path is 4 pages, for each of the 2.
	assert_equal "$(count '.type == "page"')" 8
	assert_equal "$(jq -c 'select(.event == "opened") | [.alertname, .alerts, .group]' <<<"$output")" \
	    "$(printf '%s\n' '["NodeDown",1,{"alertname":"NodeDown","cluster":"prod-eu","service":""}]' \
	    '["StemeDBAPIDown",1,{"alertname":"StemeDBAPIDown","cluster":"","service":""}]')"
	# Each joined record names its alert and the count so far.
	assert_equal "$(jq -c 'select(.event == "joined") | [.alert, .alerts]' <<<"$output" | tail -1)" \
	    '["NodeDown-prod-eu-n500",500]'
	assert_equal "$(jq -r 'select(.event == "joined") | .incident' <<<"$output" | sort -u | wc -l)" 1
}

@test "250 more at minute 2 join and page nothing; level 2 at minute 5 is one page per incident, with the count" {
	snap 0 < <(storm 1 500 0; alert StemeDBAPIDown critical firing 0) >/dev/null
	run snap 2 < <(storm 1 750 0; alert StemeDBAPIDown critical firing 0)
	assert_success
	assert_equal "$(count '.event == "joined"')" 250
	assert_equal "$(count '.type == "page"')" 0
	assert_equal "$(count '.event == "left"')" 0
	run snap 5 < <(storm 1 750 0; alert StemeDBAPIDown critical firing 0)
	assert_success
	assert_equal "$(count '.type == "page" and .channel == "pagerduty"')" 2
	assert_equal "$(jq -r 'select(.type == "page" and .channel == "pagerduty" and .alertname == "NodeDown") | .subject' <<<"$output")" \
	    '[CRITICAL L2] NodeDown ×750, cluster prod-eu: node n1 is down'
	assert_equal "$(jq -c 'select(.type == "page" and .channel == "pagerduty" and .alertname == "NodeDown") | [.alerts, .group.cluster]' <<<"$output")" \
	    '[750,"prod-eu"]'
	assert_equal "$(jq -c 'select(.type == "incident" and .alertname == "NodeDown") | [.event, .alerts]' <<<"$output")" \
	    '["escalated",750]'
}

@test "499 of 500 resolving keeps the incident open (499 left); the last one closes it" {
	snap 0 < <(storm 1 500 0) >/dev/null
	run snap 1 < <(storm 500 500 0)
	assert_success
	assert_equal "$(count '.event == "left"')" 499
	assert_equal "$(count '.event == "resolved"')" 0
	assert_equal "$(jq -c 'select(.event == "left") | [.alert, .alerts]' <<<"$output" | head -2)" \
	    "$(printf '%s\n' '["NodeDown-prod-eu-n1",499]' '["NodeDown-prod-eu-n2",498]')"
	run snap 2 </dev/null
	assert_success
	assert_equal "$(jq -c 'select(.type == "incident") | [.event, .alerts]' <<<"$output")" '["resolved",1]'
	assert_equal "$(count '.type == "page" and .event == "resolve"')" 4
}

@test "without --snapshot: resolved alerts leave, the last resolved one resolves the incident" {
	route 0 < <(storm 1 3 0) >/dev/null
	resolved() {
		storm "$1" "$1" 0 | jq -c --arg fin "$(tm 1)" '.status = "resolved" | .ends_at = $fin'
	}
	run route 1 < <(resolved 1; resolved 2)
	assert_success
	assert_equal "$(jq -c 'select(.type == "incident") | [.event, .alert, .alerts]' <<<"$output")" \
	    "$(printf '%s\n' '["left","NodeDown-prod-eu-n1",2]' '["left","NodeDown-prod-eu-n2",1]')"
	# An alert that is not one of the group's changes nothing.
	run route 1 < <(storm 9 9 0 NodeDown other | jq -c '.status = "resolved"')
	assert_output ''
	run route 2 < <(resolved 3)
	assert_equal "$(jq -c 'select(.type == "incident") | [.event, .alerts]' <<<"$output")" '["resolved",1]'
}

@test "an ack of any alert of the group acks the incident; a missing label is the empty value" {
	# No cluster label at all, and cluster "": the same group.
	run snap 0 < <(storm 1 1 0 NodeDown "" | jq -c 'del(.labels.cluster)'; storm 2 2 0 NodeDown "")
	assert_equal "$(count '.event == "opened"')" 1
	assert_equal "$(count '.event == "joined"')" 1
	run snap 2 < <(storm 1 1 0 NodeDown "" | jq -c 'del(.labels.cluster)'; storm 2 2 0 NodeDown ""; event ack alert NodeDown--n2 2)
	assert_success
	assert_equal "$(jq -c 'select(.type == "incident") | [.event, .by, .alerts]' <<<"$output")" '["acked","alice",2]'
	run snap 5 < <(storm 1 2 0 NodeDown "")
	assert_equal "$(count '.type == "page" and .event == "trigger"')" 0
}

@test "a warning group that a critical alert joins is one incident, upgraded by the policy's rules" {
	run snap 0 < <(storm 1 2 0 HighAPIErrorRate prod-eu warning)
	assert_equal "$(count '.event == "opened"')" 1
	run snap 1 < <(storm 1 2 0 HighAPIErrorRate prod-eu warning; storm 3 3 1 HighAPIErrorRate prod-eu critical)
	assert_success
	assert_equal "$(jq -c 'select(.type == "incident") | [.event, .severity, .alerts]' <<<"$output")" \
	    "$(printf '%s\n' '["joined","warning",3]' '["upgraded","critical",3]')"
	assert_equal "$(jq -r 'select(.type == "page") | .severity' <<<"$output" | sort -u)" critical
}

@test "10,000 alerts in one group: the state keeps the count and 1000 ids, the count stays exact" {
	run snap 0 < <(storm 1 10000 0)
	assert_success
	assert_equal "$(count '.event == "joined"')" 9999
	[ "$(wc -c <"$ST")" -lt 100000 ]
	# The same 10,000 again: nobody new.
	run snap 1 < <(storm 1 10000 0)
	assert_equal "$(count '.event == "joined"')" 0
	# 5000 gone, among them the 1000 remembered, and two new ones: which
	# joined is past what it remembers, but the count is exact.
	run snap 2 < <(storm 5001 10002 0)
	assert_equal "$(count '.event == "left"')" 1000
	run snap 3 < <(storm 5001 10002 0)
	assert_equal "$(count '.event == "joined" or .event == "left"')" 0
	run snap 5 < <(storm 5001 10002 0)
	assert_equal "$(jq -c 'select(.type == "incident") | [.event, .alerts]' <<<"$output")" '["escalated",5002]'
}

@test "group_by per severity, and [\"...\"] there keeps an incident per alert" {
	p="$BATS_TEST_TMPDIR/p.json"
	jsonc "$POLICY" | jq '.severities.warning.group_by = ["..."]' >"$p"
	run route 0 -p "$p" --snapshot < <(storm 1 3 0 DiskFull prod-eu warning; storm 1 3 0)
	assert_success
	assert_equal "$(jq -r 'select(.event == "opened") | .alertname' <<<"$output" | sort | uniq -c | tr -s ' ')" \
	    "$(printf ' 3 DiskFull\n 1 NodeDown')"
	assert_equal "$(jq -c 'select(.alertname == "DiskFull" and .type == "incident") | has("alerts")' <<<"$output" | sort -u)" false
	jsonc "$POLICY" | jq '.group_by = ["alertname", "..."]' >"$p"
	run route 0 -p "$p" </dev/null
	assert_failure 2
	assert_output "esc-route: $p: group_by[1]: \"...\" stands alone"
	jsonc "$POLICY" | jq '.group_by = "alertname"' >"$p"
	run route 0 -p "$p" </dev/null
	assert_failure 2
	assert_output "esc-route: $p: group_by: must be an array of label names, or [\"...\"]"
}

@test "an incident opened before grouping (state format 2) goes on as its group: no second page" {
	p="$BATS_TEST_TMPDIR/p.json"
	jsonc "$POLICY" | jq '.group_by = ["..."]' >"$p"
	route 0 -p "$p" --snapshot < <(storm 1 1 0) >/dev/null
	# As the esc-route before groups wrote it.
	sed -i '1s/ 3$/ 2/; 2s/\t[0-9]*\t[^\t]*\t[^\t]*$//' "$ST"
	run snap 1 < <(storm 1 3 0)
	assert_success
	assert_equal "$(jq -c 'select(.type == "incident") | [.event, .alerts]' <<<"$output")" \
	    "$(printf '%s\n' '["joined",2]' '["joined",3]')"
	assert_equal "$(count '.type == "page"')" 0
}

@test "grouping is deterministic: the same alerts give the same ids and records on another host" {
	snap 0 < <(storm 1 50 0; storm 1 5 0 DiskFull prod-us warning) >"$BATS_TEST_TMPDIR/a"
	ST="$BATS_TEST_TMPDIR/state2" snap 0 < <(storm 1 5 0 DiskFull prod-us warning; storm 1 50 0 | tac) >"$BATS_TEST_TMPDIR/b"
	assert_equal "$(jq -r 'select(.event == "opened") | .incident' "$BATS_TEST_TMPDIR/a" | sort)" \
	    "$(jq -r 'select(.event == "opened") | .incident' "$BATS_TEST_TMPDIR/b" | sort)"
	assert_equal "$(jq -r 'select(.type == "page") | .dedup_key' "$BATS_TEST_TMPDIR/a" | sort)" \
	    "$(jq -r 'select(.type == "page") | .dedup_key' "$BATS_TEST_TMPDIR/b" | sort)"
}

# watchdog MIN: the heartbeat alert, firing since minute 0.
watchdog() {
	storm 1 1 0 Watchdog prod-eu info
}

@test "heartbeat: Watchdog firing opens nothing; missing 5 minutes pages AlertingPipelineDown; back, resolves it" {
	run snap 0 < <(watchdog)
	assert_success
	assert_output ''
	run snap 4 </dev/null
	assert_output ''
	run snap 5 </dev/null
	assert_success
	assert_equal "$(jq -c 'select(.type == "incident") | [.event, .alertname, .severity, .at]' <<<"$output")" \
	    "[\"opened\",\"AlertingPipelineDown\",\"critical\",\"$(tm 5)\"]"
	assert_equal "$(count '.type == "page" and .event == "trigger"')" 4
	assert_equal "$(jq -r 'select(.channel == "sms") | .subject' <<<"$output")" \
	    '[CRITICAL L1] AlertingPipelineDown: No Watchdog alert for 300s: alerts may not reach esc (Prometheus, Alertmanager or the tick is down)'
	# Still missing: the incident is not resolved for being absent.
	run snap 6 </dev/null
	assert_equal "$(count '.event == "resolved"')" 0
	run snap 7 < <(watchdog)
	assert_equal "$(jq -c 'select(.type == "incident") | [.event, .alertname]' <<<"$output")" \
	    '["resolved","AlertingPipelineDown"]'
	# Missing again later: a new incident.
	run snap 13 </dev/null
	assert_equal "$(jq -c 'select(.type == "incident") | [.event, .at]' <<<"$output")" \
	    "[\"opened\",\"$(tm 12)\"]"
}

@test "heartbeat: never seen arms nothing; without --snapshot it is not judged" {
	run snap 0 </dev/null
	run snap 60 </dev/null
	assert_output ''
	route 61 < <(watchdog) >/dev/null
	run route 70 </dev/null
	assert_output ''
}
