#!/usr/bin/env bats
# esc-notify --dry-run: a delivery that cannot be made says why on
# standard error, not only in the printed requests (exit 1 is never
# unexplained).  Nothing is sent, so no provider runs.

load test_helper
load fixtures/notify/helper
bats_require_minimum_version 1.5.0

setup() {
	export ESC_SLACK_CRITICAL_URL=http://127.0.0.1:9/services/T0CRIT/B0CRIT/critSEKRETpath
	export ESC_SLACK_WARNING_URL=http://127.0.0.1:9/services/T0WARN/B0WARN/warnSEKRETpath
	export ESC_SLACK_ONCALL_URL=http://127.0.0.1:9/services/T0ONC/B0ONC/oncallSEKRETpath
	export ESC_WEBHOOK_URL=http://127.0.0.1:9/hook/whSEKRETpath
	channels
}

@test "--dry-run: a delivery that cannot be made is exit 1 with its reason on stderr" {
	{ page slack
	  page slack '.slack_channel = "#nowhere" | .dedup_key += "-nowhere"'; } >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr esc-notify --dry-run "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	assert_equal "$stderr" "esc-notify: slack inc-20261127-1000-abcd-L1-slack-nowhere trigger #nowhere: not sent: slack: $CH: no webhook for slack channel #nowhere"
	assert_line "# not sent: slack: $CH: no webhook for slack channel #nowhere"
	assert_line "# slack inc-20261127-1000-abcd-L1-slack trigger #stemedb-alerts-critical"
	# All that can be made: exit 0, nothing on stderr.
	page slack >"$BATS_TEST_TMPDIR/one"
	run --separate-stderr esc-notify --dry-run "$BATS_TEST_TMPDIR/one"
	assert_success
	assert_equal "$stderr" ""
}
