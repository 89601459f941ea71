#!/usr/bin/env bats
# esc-route: a field that is there but of the wrong type is reported as
# such, naming the field, never as missing.

load test_helper
load fixtures/route/helpers

@test "a field of the wrong type is named with its real fault" {
	a=$(alert StemeDBAPIDown critical firing 0)
	printf '%s\n' \
	    "$(jq -c '.id = 5' <<<"$a")" \
	    "$(jq -c '.labels = ["alertname"]' <<<"$a")" \
	    "$(jq -c 'del(.labels)' <<<"$a")" \
	    "$(jq -c '.name = {"x": 1} | del(.labels.alertname)' <<<"$a")" \
	    "$(event ack incident x 0 | jq -c '.incident = 7')" \
	    "$(event resolve alert x 0 | jq -c '.alert = ["x"]')" \
	    "$(event ack alert x 0 | jq -c '.by = 3')" \
	    "$a" >"$BATS_TEST_TMPDIR/in"
	run route 0 "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	f=$BATS_TEST_TMPDIR/in
	assert_equal "$(grep '^esc-route:' <<<"$output")" "esc-route: $f:1: alert: \"id\" is not a string
esc-route: $f:2: alert: \"labels\" is not an object
esc-route: $f:3: alert: missing \"labels\"
esc-route: $f:4: alert: \"name\" is not a string
esc-route: $f:5: ack: \"incident\" is not a string
esc-route: $f:6: resolve: \"alert\" is not a string
esc-route: $f:7: ack: \"by\" is not a string"
	# The good alert still opens its incident.
	assert_equal "$(grep -v '^esc-route:' <<<"$output" | jq -r 'select(.type == "incident") | .event')" opened
}
