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

# agrees_with_pyyaml FILE: esc-report's count of each check in FILE is
# what t/fixtures/report/hygiene-count.py (PyYAML) counts.
agrees_with_pyyaml() {
	run bash -c "esc-report hygiene '$1' | sed 's/.*(\([a-z-]*\))\$/\1/' |
	    sort | uniq -c | awk '{ print \$1, \$2 }'"
	esc="$output"
	run "$PY" "$FIX/report/hygiene-count.py" "$1"
	assert_output "$esc"
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
	# no runbook_url (104 alerts, 38 of them critical: no-runbook, the
	# other 66 no-action, one finding per cause); kube-prometheus's
	# 125 alerts have runbook_url and summary.
	assert_output "$(printf '66 no-action\n38 no-runbook')"
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
$MINE/problems.yml:7: error: alert DiskGone: no summary annotation (no-summary)
$MINE/problems.yml:17: error: alert QueueSlow: runbook_url is an empty template (empty-runbook)
$MINE/problems.yml:18: error: alert QueueSlow: summary is an empty template (empty-summary)
$MINE/problems.yml:20: warning: alert WorkerStuck: no severity label (the policy treats it as warning) (no-severity)
$MINE/problems.yml:29: error: alert CacheCold: severity \"urgent\" is not one the policy maps (unknown-severity)"
	[ -n "$PYYAML" ] || skip "python3-yaml is not installed"
	agrees_with_pyyaml "$MINE/problems.yml"
}

@test "hygiene: the made-up rule files are valid to promtool" {
	command -v promtool >/dev/null || skip "promtool is not installed (Debian package prometheus)"
	# So what hygiene finds in them is hygiene, not syntax.
	run promtool check rules "$MINE/problems.yml" "$MINE/recording.yml" "$MINE/review-rules.yml"
	assert_success
	run promtool check rules "$MINE/broken.yml"
	assert_failure
	# An alias of a whole rule is a second rule to Prometheus too (a
	# duplicate to its linter).
	run promtool check rules --lint=none "$MINE/aliases.yml"
	assert_success
	assert_output --partial 'SUCCESS: 6 rules found'
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
	assert_line --index 4 "::warning file=$MINE/problems.yml,line=20,title=no-severity::alert WorkerStuck: no severity label (the policy treats it as warning)"
}

