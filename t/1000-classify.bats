#!/usr/bin/env bats
# esc-classify: normalization of every input form, severity, runbook,
# hygiene, pass-through.

load test_helper
bats_require_minimum_version 1.5.0

NOW=2026-11-27T10:05:00Z

@test "a plain alert becomes an exact alert record" {
	run esc-classify --now "$NOW" <<<'{"name":"DiskFull","severity":"warning","labels":{"instance":"db1"},"summary":"disk 91% full","starts_at":"2026-11-27T10:00:00Z","team":"storage"}'
	assert_success
	assert_output '{"type":"alert","id":"48c0674ebf9ac78b","name":"DiskFull","status":"firing","severity":"warning","starts_at":"2026-11-27T10:00:00Z","ends_at":null,"labels":{"instance":"db1","alertname":"DiskFull","severity":"warning"},"annotations":{},"summary":"disk 91% full","runbook":null,"hygiene":[],"why":"severity label: warning","source":"plain","team":"storage"}'
}

@test "ids are Alertmanager fingerprints, computed alike when absent" {
	# Strip the fingerprints that Alertmanager gave: ours must be the same.
	run bash -c "jq -c '.[] | {labels, annotations, startsAt}' '$FIX/alertmanager/api-v2-alerts.json' |
	    esc-classify --now $NOW | jq -r .id | sort"
	assert_success
	assert_output "$(jq -r '.[].fingerprint' "$FIX/alertmanager/api-v2-alerts.json" | sort)"
}

@test "Alertmanager API v2 objects: severity, why, suppressed, hygiene" {
	run bash -c "jq -c '.[]' '$FIX/alertmanager/api-v2-alerts.json' | esc-classify --now 2026-11-28T04:15:00Z |
	    jq -r '[.name, .status, .severity, .why, (.suppressed // false), (.hygiene|join(\",\")), .source] | @tsv'"
	assert_success
	assert_output "$(printf '%s\n' \
	    'StemeDBAPIDown	firing	critical	rule: seed: StemeDBAPIDown	false		alertmanager-api' \
	    'HighAPIErrorRate	firing	warning	rule: seed: HighAPIErrorRate	true		alertmanager-api' \
	    'CertExpiry	firing	warning	severity label: warning	true		alertmanager-api' \
	    'ReplicationLagCritical	firing	critical	rule: seed: ReplicationLagCritical	false		alertmanager-api' \
	    'WALDiskNearlyFull	firing	critical	rule: seed: WALDiskNearlyFull	false		alertmanager-api' \
	    'NoisyCPU	firing	warning	default	false	no-summary,no-severity	alertmanager-api' \
	    'BackupStale	firing	info	severity label: info	false		alertmanager-api')"
}

@test "silenced and inhibited alerts say by what" {
	run bash -c "jq -c '.[]' '$FIX/alertmanager/api-v2-alerts.json' | esc-classify --now 2026-11-28T04:15:00Z |
	    jq -c 'select(.suppressed) | [.name, (.silenced_by|length), (.inhibited_by|length)]'"
	assert_success
	assert_output $'["HighAPIErrorRate",0,1]\n["CertExpiry",1,0]'
}

@test "webhook bodies expand alerts and keep groupKey, receiver, externalURL" {
	run esc-classify --now 2026-11-28T04:15:00Z "$FIX/alertmanager/webhook-bodies.ndjson"
	assert_success
	assert_equal "$(head -n 1 <<<"$output" | jq -c '[.groupKey, .receiver, .externalURL] == [.group_key, .receiver, .external_url]')" true
	run jq -r '[.name, .status, .source, .receiver, .group_key, (.external_url|test("^http://"))] | @tsv' <<<"$output"
	assert_output "$(printf '%s\n' \
	    'ReplicationLagCritical	firing	alertmanager-webhook	hook	{}:{alertname="ReplicationLagCritical", instance="db-3"}	true' \
	    'WALDiskNearlyFull	firing	alertmanager-webhook	hook	{}:{alertname="WALDiskNearlyFull", instance="db-2"}	true' \
	    'StemeDBAPIDown	firing	alertmanager-webhook	hook	{}:{alertname="StemeDBAPIDown", instance="api-1"}	true' \
	    'BackupStale	firing	alertmanager-webhook	hook	{}:{alertname="BackupStale", instance="db-1"}	true' \
	    'NoisyCPU	firing	alertmanager-webhook	hook	{}:{alertname="NoisyCPU", instance="web-1"}	true' \
	    'WALDiskNearlyFull	resolved	alertmanager-webhook	hook	{}:{alertname="WALDiskNearlyFull", instance="db-2"}	true')"
}

