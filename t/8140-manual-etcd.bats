#!/usr/bin/env bats
# What the person who typed it sees (issue 21, 8): on etcd the router's
# records go to the outbox, not to standard output; esc-page, esc-ack and
# esc-resolve print what it committed all the same, as they do on files.
# A real 3-member etcd cluster (t/etcd.bash), the stand-ins for the
# providers.

load test_helper
load etcd
load fixtures/notify/helper
bats_require_minimum_version 1.5.0

setup() {
	etcd_start 3
	start_prov
	start_smtp
	channels
	export ESC_ROSTER=$ESC_SRC/share/esc/roster.example.json
	export ESC_DIR=$BATS_TEST_TMPDIR/esc
}

teardown() {
	stop_servers
	etcd_stop
}

# The records printed, "type event" one a line.
said() {
	jq -r '"\(.type) \(.event // "")"' <<<"$1"
}

@test "on etcd, esc-page, esc-ack and esc-resolve print the records the router committed, as on files" {
	run --separate-stderr esc-page --by alice "the API is down"
	assert_success
	ID=$(jq -r 'select(.type == "incident" and .event == "opened") | .incident' <<<"$output")
	run said "$output"
	assert_line 'incident opened'
	assert_line 'page trigger'
	[ -n "$ID" ]
	run --separate-stderr esc-ack "$ID" --by alice
	assert_success
	assert_equal "$(jq -r 'select(.type == "incident") | "\(.event) \(.incident) \(.by)"' <<<"$output")" "acked $ID alice"
	run --separate-stderr esc-resolve "$ID" --by alice
	assert_success
	assert_equal "$(jq -r 'select(.type == "incident") | "\(.event) \(.incident)"' <<<"$output")" "resolved $ID"
	# What was printed is what was journalled: the same records.
	assert_equal "$(jq -c 'select(.type == "incident" and .event == "resolved")' "$ESC_DIR/journal.ndjson")" \
	    "$(jq -c 'select(.type == "incident")' <<<"$output")"
	# Nothing left in the outbox.
	assert_equal "$(etcd_keys /esc/outbox/)" ""
}
