#!/usr/bin/env bats
# esc-report hygiene: the seed's alert hygiene rules over Prometheus rule
# files.  t/fixtures/prometheus-rules/ holds real public rule files (see
# its README.md for their origin and licences); t/fixtures/report/rules/
# holds small files made for each problem.  Counts are checked against
# t/fixtures/report/hygiene-count.py, which reads the files with PyYAML.

load test_helper

RULES="$FIX/prometheus-rules"
MINE="$FIX/report/rules"

setup() {
	if ! "$PY" -c 'import yaml' 2>/dev/null; then
		PYYAML=
	else
		PYYAML=1
	fi
}

# "count check" lines from esc-report's text output.
counts() {
	sed 's/.*(\([a-z-]*\))$/\1/' | sort | uniq -c | awk '{ print $1, $2 }' |
	    sort -k2
}

@test "hygiene: every real rule file, each check's count as PyYAML sees it" {
	[ -n "$PYYAML" ] || skip "python3-yaml is not installed"
	run bash -c "esc-report hygiene '$RULES'/*/*.y*ml | sed 's/.*(\([a-z-]*\))\$/\1/' |
	    sort | uniq -c | awk '{ print \$1, \$2 }'"
	assert_success
	esc="$output"
	run "$PY" "$FIX/report/hygiene-count.py" "$RULES"/*/*.y*ml
	assert_success
	assert_output "$esc"
	# And the numbers themselves: the awesome-prometheus-alerts files have
	# no runbook_url (104 alerts, 38 of them critical); kube-prometheus's
	# 125 alerts have runbook_url and summary.
	assert_output "$(printf '104 no-action\n38 no-runbook')"
}

@test "hygiene: each file of the real set alone" {
	[ -n "$PYYAML" ] || skip "python3-yaml is not installed"
	for f in "$RULES"/*/*.y*ml; do
		want=$("$PY" "$FIX/report/hygiene-count.py" "$f")
		got=$(esc-report hygiene "$f" | counts | sort -k2 |
		    awk '{ print $1, $2 }')
		want=$(sort -k2 <<<"$want")
		[ "$got" = "$want" ] || { echo "$f: esc-report: $got; PyYAML: $want"; false; }
	done
	run esc-report hygiene "$RULES/kube-prometheus/alertmanager-prometheusRule.yaml"
	assert_success
	assert_output ''
}

@test "hygiene: every kind of problem, with file, line and check" {
	run esc-report hygiene "$MINE/problems.yml"
	assert_failure 1
	assert_output "$MINE/problems.yml:7: error: alert DiskGone: critical alert without runbook_url (no-runbook)
$MINE/problems.yml:7: error: alert DiskGone: no defined action (runbook_url or an action annotation) (no-action)
$MINE/problems.yml:7: error: alert DiskGone: no summary annotation (no-summary)
$MINE/problems.yml:17: error: alert QueueSlow: runbook_url is an empty template (empty-runbook)
$MINE/problems.yml:12: error: alert QueueSlow: no defined action (runbook_url or an action annotation) (no-action)
$MINE/problems.yml:18: error: alert QueueSlow: summary is an empty template (empty-summary)
$MINE/problems.yml:20: warning: alert WorkerStuck: no severity label (the policy treats it as warning) (no-severity)
$MINE/problems.yml:29: error: alert CacheCold: severity \"urgent\" is not one the policy maps (unknown-severity)"
	[ -n "$PYYAML" ] || skip "python3-yaml is not installed"
	run bash -c "esc-report hygiene '$MINE/problems.yml' | sed 's/.*(\([a-z-]*\))\$/\1/' |
	    sort | uniq -c | awk '{ print \$1, \$2 }'"
	esc="$output"
	run "$PY" "$FIX/report/hygiene-count.py" "$MINE/problems.yml"
	assert_output "$esc"
}

@test "hygiene: the made-up rule files are valid to promtool" {
	command -v promtool >/dev/null || skip "promtool is not installed (Debian package prometheus)"
	# So what hygiene finds in them is hygiene, not syntax.
	run promtool check rules "$MINE/problems.yml" "$MINE/recording.yml" "$MINE/review-rules.yml"
	assert_success
	run promtool check rules "$MINE/broken.yml"
	assert_failure
}

@test "hygiene: --fail-on picks the level that fails the run" {
	# WorkerStuck alone: a warning only.
	sed -n '1,5p;19,24p' "$MINE/problems.yml" > "$BATS_TEST_TMPDIR/w.yml"
	run esc-report hygiene "$BATS_TEST_TMPDIR/w.yml"
	assert_success
	assert_output "$BATS_TEST_TMPDIR/w.yml:7: warning: alert WorkerStuck: no severity label (the policy treats it as warning) (no-severity)"
	run esc-report hygiene --fail-on warning "$BATS_TEST_TMPDIR/w.yml"
	assert_failure 1
	run esc-report hygiene --fail-on never "$MINE/problems.yml"
	assert_success
	run esc-report hygiene --fail-on fatal "$MINE/problems.yml"
	assert_failure 2
	assert_line --index 0 'esc-report: --fail-on: not a level: fatal'
}