@test "Grafana webhook bodies are recognized" {
	run bash -c "jq -c . '$FIX/grafana-webhook.json' | esc-classify --now $NOW"
	assert_success
	run jq -c '[.id, .name, .severity, .source, .starts_at, .runbook, .hygiene, .dashboard_url, .external_url]' <<<"$output"
	assert_output $'["c6eadffa33fcdf37","High memory usage","warning","grafana","2021-10-12T07:51:03Z","https://myrunbook.com/runbook/1234",["no-severity"],null,"https://play.grafana.org/"]\n["bc97ff14869b13e3","High CPU usage","critical","grafana","2021-10-12T07:56:03Z",null,["no-runbook"],null,"https://play.grafana.org/"]'
}

@test "records of other types pass through byte for byte" {
	in='{"type":"ack",  "incident":"abc","by":"alice","at":"2026-11-27T10:03:00Z","x":1.50}'
	run esc-classify --now "$NOW" <<<"$in"
	assert_success
	assert_output "$in"
}

@test "severity labels map through the policy table, case-insensitive" {
	run bash -c "for s in P1 Sev1 page CRITICAL p2 warn info P4 bogus; do
	    printf '{\"labels\":{\"alertname\":\"X\",\"severity\":\"%s\"}}\n' \$s; done |
	    esc-classify --now $NOW | jq -r '[.labels.severity, .severity, (.hygiene|join(\",\"))] | @tsv'"
	assert_success
	assert_output "$(printf '%s\n' 'P1	critical	no-summary,no-runbook' 'Sev1	critical	no-summary,no-runbook' \
	    'page	critical	no-summary,no-runbook' 'CRITICAL	critical	no-summary,no-runbook' \
	    'p2	warning	no-summary' 'warn	warning	no-summary' 'info	info	no-summary' \
	    'P4	info	no-summary' 'bogus	warning	no-summary,unknown-severity' | sed 's/no-summary,no-runbook/no-runbook,no-summary/')"
}

@test "a policy rule beats the severity label and gives the runbook" {
	run esc-classify --now "$NOW" <<<'{"labels":{"alertname":"StemeDBAPIDown","severity":"info"},"annotations":{"summary":"down"}}'
	assert_success
	run jq -c '[.severity, .why, .runbook, .hygiene]' <<<"$output"
	assert_output '["critical","rule: seed: StemeDBAPIDown","https://docs.stemedb.com/operations/runbooks/StemeDBAPIDown",[]]'
}

@test "the runbook annotation wins over the policy's; runbook is an alias" {
	run esc-classify --now "$NOW" <<<'{"labels":{"alertname":"StemeDBAPIDown"},"annotations":{"runbook":"https://wiki/x","summary":"s"}}'
	assert_success
	assert_equal "$(jq -r .runbook <<<"$output")" "https://wiki/x"
}

