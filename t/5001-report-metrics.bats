#!/usr/bin/env bats
# esc-report metrics: MTTA, MTTR, rates and targets over a hand-made
# journal (t/fixtures/report/metrics.ndjson).  Every figure below is
# worked out by hand in the comments from that journal.

load test_helper
bats_require_minimum_version 1.5.0

J="$FIX/report/metrics.ndjson"

# The journal, incident by incident (times are on 2026-11-02 for c*,
# 2026-11-03 for w* and i1; seconds from opening):
#   c1 critical: ack 120, L3, resolved 1200, actionable true
#   c2 critical: L2, ack 360 (raw ack and incident record), resolved 2400,
#                actionable true
#   c3 critical: L3, never acked, resolved 3000 by a raw resolve event,
#                actionable false
#   c4 critical: acked 240 by a raw ack naming the alert, never resolved
#   c5 warning upgraded to critical: ack 660, resolved 1860, actionable true
#   w1 warning: ack 600 (actionable false), resolved 1800
#   w2 warning: resolved at 300, reopened, ack 1500, resolved 2700
#   w3 warning: L2, never acked, never resolved
#   i1 info: never acked, resolved 60
# critical MTTA 120 240 360 660: mean 345, median 300,
#   p90 = 360 + 0.7 * (660 - 360) = 570
# critical MTTR 1200 1860 2400 3000: mean 2115, median 2130,
#   p90 = 2400 + 0.7 * 600 = 2820
# warning MTTA 600 1500: mean 1050, median 1050, p90 = 600 + 0.9 * 900 = 1410
# warning MTTR 1800 2700: mean 2250, median 2250, p90 = 2610
# all MTTA 120 240 360 600 660 1500: mean 580, median 480,
#   p90 = 660 + 0.5 * 840 = 1080
# all MTTR 60 1200 1800 1860 2400 2700 3000: mean 1860, median 1860,
#   p90 = 2700 + 0.4 * 300 = 2820
# accuracy 3/9 (c1 c2 c5), false positives 2/9 (c3 w1),
# escalated 4/9 (c1 c2 c3 w3)

m() {
	run esc-report metrics -f json "$@"
}

# per_severity FIELD: the n, mean, median and p90 of FIELD (mtta, mttr)
# per severity and over all, from the JSON metrics on standard input.
per_severity() {
	jq -c "[.severities.critical.$1, .severities.warning.$1, .severities.info.$1, .all.$1]
	    | map([.n, .mean, .median, .p90])"
}

@test "metrics: counts per severity, never acked and unresolved apart" {
	m "$J"
	assert_success
	run jq -c '[.severities.critical, .severities.warning, .severities.info, .all]
	    | map([.incidents, .acked, .never_acked, .resolved, .unresolved, .reopened, .upgraded])' <<<"$output"
	assert_output '[[5,4,1,4,1,0,1],[3,2,1,2,1,1,0],[1,0,1,1,0,0,0],[9,6,3,7,2,1,1]]'
}

@test "metrics: MTTA mean, median and p90 per severity" {
	m "$J"
	assert_success
	run per_severity mtta <<<"$output"
	assert_output '[[4,345,300,570],[2,1050,1050,1410],[0,null,null,null],[6,580,480,1080]]'
}

@test "metrics: MTTR mean, median and p90 per severity" {
	m "$J"
	assert_success
	run per_severity mttr <<<"$output"
	assert_output '[[4,2115,2130,2820],[2,2250,2250,2610],[1,60,60,60],[7,1860,1860,2820]]'
}

@test "metrics: rates and targets with pass or fail" {
	m "$J"
	assert_success
	run jq -c '[.all.accuracy, .all.escalation_rate, .all.false_positive_rate]
	    | map([.count, (.value * 10000 | round), .target, .pass])' <<<"$output"
	assert_output '[[3,3333,0.8,false],[4,4444,0.2,false],[2,2222,0.1,false]]'
	m "$J"
	run jq -c '[.severities.critical.mtta.target, .severities.critical.mtta.pass,
	    .severities.critical.mttr.target, .severities.critical.mttr.pass,
	    .severities.warning.mtta.target, .severities.critical.accuracy.value, .pass]' <<<"$output"
	assert_output '[300,false,1800,false,null,0.6,false]'
}