@test "hygiene: -f json and -f github" {
	run bash -c "esc-report hygiene -f json '$MINE/problems.yml' | jq -c 'select(.check == \"unknown-severity\")'"
	assert_output "{\"file\":\"$MINE/problems.yml\",\"line\":29,\"severity\":\"error\",\"check\":\"unknown-severity\",\"alert\":\"CacheCold\",\"message\":\"alert CacheCold: severity \\\"urgent\\\" is not one the policy maps\"}"
	run esc-report hygiene -f github "$MINE/problems.yml"
	assert_failure 1
	assert_line --index 0 "::error file=$MINE/problems.yml,line=7,title=no-runbook::alert DiskGone: critical alert without runbook_url"
	assert_line --index 6 "::warning file=$MINE/problems.yml,line=20,title=no-severity::alert WorkerStuck: no severity label (the policy treats it as warning)"
}

@test "hygiene: --policy finds timelines for alerts no rule file defines" {
	run esc-report hygiene --policy --fail-on never "$MINE/problems.yml"
	assert_success
	# problems.yml defines StemeDBAPIDown; the other three timelines name
	# alerts it does not.
	for a in WALDiskNearlyFull ReplicationLagCritical HighAPIErrorRate; do
		n=$(grep -n "\"$a\": {" "$POLICY" | cut -d: -f1)
		assert_line "$POLICY:$n: error: policy timeline for $a, an alert no rule file defines (unknown-alert)"
	done
	run bash -c "esc-report hygiene --policy '$MINE/problems.yml' | grep -c unknown-alert"
	assert_output 3
}

@test "hygiene: broken YAML is exit 2 with its line and column, nothing else" {
	run esc-report hygiene "$MINE/broken.yml" "$MINE/problems.yml"
	assert_failure 2
	assert_line --index 0 "esc-report: $MINE/broken.yml:6:8: YAML error: did not find expected '-' indicator (while parsing a block collection)"
	# The rule before the error is not reported; the next file still is.
	refute_line --partial 'Oops'
	assert_line "$MINE/problems.yml:7: error: alert DiskGone: critical alert without runbook_url (no-runbook)"
}

@test "hygiene: an empty file and a file of recording rules are clean" {
	run esc-report hygiene "$MINE/empty.yml" "$MINE/recording.yml"
	assert_success
	assert_output ''
}

@test "hygiene: a YAML file of another kind, and a missing file, are exit 2" {
	run esc-report hygiene "$MINE/deployment.yml"
	assert_failure 2
	assert_output "esc-report: $MINE/deployment.yml:1: not a Prometheus rule file: no groups: (nor spec: groups:)"
	run esc-report hygiene "$MINE/none.yml"
	assert_failure 2
	assert_output "esc-report: $MINE/none.yml: No such file or directory"
}

@test "hygiene: standard input" {
	run bash -c "esc-report hygiene < '$MINE/problems.yml' | head -1"
	assert_output "-:7: error: alert DiskGone: critical alert without runbook_url (no-runbook)"
}

@test "hygiene: a huge file (20000 alerts) with known problems" {
	# Rule i: critical when i % 5 == 0, else warning; a runbook_url when
	# i % 2 == 0; no summary when i % 4 == 0.
	awk 'BEGIN {
		print "groups:\n  - name: huge\n    rules:"
		for (i = 0; i < 20000; i++) {
			printf "      - alert: Huge%05d\n        expr: metric_%d > 1\n", i, i
			printf "        labels:\n          severity: %s\n", i % 5 ? "warning" : "critical"
			printf "        annotations:\n          description: rule %d\n", i
			if (i % 2 == 0)
				printf "          runbook_url: https://runbooks.example.com/%d\n", i
			if (i % 4)
				printf "          summary: Metric %d is over 1\n", i
		}
	}' > "$BATS_TEST_TMPDIR/huge.yml"
	run bash -c "esc-report hygiene '$BATS_TEST_TMPDIR/huge.yml' | sed 's/.*(\([a-z-]*\))\$/\1/' |
	    sort | uniq -c | awk '{ print \$1, \$2 }'"
	# no-action: odd i, 10000.  no-runbook: i % 5 == 0 and odd, 2000.
	# no-summary: i % 4 == 0, 5000.
	assert_output "$(printf '10000 no-action\n2000 no-runbook\n5000 no-summary')"
	n=$(grep -n 'alert: Huge19999$' "$BATS_TEST_TMPDIR/huge.yml" | cut -d: -f1)
	run bash -c "esc-report hygiene '$BATS_TEST_TMPDIR/huge.yml' | tail -1"
	assert_output "$BATS_TEST_TMPDIR/huge.yml:$n: error: alert Huge19999: no defined action (runbook_url or an action annotation) (no-action)"
}

@test "hygiene: a rule file nested past 64 levels is refused, not a stack overflow" {
	{
		printf 'groups:\n  - name: g\n    rules:\n      - alert: Deep\n        expr: up\n        labels: '
		printf '[%.0s' $(seq 1 5000)
		printf ']%.0s' $(seq 1 5000)
		echo
	} > "$BATS_TEST_TMPDIR/deep.yml"
	run esc-report hygiene "$BATS_TEST_TMPDIR/deep.yml"
	assert_failure 2
	assert_output "esc-report: $BATS_TEST_TMPDIR/deep.yml:6:80: YAML error: nesting deeper than 64 levels"
}