@test "resolved: by status, or by endsAt in the past of --now" {
	run esc-classify --now "$NOW" <<EOF
{"name":"A","status":"resolved","starts_at":"2026-11-27T09:00:00Z"}
{"labels":{"alertname":"B"},"startsAt":"2026-11-27T09:00:00Z","endsAt":"2026-11-27T10:04:59Z","fingerprint":"f1","status":{"state":"active","silencedBy":[],"inhibitedBy":[]}}
{"labels":{"alertname":"C"},"startsAt":"2026-11-27T09:00:00Z","endsAt":"2026-11-27T10:09:00Z","fingerprint":"f2","status":{"state":"active","silencedBy":[],"inhibitedBy":[]}}
EOF
	assert_success
	run jq -r '[.name, .status, .ends_at] | @tsv' <<<"$output"
	assert_output $'A\tresolved\t\nB\tresolved\t2026-11-27T10:04:59Z\nC\tfiring\t2026-11-27T10:09:00Z'
}

@test "times: offsets and fractions become whole UTC seconds; ESC_NOW and @epoch" {
	run env ESC_NOW=@1764237600 esc-classify <<<'{"name":"A","starts_at":"2026-11-27T12:30:00.999-02:30"}'
	assert_success
	assert_equal "$(jq -r .starts_at <<<"$output")" "2026-11-27T15:00:00Z"
	# A plain alert without a start starts now.
	run env ESC_NOW=@1764237600 esc-classify <<<'{"name":"A"}'
	assert_equal "$(jq -r .starts_at <<<"$output")" "2025-11-27T10:00:00Z"
}

@test "bad lines are reported with file and line; good lines still go out" {
	f="$BATS_TEST_TMPDIR/in.ndjson"
	{
		echo '{"name":"Good1"}'
		echo 'not json'
		echo '{"name":"Trunc", "labels": {"a":'
		echo '[1,2]'
		printf '{"name":"Bad\xff"}\n'
		printf '{"name":"N\x00UL"}\n'
		echo '{"labels":{"alertname":"X","port":8080}}'
		echo '{"name":"T","starts_at":"yesterday"}'
		echo '{"name":"T","starts_at":1764237600}'
		echo '{"name":"T","starts_at":"2026-02-30T00:00:00Z"}'
		echo '{"labels":{"severity":"critical"}}'
		echo '{"name":7}'
		echo '{"name":"S","summary":["x"]}'
		echo '{"foo":"bar"}'
		echo '{"alerts":{"x":1}}'
		echo '{"name":"Good2"}'
	} > "$f"
	run esc-classify --now "$NOW" "$f"
	assert_failure 1
	# Good1, Good2, and the three alerts whose only fault is their time.
	assert_equal "$(grep -c '^{' <<<"$output")" 5
	assert_equal "$(grep '^{' <<<"$output" | jq -c 'select(.name == "T") | [.starts_at, .hygiene[-1]]' | sort -u)" \
	    "[\"$NOW\",\"bad-time\"]"
	assert_line --regexp '"name":"Good1"'
	assert_line "esc-classify: $f:2: not JSON: syntax error at byte 1"
	assert_line "esc-classify: $f:3: truncated JSON (ends inside a value)"
	# An array is read as jq reads it: its elements are the records.
	assert_line "esc-classify: $f:4: element 1 of the array is not a JSON object"
	assert_line "esc-classify: $f:4: element 2 of the array is not a JSON object"
	assert_line "esc-classify: $f:5: invalid UTF-8 at byte 13"
	assert_line "esc-classify: $f:6: NUL byte in line"
	assert_line "esc-classify: $f:7: labels.port: expected a string, got a number"
	assert_line "esc-classify: $f:8: starts_at: not an RFC 3339 time: yesterday (the alert starts now: bad-time)"
	assert_line "esc-classify: $f:9: starts_at: expected an RFC 3339 time, got a number (the alert starts now: bad-time)"
	assert_line "esc-classify: $f:10: starts_at: impossible date or time: 2026-02-30T00:00:00Z (the alert starts now: bad-time)"
	assert_line "esc-classify: $f:11: no alert name (labels.alertname, alertname or name)"
	assert_line "esc-classify: $f:12: name: expected a string, got a number"
	assert_line "esc-classify: $f:13: summary: expected a string, got an array"
	assert_line "esc-classify: $f:14: not an alert: no labels, alertname, name, alerts or type"
	assert_line "esc-classify: $f:15: alerts: expected an array, got an object"
	assert_line --regexp '"name":"Good2"'
}