@test "metrics: text says what was left out and why" {
	run esc-report metrics "$J"
	assert_success
	assert_line --regexp '^critical +4 +5m45s +5m +9m30s +<5m +FAIL$'
	assert_line --regexp '^critical +4 +35m15s +35m30s +47m +<30m +FAIL$'
	assert_line --regexp '^alert accuracy +60.0% +0.0% +0.0% +33.3% +>80% +FAIL$'
	assert_line 'critical: 1 incident never acked, left out of MTTA'
	assert_line 'warning: 1 incident not resolved, left out of MTTR'
}

@test "metrics: --check exits 1 when a target fails, 0 when all pass" {
	run esc-report metrics --check "$J"
	assert_failure 1
	# c1 alone: acked in 2m, resolved in 20m, actionable, but level 3.
	run bash -c "grep '\"c1\"' '$J' | esc-report metrics --check -f json"
	assert_failure 1
	run jq -c '[.severities.critical.mtta.pass, .severities.critical.mttr.pass, .all.escalation_rate.pass]' <<<"$output"
	assert_output '[true,true,false]'
	# One critical incident acked in 2m, resolved in 10m, actionable,
	# never past level 1: every target passes.
	cat > "$BATS_TEST_TMPDIR/ok.ndjson" <<-'EOF'
	{"type":"incident","incident":"k1","event":"opened","severity":"critical","level":1,"alert":"a1","at":"2026-11-02T10:00:00Z","opened_at":"2026-11-02T10:00:00Z"}
	{"type":"incident","incident":"k1","event":"acked","severity":"critical","level":1,"alert":"a1","at":"2026-11-02T10:02:00Z","opened_at":"2026-11-02T10:00:00Z","by":"alice"}
	{"type":"incident","incident":"k1","event":"resolved","severity":"critical","level":1,"alert":"a1","at":"2026-11-02T10:10:00Z","opened_at":"2026-11-02T10:00:00Z","by":"alice","actionable":true}
	EOF
	run esc-report metrics --check -f json "$BATS_TEST_TMPDIR/ok.ndjson"
	assert_success
	run jq -c '[.pass, .all.accuracy.pass, .all.escalation_rate.pass, .all.false_positive_rate.pass]' <<<"$output"
	assert_output '[true,true,true,true]'
}

@test "metrics: --since and --until pick incidents by their opening" {
	m --since 2026-11-03T00:00:00Z "$J"
	assert_success
	run jq -c '[.since, .until, .all.incidents, .severities.critical.incidents]' <<<"$output"
	assert_output '["2026-11-03T00:00:00Z",null,4,0]'
	# A duration counts back from --now: 2026-11-03T12:00 minus 1d.
	m --now 2026-11-03T12:00:00Z --since 1d --until 2026-11-02T12:30:00Z "$J"
	run jq -c '[.since, .all.incidents]' <<<"$output"
	assert_output '["2026-11-02T12:00:00Z",1]'
}

@test "metrics: bad lines are reported with file:line and skipped" {
	{ head -3 "$J"; echo '{"type":"incident",'; echo 'not json';
	  echo '{"type":"incident","event":"opened","at":"2026-11-02T10:00:00Z"}';
	  echo '{"type":"incident","incident":"c1","event":"paused","at":"2026-11-02T10:00:00Z"}';
	  echo '{"type":"ack","incident":"c1","by":"x","at":"yesterday"}';
	  tail -n +4 "$J"; } > "$BATS_TEST_TMPDIR/j.ndjson"
	run esc-report metrics -f json "$BATS_TEST_TMPDIR/j.ndjson"
	assert_failure 1
	assert_line "esc-report: $BATS_TEST_TMPDIR/j.ndjson:4: not JSON: syntax error at byte 19"
	assert_line "esc-report: $BATS_TEST_TMPDIR/j.ndjson:5: not JSON: syntax error at byte 1"
	assert_line "esc-report: $BATS_TEST_TMPDIR/j.ndjson:6: incident record without an incident id"
	assert_line "esc-report: $BATS_TEST_TMPDIR/j.ndjson:7: incident record with an unknown event: paused"
	assert_line "esc-report: $BATS_TEST_TMPDIR/j.ndjson:8: at: not an RFC 3339 time: yesterday"
	run bash -c "esc-report metrics -f json '$BATS_TEST_TMPDIR/j.ndjson' 2>/dev/null | jq -c '[.all.incidents, .all.mtta.mean]'"
	assert_output '[9,580]'
}