@test "hygiene: --timelines finds timelines for alerts no rule file defines" {
	run esc-report hygiene --timelines --fail-on never "$MINE/problems.yml"
	assert_success
	# problems.yml defines StemeDBAPIDown; the other three timelines name
	# alerts it does not.
	for a in WALDiskNearlyFull ReplicationLagCritical HighAPIErrorRate; do
		n=$(grep -n "\"$a\": {" "$POLICY" | cut -d: -f1)
		assert_line "$POLICY:$n: error: policy timeline for $a, an alert no rule file defines (unknown-alert)"
	done
	run bash -c "esc-report hygiene --timelines '$MINE/problems.yml' | grep -c unknown-alert"
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
	# no runbook: odd i, 10000; 2000 of them critical (i % 5 == 0) are
	# no-runbook, the other 8000 no-action.
	# no-summary: i % 4 == 0, 5000.
	assert_output "$(printf '8000 no-action\n2000 no-runbook\n5000 no-summary')"
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

@test "hygiene: malformed YAML is exit 2 with file:line, never a hang" {
	# Each of these once spun at 100% CPU: an error inside a value the
	# walk skipped was not seen, and libyaml then gave no event forever.
	# timeout turns a hang back into a failure of this test.
	printf 'groups:\n- [a\n' > "$BATS_TEST_TMPDIR/a.yml"
	printf 'groups:\n  - name: g\n    rules: [a\n' > "$BATS_TEST_TMPDIR/b.yml"
	printf 'spec: [a\n' > "$BATS_TEST_TMPDIR/c.yml"
	printf 'groups: []\nother: {a: [b\n' > "$BATS_TEST_TMPDIR/d.yml"
	run timeout 10 esc-report hygiene "$BATS_TEST_TMPDIR/a.yml"
	assert_failure 2
	assert_output "esc-report: $BATS_TEST_TMPDIR/a.yml:3:1: YAML error: did not find expected ',' or ']' (while parsing a flow sequence)"
	run timeout 10 esc-report hygiene "$BATS_TEST_TMPDIR/b.yml"
	assert_failure 2
	assert_output "esc-report: $BATS_TEST_TMPDIR/b.yml:4:1: YAML error: did not find expected ',' or ']' (while parsing a flow sequence)"
	run timeout 10 esc-report hygiene "$BATS_TEST_TMPDIR/c.yml"
	assert_failure 2
	assert_output "esc-report: $BATS_TEST_TMPDIR/c.yml:2:1: YAML error: did not find expected ',' or ']' (while parsing a flow sequence)"
	run timeout 10 esc-report hygiene "$BATS_TEST_TMPDIR/d.yml" "$MINE/problems.yml"
	assert_failure 2
	assert_line --index 0 "esc-report: $BATS_TEST_TMPDIR/d.yml:3:1: YAML error: did not find expected ',' or ']' (while parsing a flow sequence)"
	# The next file is still linted.
	assert_line "$MINE/problems.yml:7: error: alert DiskGone: critical alert without runbook_url (no-runbook)"
	run timeout 10 esc-report review --rules "$BATS_TEST_TMPDIR/a.yml" /dev/null
	assert_failure 2
	assert_line --index 0 "esc-report: $BATS_TEST_TMPDIR/a.yml:3:1: YAML error: did not find expected ',' or ']' (while parsing a flow sequence)"
}

@test "hygiene: a byte that is not UTF-8 is reported on its own line" {
	printf 'groups:\n  - name: g\n    rules:\n      - alert: Caf\377 ok\n' > "$BATS_TEST_TMPDIR/l1.yml"
	run timeout 10 esc-report hygiene "$BATS_TEST_TMPDIR/l1.yml"
	assert_failure 2
	assert_output "esc-report: $BATS_TEST_TMPDIR/l1.yml:4:19: YAML error: invalid leading UTF-8 octet"
	# Past the first 16 KiB that libyaml reads at a time.
	{ printf 'groups:\n  - name: g\n    rules:\n'
	  for i in $(seq 1 2000); do printf '      # padding %04d\n' "$i"; done
	  printf '      - alert: A\n        expr: up\x01\n'; } > "$BATS_TEST_TMPDIR/l2.yml"
	run timeout 10 esc-report hygiene "$BATS_TEST_TMPDIR/l2.yml"
	assert_failure 2
	assert_output "esc-report: $BATS_TEST_TMPDIR/l2.yml:2005:17: YAML error: control characters are not allowed"
}

@test "hygiene: anchors, aliases and merge keys, as Prometheus reads them" {
	# annotations: *ann, labels: *crit, <<: *ann and <<: [*crit] are the
	# anchored mappings; "- *bare" is the critical rule without a runbook
	# a second time (its problems point at the rule's own text).
	run timeout 10 esc-report hygiene "$MINE/aliases.yml"
	assert_failure 1
	assert_output "$MINE/aliases.yml:35: error: alert DiskFullD: summary is an empty template (empty-summary)
$MINE/aliases.yml:37: error: alert BareCritical: critical alert without runbook_url (no-runbook)
$MINE/aliases.yml:37: error: alert BareCritical: no summary annotation (no-summary)
$MINE/aliases.yml:37: error: alert BareCritical: critical alert without runbook_url (no-runbook)
$MINE/aliases.yml:37: warning: alert BareCritical: the same name and labels as the rule at line 37 (duplicate-rule)
$MINE/aliases.yml:37: error: alert BareCritical: no summary annotation (no-summary)"
	[ -n "$PYYAML" ] || skip "python3-yaml is not installed"
	agrees_with_pyyaml "$MINE/aliases.yml"
}

@test "hygiene: an anchor defined again: an alias names the latest, as in Prometheus" {
	cat > "$BATS_TEST_TMPDIR/again.yml" <<-'EOF'
	groups:
	  - name: g
	    rules:
	      - alert: A
	        expr: up == 0
	        labels: &l {severity: critical}
	        annotations: {summary: a, runbook_url: "https://runbooks.example.com/A"}
	      - alert: B
	        expr: up == 0
	        labels: &l {severity: warning}
	        annotations: {summary: b, runbook_url: "https://runbooks.example.com/B"}
	      - alert: C
	        expr: up == 1
	        labels: *l
	        annotations: {summary: c}
	EOF
	run timeout 10 esc-report hygiene "$BATS_TEST_TMPDIR/again.yml"
	assert_failure 1
	# A warning: no runbook is no action, but not "critical without one".
	assert_output "$BATS_TEST_TMPDIR/again.yml:12: error: alert C: no defined action (runbook_url or an action annotation) (no-action)"
	printf 'groups:\n  - *nowhere\n' > "$BATS_TEST_TMPDIR/undef.yml"
	run timeout 10 esc-report hygiene "$BATS_TEST_TMPDIR/undef.yml"
	assert_failure 2
	assert_output "esc-report: $BATS_TEST_TMPDIR/undef.yml:2:5: YAML error: found undefined alias nowhere"
	command -v promtool >/dev/null || skip "promtool is not installed (Debian package prometheus)"
	run promtool check rules "$BATS_TEST_TMPDIR/again.yml"
	assert_success
}

@test "hygiene: merges and aliases in the structure, and a merge of a scalar" {
	cat > "$BATS_TEST_TMPDIR/m.yml" <<-'EOF'
	groups:
	  - &g
	    name: base
	    rules:
	      - alert: Merged
	        expr: up == 0
	        labels: {severity: critical}
	  - <<: *g
	    name: again
	EOF
	run timeout 10 esc-report hygiene "$BATS_TEST_TMPDIR/m.yml"
	assert_failure 1
	assert_line --index 0 "$BATS_TEST_TMPDIR/m.yml:5: error: alert Merged: critical alert without runbook_url (no-runbook)"
	assert_line --index 2 "$BATS_TEST_TMPDIR/m.yml:5: error: alert Merged: critical alert without runbook_url (no-runbook)"
	assert_line --index 3 "$BATS_TEST_TMPDIR/m.yml:5: warning: alert Merged: the same name and labels as the rule at line 5 (duplicate-rule)"
	assert_equal "${#lines[@]}" 5
	cat > "$BATS_TEST_TMPDIR/s.yml" <<-'EOF'
	groups:
	  - name: g
	    rules:
	      - alert: A
	        expr: up == 0
	        labels:
	          <<: critical
	EOF
	run timeout 10 esc-report hygiene "$BATS_TEST_TMPDIR/s.yml"
	assert_failure 2
	assert_output "esc-report: $BATS_TEST_TMPDIR/s.yml:7:15: YAML error: << merges a mapping or a sequence of mappings, not this"
}

@test "hygiene: aliases that expand without end are refused (billion laughs)" {
	{
		printf 'groups:\n  - name: lol\n    rules:\n      - alert: Lol\n        expr: up\n        labels:\n'
		printf '          a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n'
		prev=a
		for n in b c d e f g h i; do
			printf '          %s: &%s [*%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s]\n' \
			    $n $n $prev $prev $prev $prev $prev $prev $prev $prev $prev $prev
			prev=$n
		done
	} > "$BATS_TEST_TMPDIR/lol.yml"
	run timeout 10 esc-report hygiene "$BATS_TEST_TMPDIR/lol.yml"
	assert_failure 2
	assert_output --regexp "^esc-report: $BATS_TEST_TMPDIR/lol.yml:[0-9]+:[0-9]+: YAML error: aliases expand the document past 1000000 nodes\$"
	# A mapping that holds itself: deep, not endless.
	printf 'groups:\n  - name: g\n    rules:\n      - alert: Self\n        labels: &l {me: *l}\n' > "$BATS_TEST_TMPDIR/self.yml"
	run timeout 10 esc-report hygiene "$BATS_TEST_TMPDIR/self.yml"
	assert_failure 2
	assert_output "esc-report: $BATS_TEST_TMPDIR/self.yml:5:17: YAML error: nesting deeper than 64 levels"
}

@test "hygiene: a name with a line break or an escape stays on its line (text, github)" {
	# A CI runner reads each line of a step's output; a line of its own
	# that starts with :: is a workflow command.
	cat > "$BATS_TEST_TMPDIR/inj.yml" <<-'EOF'
	groups:
	  - name: g
	    rules:
	      - alert: "Evil\e[2J\n::error file=x,line=1::pwned\r%0A\u0085"
	        expr: up == 0
	        labels:
	          severity: critical
	EOF
	run esc-report hygiene "$BATS_TEST_TMPDIR/inj.yml"
	assert_failure 1
	assert_equal "${#lines[@]}" 2
	assert_line --index 0 "$BATS_TEST_TMPDIR/inj.yml:4: error: alert Evil\\x1b[2J\\n::error file=x,line=1::pwned\\r%0A\\u0085: critical alert without runbook_url (no-runbook)"
	run esc-report hygiene -f github "$BATS_TEST_TMPDIR/inj.yml"
	assert_failure 1
	assert_equal "${#lines[@]}" 2
	assert_line --index 0 "::error file=$BATS_TEST_TMPDIR/inj.yml,line=4,title=no-runbook::alert Evil"$'\e'"[2J%0A::error file=x,line=1::pwned%0D%250A"$'\u0085'": critical alert without runbook_url"
	# And a file name with a comma, a colon and a line break.
	f="$BATS_TEST_TMPDIR/a,b:c"$'\n'"::warning::x.yml"
	cp "$BATS_TEST_TMPDIR/inj.yml" "$f"
	run esc-report hygiene -f github "$f"
	assert_equal "${#lines[@]}" 2
	assert_line --index 0 --partial "::error file=${BATS_TEST_TMPDIR//:/%3A}/a%2Cb%3Ac%0A%3A%3Awarning%3A%3Ax.yml,line=4,title=no-runbook::alert Evil"
	run esc-report hygiene "$f"
	assert_equal "${#lines[@]}" 2
	assert_line --index 0 --partial "$BATS_TEST_TMPDIR/a,b:c\\n::warning::x.yml:4: error: alert Evil"
}

@test "hygiene: {} and null files are zero rules, as promtool takes them; an empty file and groups: [] too" {
	d=$BATS_TEST_TMPDIR
	printf '{}\n' >"$d/a.yml"
	printf 'null\n' >"$d/b.yml"
	printf '~\n---\n{}\n' >"$d/c.yml"
	: >"$d/d.yml"
	printf 'groups: []\n' >"$d/e.yml"
	run esc-report hygiene "$d/a.yml" "$d/b.yml" "$d/c.yml" "$d/d.yml" "$d/e.yml"
	assert_success
	assert_output ''
	# A mapping with something else than groups is still not rules.
	printf 'foo: 1\n' >"$d/f.yml"
	run esc-report hygiene "$d/f.yml"
	assert_failure 2
	assert_output "esc-report: $d/f.yml:1: not a Prometheus rule file: no groups: (nor spec: groups:)"
}

@test "hygiene: one finding per cause; runbook: counts as a runbook, as in esc-classify" {
	cat >"$BATS_TEST_TMPDIR/r.yml" <<'EOF2'
groups:
  - name: g
    rules:
      - alert: CritNoRunbook
        expr: up == 0
        labels: {severity: critical}
        annotations: {summary: down}
      - alert: CritRunbookKey
        expr: up == 0
        labels: {severity: critical}
        annotations: {summary: down, runbook: "https://runbooks.example/x"}
      - alert: WarnNothing
        expr: up == 0
        labels: {severity: warning}
        annotations: {summary: down}
EOF2
	run esc-report hygiene "$BATS_TEST_TMPDIR/r.yml"
	assert_failure 1
	assert_output "$BATS_TEST_TMPDIR/r.yml:4: error: alert CritNoRunbook: critical alert without runbook_url (no-runbook)
$BATS_TEST_TMPDIR/r.yml:12: error: alert WarnNothing: no defined action (runbook_url or an action annotation) (no-action)"
	# esc-classify takes the same annotation as the runbook.
	run bash -c "jq -nc '{labels: {alertname: \"CritRunbookKey\", severity: \"critical\"}, annotations: {summary: \"down\", runbook: \"https://runbooks.example/x\"}, status: \"firing\"}' | esc-classify | jq -c '[.runbook, .hygiene]'"
	assert_output '["https://runbooks.example/x",[]]'
}

@test "hygiene: a rule with the name and labels of another in the file is a duplicate, as promtool says" {
	cat >"$BATS_TEST_TMPDIR/dup.yml" <<'EOF2'
groups:
  - name: one
    rules:
      - alert: Same
        expr: up == 0
        labels: {severity: warning, team: a}
        annotations: {summary: s, runbook_url: "https://r.example/s"}
      - alert: Same
        expr: up == 0
        labels: {severity: warning, team: b}
        annotations: {summary: s, runbook_url: "https://r.example/s"}
  - name: two
    rules:
      - alert: Same
        expr: up == 1
        labels: {team: a, severity: warning}
        annotations: {summary: s, runbook_url: "https://r.example/s"}
EOF2
	run esc-report hygiene "$BATS_TEST_TMPDIR/dup.yml"
	assert_success
	assert_output "$BATS_TEST_TMPDIR/dup.yml:14: warning: alert Same: the same name and labels as the rule at line 4 (duplicate-rule)"
	[ -n "$PYYAML" ] || skip "python3-yaml is not installed"
	agrees_with_pyyaml "$BATS_TEST_TMPDIR/dup.yml"
}

@test "hygiene: -f github: a file that is not rules is an ::error annotation too" {
	bats_require_minimum_version 1.5.0
	printf 'groups:\n  - name: [\n' >"$BATS_TEST_TMPDIR/bad.yml"
	run --separate-stderr esc-report hygiene -f github "$BATS_TEST_TMPDIR/bad.yml"
	assert_failure 2
	assert_output --regexp "^::error file=$BATS_TEST_TMPDIR/bad.yml,line=[0-9]+,col=[0-9]+,title=rule-file::YAML error: "
	[[ $stderr == "esc-report: $BATS_TEST_TMPDIR/bad.yml:"* ]]
}