@test "one bad alert in a webhook body does not lose the others" {
	run esc-classify --now "$NOW" <<<'{"version":"4","status":"firing","receiver":"r","groupKey":"g","alerts":[{"status":"firing","labels":{"alertname":"A"},"startsAt":"2026-11-27T10:00:00Z"},{"status":"firing","labels":{"alertname":"B"}},"x",{"status":"firing","labels":{"alertname":"C"},"startsAt":"2026-11-27T10:00:00Z"}]}'
	assert_failure 1
	# B has no startsAt: it is still an alert, starting now.
	assert_line "esc-classify: -:1: alerts[1].startsAt: missing (the alert starts now: bad-time)"
	assert_line "esc-classify: -:1: alerts[2].: expected an object, got a string"
	assert_equal "$(grep '^{' <<<"$output" | jq -r .name | tr '\n' ' ')" "A B C "
	assert_equal "$(grep '^{' <<<"$output" | jq -c 'select(.name == "B") | [.starts_at, .hygiene]')" \
	    "[\"$NOW\",[\"no-summary\",\"no-severity\",\"bad-time\"]]"
}

@test "times outside 0001..9999 after the offset are bad-time: the alert starts now" {
	local t
	RANGE='time out of range (0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z)'
	for t in 0000-06-01T00:00:00Z 0001-01-01T00:00:00+00:01 9999-12-31T23:59:60Z 9999-12-31T23:59:59-00:01; do
		run esc-classify --now "$NOW" <<<"{\"name\":\"E\",\"starts_at\":\"$t\"}"
		assert_failure 1
		assert_line "esc-classify: -:1: starts_at: $RANGE: $t (the alert starts now: bad-time)"
		assert_equal "$(grep '^{' <<<"$output" | jq -c '[.starts_at, .hygiene]')" "[\"$NOW\",[\"no-summary\",\"no-severity\",\"bad-time\"]]"
	done
	run esc-classify --now "$NOW" <<<'{"name":"E","starts_at":"10000-01-01T00:00:00Z"}'
	assert_failure 1
	assert_line "esc-classify: -:1: starts_at: not an RFC 3339 time: 10000-01-01T00:00:00Z (the alert starts now: bad-time)"
	# An end time that cannot be taken is ignored: the alert fires.
	run esc-classify --now "$NOW" <<<'{"name":"E","starts_at":"2026-11-27T10:00:00Z","ends_at":"0000-12-31T23:00:00Z"}'
	assert_failure 1
	assert_line "esc-classify: -:1: ends_at: $RANGE: 0000-12-31T23:00:00Z (ignored: bad-time)"
	assert_equal "$(grep '^{' <<<"$output" | jq -c '[.status, .starts_at, .ends_at, .hygiene[-1]]')" '["firing","2026-11-27T10:00:00Z",null,"bad-time"]'
	# The ends of the range themselves are times like any other.
	run esc-classify --now "$NOW" <<<'{"name":"E","starts_at":"0001-01-01T00:00:00-00:01","ends_at":"9999-12-31T23:59:59Z"}'
	assert_success
	assert_equal "$(jq -c '[.starts_at, .ends_at, .hygiene]' <<<"$output")" '["0001-01-01T00:01:00Z","9999-12-31T23:59:59Z",["no-summary","no-severity"]]'
	# The first second is Go's zero time, "no end", however it is written:
	# what esc writes for "no time" must read back as no time.
	for e in 0001-01-01T00:00:00Z 0001-01-01T00:30:00+00:30 @-62135596800; do
		run esc-classify --now "$NOW" <<<"{\"name\":\"E\",\"starts_at\":\"2026-11-27T10:00:00Z\",\"ends_at\":\"$e\"}"
		assert_equal "$(jq -c '[.status, .ends_at]' <<<"$output")" '["firing",null]'
	done
	run esc-classify --now 9999-12-31T23:59:60Z </dev/null
	assert_failure 2
	assert_output "esc-classify: --now: $RANGE: 9999-12-31T23:59:60Z"
}

