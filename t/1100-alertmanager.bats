#!/usr/bin/env bats
# esc-classify against a real Alertmanager on 127.0.0.1: what its API and
# its webhook give, read back live.

load test_helper
load alertmanager

setup() {
	HOOK_PORT=$(free_port)
	"$PY" "$ESC_SRC/t/hookcatch.py" --port "$HOOK_PORT" --out "$BATS_TEST_TMPDIR/hooks" &
	HOOK_PID=$!
	wait_port "$HOOK_PORT"
	am_start
}

teardown() {
	am_stop
	reap ${HOOK_PID:-}
}

@test "GET /api/v2/alerts through esc-classify: ids, severities, silences" {
	am_post '[{"labels":{"alertname":"StemeDBAPIDown","severity":"critical","instance":"api-1"},"annotations":{"summary":"API down"}},
	          {"labels":{"alertname":"DiskAlmostFull","severity":"sev2","instance":"db-1"},"annotations":{"summary":"disk"}},
	          {"labels":{"alertname":"Quiet","severity":"warning","instance":"x"},"annotations":{"summary":"q"}}]'
	am_silence alertname Quiet >/dev/null
	run bash -c "curl -sf '$AM_URL/api/v2/alerts' | jq -c '.[]' | esc-classify | jq -r '[.name, .severity, (.suppressed // false), .id] | @tsv' | sort"
	assert_success
	fps=$(curl -sf "$AM_URL/api/v2/alerts" | jq -r '.[] | [.labels.alertname, .fingerprint] | @tsv' | sort)
	assert_equal "$(cut -f1,4 <<<"$output")" "$fps"
	assert_equal "$(cut -f1-3 <<<"$output")" "$(printf '%s\n' 'DiskAlmostFull	warning	false' 'Quiet	warning	true' 'StemeDBAPIDown	critical	false')"
}

@test "the webhook body Alertmanager posts classifies, firing then resolved" {
	am_post '[{"labels":{"alertname":"WALDiskNearlyFull","severity":"critical","instance":"db-2"},"annotations":{"summary":"WAL 92%"}}]'
	wait_until test -s "$BATS_TEST_TMPDIR/hooks" || true
	am_post "[{\"labels\":{\"alertname\":\"WALDiskNearlyFull\",\"severity\":\"critical\",\"instance\":\"db-2\"},\"annotations\":{\"summary\":\"WAL 92%\"},\"endsAt\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}]"
	wait_until has_lines 2 "$BATS_TEST_TMPDIR/hooks" || true
	run esc-classify "$BATS_TEST_TMPDIR/hooks"
	assert_success
	run jq -r '[.name, .status, .severity, .runbook, .receiver] | @tsv' <<<"$output"
	assert_output "$(printf '%s\n' \
	    'WALDiskNearlyFull	firing	critical	https://docs.stemedb.com/operations/runbooks/WALDiskNearlyFull	hook' \
	    'WALDiskNearlyFull	resolved	critical	https://docs.stemedb.com/operations/runbooks/WALDiskNearlyFull	hook')"
}
