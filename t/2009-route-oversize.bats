#!/usr/bin/env bats
# esc-route: whatever size the alert's fields and the events' notes have,
# every record it writes stays well under what its readers take.

load test_helper
load fixtures/route/helpers
bats_require_minimum_version 1.5.0

@test "huge summary, runbook, labels and notes are cut in every record; each stays under 64 KiB" {
	# An alert record as some other writer than esc-classify may send it:
	# nothing cut.
	"$PY" - "$BATS_TEST_TMPDIR/in" <<-'PY'
	import json, sys
	labels = {"alertname": "Big", "severity": "critical", "instance": "db1"}
	labels.update({"l%02d" % i: "v" * 2000 for i in range(40)})
	labels["trace"] = "é" * 150000
	a = {"type": "alert", "id": "big-1", "name": "Big", "status": "firing",
	     "severity": "critical", "starts_at": "2026-11-27T10:00:00Z",
	     "ends_at": None, "labels": labels, "annotations": {},
	     "summary": "€" * 100000, "runbook": "https://runbooks.example/" + "r" * 100000,
	     "hygiene": [], "why": "test", "source": "test"}
	note = {"type": "note", "alert": "big-1", "by": "alice", "at": "2026-11-27T10:01:00Z",
	        "note": "n" * 500000}
	with open(sys.argv[1], "w") as o:
	    o.write(json.dumps(a, ensure_ascii=False) + "\n")
	    o.write(json.dumps(note) + "\n")
	PY
	run --separate-stderr route 1 --max-line 4M "$BATS_TEST_TMPDIR/in"
	assert_success
	out=$output
	assert_equal "$(LC_ALL=C awk '{ print (length($0) < 65536) }' <<<"$out" | sort -u)" 1
	run jq -c 'select(.type == "page") | [.channel,
	    (.subject | startswith("[CRITICAL L1] Big: €€€")), (.subject | endswith("€…[truncated]")),
	    (.text | test("^€+…\\[truncated\\]\nIncident ")), (.text | test("\nRunbook: https://runbooks.example/r+…\\[truncated\\]$")),
	    (.summary | utf8bytelength <= 4096), (.summary | test("^€+…\\[truncated\\]$")),
	    (.runbook | utf8bytelength <= 4096), (.runbook | endswith("r…[truncated]")),
	    .labels.alertname, .labels.instance, (.labels.esc_truncated // .labels.trace | type)]' <<<"$out"
	assert_output - <<-'OUT'
	["pagerduty",true,true,true,true,true,true,true,true,"Big","db1","string"]
	["slack",true,true,true,true,true,true,true,true,"Big","db1","string"]
	["email",true,true,true,true,true,true,true,true,"Big","db1","string"]
	["sms",true,true,true,true,true,true,true,true,"Big","db1","string"]
	OUT
	run jq -c 'select(.type == "incident") | [.event, (.summary | endswith("€…[truncated]")), (.note // "" | utf8bytelength <= 4096), (.note // "n…[truncated]" | endswith("n…[truncated]"))]' <<<"$out"
	assert_output - <<-'OUT'
	["opened",true,true,true]
	["noted",true,true,true]
	OUT
}