@test "--rejected: a rejected record for each alert that cannot be read, naming what it could have been" {
	f=$BATS_TEST_TMPDIR/in.ndjson
	{
		echo '{"labels":{"alertname":"X","port":8080},"fingerprint":"ff01","status":{"state":"active"},"startsAt":"2026-11-27T10:00:00Z"}'
		echo '{"name":"S","summary":["x"],"labels":{"instance":"a"}}'
		echo 'not json'
		echo '{"version":"4","alerts":[{"labels":{"alertname":"A"},"startsAt":"2026-11-27T10:00:00Z"},7]}'
	} >"$f"
	run esc-classify --rejected --now "$NOW" "$f"
	assert_failure 1
	assert_equal "$(grep '^{' <<<"$output" | jq -c 'select(.type == "rejected") | del(.file)')" "$(printf '%s\n' \
	    '{"type":"rejected","record":"alert","source":"alertmanager-api","reason":"labels.port: expected a string, got a number","at":"2026-11-27T10:05:00Z","line":1,"alert":"ff01","alertname":"X","labels":null}' \
	    '{"type":"rejected","record":"alert","source":"plain","reason":"summary: expected a string, got an array","at":"2026-11-27T10:05:00Z","line":2,"alert":"bc77f35ef158aed3","alertname":"S","labels":{"instance":"a","alertname":"S"}}' \
	    '{"type":"rejected","record":"alert","source":null,"reason":"not JSON: syntax error at byte 1","at":"2026-11-27T10:05:00Z","line":3,"alert":null,"alertname":null,"labels":null}' \
	    '{"type":"rejected","record":"alert","source":"alertmanager-webhook","reason":"alerts[1].: expected an object, got a number","at":"2026-11-27T10:05:00Z","line":4,"alert":null,"alertname":null,"labels":null}')"
	assert_equal "$(grep '^{' <<<"$output" | jq -r 'select(.type == "rejected") | .file' | sort -u)" "$f"
	# The id a rejected plain alert names is the one it would have had.
	run esc-classify --now "$NOW" <<<'{"name":"S","labels":{"instance":"a"}}'
	assert_equal "$(jq -r .id <<<"$output")" bc77f35ef158aed3
	# Without --rejected, only standard error says it.
	run esc-classify --now "$NOW" "$f"
	assert_failure 1
	refute_output --partial '"rejected"'
}

@test "a line over the limit is an error for that line only; --max-line raises it" {
	f="$BATS_TEST_TMPDIR/big.ndjson"
	{
		echo '{"name":"Before"}'
		printf '{"name":"Huge","summary":"%s"}\n' "$(head -c 1100000 /dev/zero | tr '\0' x)"
		echo '{"name":"After"}'
	} > "$f"
	run esc-classify --now "$NOW" "$f"
	assert_failure 1
	assert_line "esc-classify: $f:2: line longer than 1048576 bytes (see --max-line)"
	assert_equal "$(grep '^{' <<<"$output" | jq -r .name | tr '\n' ' ')" "Before After "
	run esc-classify --now "$NOW" --max-line 2M "$f"
	assert_success
	assert_equal "$(jq -r .name <<<"$output" | tr '\n' ' ')" "Before Huge After "
}