@test "metrics: other records are checked for shape, not parsed" {
	cat > "$BATS_TEST_TMPDIR/j.ndjson" <<-'EOF'
	{"type":"page","labels":{"type":"incident"},"at":"2026-11-02T10:00:00Z"}
	{"type":"receipt","status":"delivered" "at":1}
	{"type":"receipt","status":"delivered",
	{"labels":{"type":"db"},"type":"incident","incident":"n1","event":"opened","severity":"info","level":1,"at":"2026-11-02T10:00:00Z","opened_at":"2026-11-02T10:00:00Z"}
	{"\u0074ype":"incident","incident":"n2","event":"opened","severity":"info","level":1,"at":"2026-11-02T10:00:00Z","opened_at":"2026-11-02T10:00:00Z"}
	{"type": "heartbeat", "at": "2026-11-02T10:00:00Z", "alerts": 0, "ok": true}
	EOF
	run esc-report metrics -f json "$BATS_TEST_TMPDIR/j.ndjson"
	assert_failure 1
	# Line 1 is parsed (a "type" names a record it reads) and is a page:
	# ignored.  Line 2 is a receipt by its shape: not parsed.  Line 3 is
	# cut short: parsed, and rejected.  Lines 4 and 5 are incidents, the
	# one behind a nested "type", the other behind an escaped key.
	assert_line --index 0 "esc-report: $BATS_TEST_TMPDIR/j.ndjson:3: not JSON: syntax error at byte 39"
	run bash -c "esc-report metrics -f json '$BATS_TEST_TMPDIR/j.ndjson' 2>/dev/null | jq .all.incidents"
	assert_output 2
}

@test "metrics: standard input, and an unreadable file" {
	run bash -c "esc-report metrics -f json < '$J' | jq .all.incidents"
	assert_output '9'
	run esc-report metrics "$BATS_TEST_TMPDIR/none.ndjson"
	assert_failure 1
	assert_line --index 0 "esc-report: $BATS_TEST_TMPDIR/none.ndjson: No such file or directory"
}

@test "metrics: -f prometheus is valid text exposition format" {
	run esc-report metrics -f prometheus "$J"
	assert_success
	assert_line '# TYPE esc_mtta_seconds gauge'
	assert_line 'esc_mtta_seconds{severity="critical",stat="mean"} 345'
	assert_line 'esc_mtta_seconds{severity="critical",stat="p90"} 570'
	assert_line 'esc_mttr_target_seconds{severity="critical"} 1800'
	assert_line 'esc_incidents_never_acked{severity="all"} 3'
	assert_line 'esc_alert_accuracy_target_ratio 0.8'
	assert_line 'esc_target_pass{metric="mtta",severity="critical"} 0'
	# Every sample line: name{labels} value; every name has HELP and TYPE.
	run bash -c "esc-report metrics -f prometheus '$J' | grep -v '^#' |
	    grep -cvE '^[a-z_]+(\{([a-z]+=\"[a-z0-9_]+\",?)+\})? -?[0-9.e+-]+$'"
	assert_output '0'
	if ! "$PY" -c 'import prometheus_client' 2>/dev/null; then
		skip "python3-prometheus-client is not installed"
	fi
	run bash -c "esc-report metrics -f prometheus '$J' | \"$PY\" -c '
import sys
from prometheus_client.parser import text_string_to_metric_families as p
fams = list(p(sys.stdin.read()))
print(len(fams), sum(len(f.samples) for f in fams))'"
	assert_success
	# 15 families: 3 counts and alerts, MTTA and MTTR with their targets, 3 rates
	# with their targets, target_pass.  59 samples: counts 4 x 4;
	# MTTA 3 x 3 (info has none) + 1 target; MTTR 3 x 4 + 1 target;
	# rates 3 x 4 + 3 targets; pass 2 + 3.
	assert_output '15 59'
}

@test "metrics: -f prometheus passes promtool check metrics" {
	command -v promtool >/dev/null || skip "promtool is not installed (Debian package prometheus)"
	run bash -c "esc-report metrics -f prometheus '$J' | promtool check metrics"
	assert_success
	assert_output ''
	run bash -c ": | esc-report metrics -f prometheus | promtool check metrics"
	assert_success
}

@test "metrics: an empty journal has nothing to judge" {
	run bash -c ": | esc-report metrics --check -f json"
	assert_success
	run jq -c '[.all.incidents, .all.mtta.mean, .all.accuracy.value, .all.accuracy.pass, .pass]' <<<"$output"
	assert_output '[0,null,null,null,true]'
	run bash -c ": | esc-report metrics -f prometheus | grep -c '^esc_incidents{'"
	assert_output 4
}

@test "metrics: markdown tables" {
	run esc-report metrics -f markdown "$J"
	assert_success
	assert_line '| critical | 5 | 5 | 4 | 1 | 4 | 1 | 0 | 1 |'
	assert_line '| critical | 4 | 5m45s | 5m | 9m30s | <5m | FAIL |'
}

@test "metrics: -f html is the tables in a page of their own" {
	run esc-report metrics -f html "$J"
	assert_success
	assert_line --index 0 '<!DOCTYPE html>'
	assert_line --regexp '^critical +4 +5m45s +5m +9m30s +&lt;5m +FAIL$'
	run grep -Eci '(src|href)=|<script' <<<"$output"
	assert_output 0
}

@test "metrics: usage errors exit 2" {
	run esc-report metrics -f github "$J"
	assert_failure 2
	assert_line --index 0 'esc-report: metrics: -f github: not a format of this command'
	run esc-report metrics --since yesterday "$J"
	assert_failure 2
	assert_output 'esc-report: --since: not a time or a duration: yesterday'
	run esc-report frobnicate
	assert_failure 2
	assert_line --index 0 'esc-report: unknown command: frobnicate'
	run esc-report metrics --now bogus "$J"
	assert_failure 2
}

@test "metrics: an ack or resolve before the opening is rejected, the rest counted" {
	cat > "$BATS_TEST_TMPDIR/j.ndjson" <<-'EOF'
	{"type":"incident","incident":"k1","event":"opened","severity":"critical","level":1,"alert":"a1","at":"2026-11-02T10:00:00Z","opened_at":"2026-11-02T10:00:00Z"}
	{"type":"incident","incident":"k1","event":"acked","severity":"critical","level":1,"alert":"a1","at":"2026-11-02T09:58:00Z","opened_at":"2026-11-02T10:00:00Z","by":"alice"}
	{"type":"ack","incident":"k1","by":"bob","at":"2026-11-02T09:59:59Z"}
	{"type":"resolve","alert":"a1","by":"bob","at":"2026-11-02T09:00:00Z"}
	{"type":"incident","incident":"k1","event":"resolved","severity":"critical","level":1,"alert":"a1","at":"2026-11-02T09:50:00Z","opened_at":"2026-11-02T10:00:00Z","by":"alice"}
	{"type":"incident","incident":"k2","event":"acked","severity":"warning","level":1,"alert":"a2","at":"2026-11-02T09:00:00Z","opened_at":"2026-11-02T10:00:00Z","by":"alice"}
	{"type":"ack","incident":"k1","by":"alice","at":"2026-11-02T10:02:00Z"}
	{"type":"resolve","incident":"k1","by":"alice","at":"2026-11-02T10:10:00Z","actionable":true}
	EOF
	run --separate-stderr esc-report metrics -f json "$BATS_TEST_TMPDIR/j.ndjson"
	assert_failure 1
	assert_equal "$stderr" "esc-report: $BATS_TEST_TMPDIR/j.ndjson:2: at: 2026-11-02T09:58:00Z is before the incident opened, at 2026-11-02T10:00:00Z
esc-report: $BATS_TEST_TMPDIR/j.ndjson:3: at: 2026-11-02T09:59:59Z is before the incident opened, at 2026-11-02T10:00:00Z
esc-report: $BATS_TEST_TMPDIR/j.ndjson:4: at: 2026-11-02T09:00:00Z is before the incident opened, at 2026-11-02T10:00:00Z
esc-report: $BATS_TEST_TMPDIR/j.ndjson:5: at: 2026-11-02T09:50:00Z is before the incident opened, at 2026-11-02T10:00:00Z
esc-report: $BATS_TEST_TMPDIR/j.ndjson:6: at: 2026-11-02T09:00:00Z is before the incident opened, at 2026-11-02T10:00:00Z"
	# k1 alone, acked at 2m and resolved at 10m; k2 was never seen open.
	run jq -c '[.all.incidents, .all.mtta.mean, .all.mttr.mean, .severities.critical.mtta.pass]' <<<"$output"
	assert_output '[1,120,600,true]'
	run esc-report metrics "$BATS_TEST_TMPDIR/j.ndjson"
	assert_failure 1
	assert_line '5 journal lines rejected'
}

@test "metrics: an incident of a severity it does not know is reported, not dropped" {
	cat > "$BATS_TEST_TMPDIR/j.ndjson" <<-'EOF'
	{"type":"incident","incident":"k1","event":"opened","severity":"critical","level":1,"alert":"a1","at":"2026-11-02T10:00:00Z","opened_at":"2026-11-02T10:00:00Z"}
	{"type":"incident","incident":"p1","event":"opened","severity":"P1","level":1,"alert":"a2","at":"2026-11-02T10:00:00Z","opened_at":"2026-11-02T10:00:00Z"}
	{"type":"incident","incident":"p2","event":"opened","level":1,"alert":"a3","at":"2026-11-02T10:00:00Z","opened_at":"2026-11-02T10:00:00Z"}
	{"type":"incident","incident":"p3","event":"opened","severity":3,"level":1,"alert":"a4","at":"2026-11-02T10:00:00Z","opened_at":"2026-11-02T10:00:00Z"}
	{"type":"upgrade","incident":"k1","by":"alice","severity":"sev0","at":"2026-11-02T10:01:00Z"}
	EOF
	run --separate-stderr esc-report metrics -f json "$BATS_TEST_TMPDIR/j.ndjson"
	assert_failure 1
	assert_equal "$stderr" "esc-report: $BATS_TEST_TMPDIR/j.ndjson:2: severity: not critical, warning or info: P1
esc-report: $BATS_TEST_TMPDIR/j.ndjson:3: severity: missing
esc-report: $BATS_TEST_TMPDIR/j.ndjson:4: severity: not a string
esc-report: $BATS_TEST_TMPDIR/j.ndjson:5: severity: not critical, warning or info: sev0"
	run jq -c '[.all.incidents, .severities.critical.incidents]' <<<"$output"
	assert_output '[1,1]'
}

@test "metrics: a field of the wrong type is named as such, not as missing" {
	cat > "$BATS_TEST_TMPDIR/j.ndjson" <<-'EOF'
	{"type":"incident","incident":5,"event":"opened","severity":"critical","level":1,"at":"2026-11-02T10:00:00Z"}
	{"type":"incident","incident":"k1","event":["opened"],"severity":"critical","level":1,"at":"2026-11-02T10:00:00Z"}
	{"type":"ack","incident":{"id":"k1"},"by":"alice","at":"2026-11-02T10:01:00Z"}
	{"type":"resolve","alert":7,"by":"alice","at":"2026-11-02T10:01:00Z"}
	{"type":"ack","incident":"k1","by":"alice","at":1700000000}
	{"type":"postmortem","incident":true,"due_at":"2026-11-04T10:00:00Z"}
	EOF
	run --separate-stderr esc-report metrics -f json "$BATS_TEST_TMPDIR/j.ndjson"
	assert_failure 1
	assert_equal "$stderr" "esc-report: $BATS_TEST_TMPDIR/j.ndjson:1: incident: not a string
esc-report: $BATS_TEST_TMPDIR/j.ndjson:2: event: not a string
esc-report: $BATS_TEST_TMPDIR/j.ndjson:3: incident: not a string
esc-report: $BATS_TEST_TMPDIR/j.ndjson:4: alert: not a string
esc-report: $BATS_TEST_TMPDIR/j.ndjson:5: at: not a time
esc-report: $BATS_TEST_TMPDIR/j.ndjson:6: incident: not a string"
}