@test "oversized strings are cut at 4 KiB on a character boundary, marked, and flagged oversized" {
	f="$BATS_TEST_TMPDIR/huge.ndjson"
	# An API alert as Alertmanager holds it: a 1.5 MB description, a
	# 300 KB summary of 3-byte characters, a stack trace as a label, a
	# huge generatorURL; and its twin, whose trace differs at the end.
	"$PY" - "$f" <<-'PY'
	import json, sys
	def alert(fp, tail):
	    return {"labels": {"alertname": "Huge", "severity": "critical",
	                       "instance": "db-1", "trace": "é" * 3000 + tail},
	            "annotations": {"summary": "€" * 100000,
	                            "description": "x" * 1500000,
	                            "runbook_url": "https://runbooks.example/Huge"},
	            "startsAt": "2026-11-27T10:00:00Z",
	            "endsAt": "0001-01-01T00:00:00Z", "fingerprint": fp,
	            "status": {"state": "active", "silencedBy": [], "inhibitedBy": []},
	            "generatorURL": "http://prometheus:9090/graph?g0.expr=" + "q" * 200000}
	with open(sys.argv[1], "w") as o:
	    for fp, tail in (("00000000000000aa", "a"), ("00000000000000bb", "b")):
	        o.write(json.dumps(alert(fp, tail), ensure_ascii=False) + "\n")
	PY
	run --separate-stderr esc-classify --now "$NOW" --max-line 4M "$f"
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(LC_ALL=C awk '{ print (length($0) < 65536) }' <<<"$output" | tr -d '\n')" 11
	run jq -c '[.id, .name, .severity, .hygiene, .truncated,
	    (.summary | utf8bytelength <= 4096), (.summary | test("^€+…\\[truncated\\]$")),
	    (.annotations.description | utf8bytelength <= 4096),
	    (.annotations.description | endswith("x…[truncated]")),
	    (.generator_url | test("^http://prometheus:9090/graph\\?g0.expr=q+…\\[truncated\\]$")),
	    (.labels.trace | utf8bytelength <= 4096), (.labels.trace | test("^é+…\\[truncated:[0-9a-f]{16}\\]$")),
	    .labels.instance, .annotations.runbook_url, .runbook]' <<<"$output"
	assert_output - <<-'OUT'
	["00000000000000aa","Huge","critical",["oversized"],["labels.trace","annotations.summary","annotations.description","summary","generator_url"],true,true,true,true,true,true,true,"db-1","https://runbooks.example/Huge","https://runbooks.example/Huge"]
	["00000000000000bb","Huge","critical",["oversized"],["labels.trace","annotations.summary","annotations.description","summary","generator_url"],true,true,true,true,true,true,true,"db-1","https://runbooks.example/Huge","https://runbooks.example/Huge"]
	OUT
	# Cut alike, the two label sets stay two: the marker keeps a hash of
	# the whole value.
	assert_equal "$(esc-classify --now "$NOW" --max-line 4M "$f" | jq -r .labels.trace | sort -u | wc -l)" 2
}

@test "a label set too big even with its values cut is pruned to a bounded, still distinct, one" {
	"$PY" - "$BATS_TEST_TMPDIR/many.ndjson" <<-'PY'
	import json, sys
	with open(sys.argv[1], "w") as o:
	    for k in ("a", "b"):
	        labels = {"alertname": "Many", "severity": "warning"}
	        labels.update({"l%04d" % i: "v" * 3000 for i in range(400)})
	        labels["zz"] = k
	        ann = {"summary": "many labels"}
	        ann.update({"a%04d" % i: "w" * 3000 for i in range(400)})
	        o.write(json.dumps({"labels": labels, "annotations": ann, "unknown": ["u" * 3000] * 400,
	                            "starts_at": "2026-11-27T10:00:00Z"}) + "\n")
	PY
	run --separate-stderr esc-classify --now "$NOW" --max-line 8M "$BATS_TEST_TMPDIR/many.ndjson"
	assert_success
	recs=$output
	assert_equal "$(LC_ALL=C awk '{ print (length($0) < 65536) }' <<<"$recs" | tr -d '\n')" 11
	run jq -c '[.name, .severity, .summary, .hygiene, .labels.alertname, .labels.severity, (.labels.esc_truncated | test("^[0-9a-f]{16}$"))]' <<<"$recs"
	assert_output - <<-'OUT'
	["Many","warning","many labels",["oversized"],"Many","warning",true]
	["Many","warning","many labels",["oversized"],"Many","warning",true]
	OUT
	# The ids come from the whole labels, and the pruned sets differ.
	assert_equal "$(jq -r .id <<<"$recs" | sort -u | wc -l)" 2
	assert_equal "$(jq -r .labels.esc_truncated <<<"$recs" | sort -u | wc -l)" 2
}

@test "nesting deeper than the parser's limit is refused, not a crash" {
	deep=$(printf '{"name":"D","labels":{"alertname":"D"},"x":%s1%s}' \
	    "$(printf '[%.0s' $(seq 1 1100))" "$(printf ']%.0s' $(seq 1 1100))")
	run esc-classify --now "$NOW" <<<"$deep"
	assert_failure 1
	assert_output 'esc-classify: -:1: nesting deeper than 1000 levels'
}

@test "a missing file is an error; the other files are still read" {
	echo '{"name":"A"}' > "$BATS_TEST_TMPDIR/a"
	run esc-classify --now "$NOW" "$BATS_TEST_TMPDIR/nope" "$BATS_TEST_TMPDIR/a"
	assert_failure 1
	assert_line "esc-classify: $BATS_TEST_TMPDIR/nope: No such file or directory"
	assert_line --regexp '"name":"A"'
}

@test "a full disk on standard output is an error" {
	[ -w /dev/full ] || skip "no /dev/full"
	run bash -c "echo '{\"name\":\"A\"}' | esc-classify --now $NOW > /dev/full"
	assert_failure 1
	assert_output "esc-classify: standard output: No space left on device"
}

@test "bad --now, bad ESC_NOW and bad options are usage errors" {
	run esc-classify --now yesterday </dev/null
	assert_failure 2
	assert_output "esc-classify: --now: not an RFC 3339 time: yesterday"
	run env ESC_NOW=soon esc-classify </dev/null
	assert_failure 2
	assert_output "esc-classify: ESC_NOW: not an RFC 3339 time: soon"
	run esc-classify --bogus </dev/null
	assert_failure 2
	assert_line --partial "usage: esc-classify"
}

@test "--verbose says which policy file is used, and -p overrides ESC_POLICY" {
	cp "$POLICY" "$BATS_TEST_TMPDIR/p.json"
	run env ESC_POLICY="$BATS_TEST_TMPDIR/p.json" esc-classify --verbose </dev/null
	assert_success
	assert_output "esc-classify: policy: $BATS_TEST_TMPDIR/p.json (from ESC_POLICY)"
	run env ESC_POLICY=/nonexistent esc-classify -v -p "$POLICY" </dev/null
	assert_success
	assert_output "esc-classify: policy: $POLICY (from the command line)"
	run esc-classify -v </dev/null
	assert_output "esc-classify: policy: $ESC_SHAREDIR/policy.json (the installed default)"
}

# refuses_edit SED MESSAGE: esc-classify refuses the policy edited by the
# sed script SED (written to $p): exit 2 with MESSAGE.
refuses_edit() {
	sed "$1" "$POLICY" > "$p"
	run esc-classify -p "$p" </dev/null
	assert_failure 2
	assert_output "$2"
}

@test "an invalid policy is refused with the key path, exit 2" {
	p="$BATS_TEST_TMPDIR/p.json"
	refuses_edit 's/"after": "5m"/"after": "5 minutes"/' \
	    "esc-classify: $p: escalation.critical[1].after: bad duration \"5 minutes\" (units: s m h d w)"
	refuses_edit 's/"to": \["director", "sre_lead", "product_lead"\]/"to": ["director", "ceo"]/' \
	    "esc-classify: $p: escalation.critical[2].pages[0].to[1]: unknown role \"ceo\" (not in \"roles\")"
	refuses_edit 's/"channel": "sms"/"channel": "pager"/' \
	    "esc-classify: $p: escalation.critical[0].pages[3].channel: unknown channel (pagerduty, slack, email, sms, webhook)"
	refuses_edit 's/"retain_resolved"/"retain_resolve"/' \
	    "esc-classify: $p: incidents.retain_resolve: unknown key"
	printf '{"version": 1,\n  "name": "x" // comment\n  "roles": []}\n' > "$p"
	run esc-classify -p "$p" </dev/null
	assert_failure 2
	assert_output "esc-classify: $p:3:3: JSON syntax error"
}

@test "a different policy changes the classification" {
	p="$BATS_TEST_TMPDIR/p.json"
	jsonc "$POLICY" | jq '.classification.default_severity = "info" | .classification.rules = [{"match":{"alertname":"Disk*","team":"storage"},"severity":"critical","name":"storage disks"}]' > "$p"
	run esc-classify -p "$p" --now "$NOW" <<EOF
{"labels":{"alertname":"DiskFull","team":"storage"}}
{"labels":{"alertname":"DiskFull","team":"web"}}
EOF
	assert_success
	run jq -r '[.severity, .why] | @tsv' <<<"$output"
	assert_output $'critical\trule: storage disks\ninfo\tdefault'
}

@test "the API's answer as it comes: one JSON array, pretty-printed or on one line, and pretty-printed objects, as jq reads them" {
	want=$(jq -c '.[]' "$FIX/alertmanager/api-v2-alerts.json" | esc-classify --now 2026-11-28T04:15:00Z)
	# curl -s $AM/api/v2/alerts | esc-classify: the file as the API gave it.
	run --separate-stderr esc-classify --now 2026-11-28T04:15:00Z "$FIX/alertmanager/api-v2-alerts.json"
	assert_success
	assert_output "$want"
	run --separate-stderr bash -c "jq -c . '$FIX/alertmanager/api-v2-alerts.json' | esc-classify --now 2026-11-28T04:15:00Z"
	assert_success
	assert_output "$want"
	# Pretty-printed objects one after the other, and NDJSON after them.
	run --separate-stderr bash -c "{ jq '.[0], .[1]' '$FIX/alertmanager/api-v2-alerts.json'; jq -c '.[2]' '$FIX/alertmanager/api-v2-alerts.json'; } |
	    esc-classify --now 2026-11-28T04:15:00Z | jq -r .name"
	assert_success
	assert_output $'StemeDBAPIDown\nHighAPIErrorRate\nCertExpiry'
}

@test "documents that go wrong: said at their first line, the good ones still read, nothing swallowed" {
	# An array element that is not an object; a document never closed.
	run --separate-stderr bash -c "printf '[\n 1,\n {\"name\": \"A\", \"severity\": \"warning\", \"labels\": {}}\n]\n{\n \"name\": \"B\"\n' | esc-classify --now $NOW"
	assert_failure 1
	assert_equal "$(jq -r .name <<<"$output")" A
	assert_equal "$stderr" $'esc-classify: -:4: element 1 of the array is not a JSON object\nesc-classify: -:5: a JSON document that is not closed by the end of the input'
	# A truncated NDJSON line in the middle stays one bad line.
	run --separate-stderr bash -c "printf '%s\n' '{\"name\": \"A\", \"severity\": \"warning\", \"labels\": {}}' '{\"name\": \"B\",' '{\"name\": \"C\", \"severity\": \"warning\", \"labels\": {}}' | esc-classify --now $NOW | jq -r .name"
	assert_equal "$output" $'A\nC'
	[[ $stderr == "esc-classify: -:2: truncated JSON"* ]]
	# A broken document: named by its first line; what follows is read.
	run --separate-stderr bash -c "printf '{\n \"name\": \"A\" junk\n}\n%s\n' '{\"name\": \"C\", \"severity\": \"warning\", \"labels\": {}}' | esc-classify --now $NOW | jq -r .name"
	assert_equal "$output" C
	[[ $stderr == *"-:3: not JSON: the document from line 1"* ]]
}
