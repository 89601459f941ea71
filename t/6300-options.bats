#!/usr/bin/env bats
# The options every tool takes mean the same in each (esc(7), Common
# options): -h, -v, -p, --now, --max-line, --version, and "-" for
# standard input.

load test_helper
bats_require_minimum_version 1.5.0

# Each tool as it runs with no other argument: esc-route needs its state,
# esc-report a command.
tool() {
	case $1 in
	esc-route) echo "esc-route -s $BATS_TEST_TMPDIR/state.json" ;;
	esc-report) echo "esc-report metrics" ;;
	*) echo "$1" ;;
	esac
}

TOOLS="esc-classify esc-route esc-rotate esc-notify esc-report"

@test "every tool: -h and --help print the usage alone, exit 2" {
	for t in $TOOLS; do
		for h in -h --help; do
			run -2 --separate-stderr $(tool "$t") "$h"
			assert_equal "$output" ""
			[[ ${stderr_lines[0]} == "usage: $t "* ]] ||
			    fail "$t $h: ${stderr_lines[0]}"
		done
	done
	# Before a command too.
	run -2 --separate-stderr esc-report -h
	[[ ${stderr_lines[0]} == "usage: esc-report metrics "* ]]
}

@test "every tool: -v is --verbose" {
	export ESC_NOW=2026-11-27T10:00:00Z
	for t in $TOOLS; do
		run -0 --separate-stderr $(tool "$t") --verbose </dev/null
		long=$stderr
		[ -n "$long" ] || fail "$t --verbose says nothing"
		rm -f "$BATS_TEST_TMPDIR/state.json"
		run -0 --separate-stderr $(tool "$t") -v </dev/null
		assert_equal "$stderr" "$long"
		rm -f "$BATS_TEST_TMPDIR/state.json"
	done
}

@test "every tool: -p and --policy name the policy" {
	export ESC_NOW=2026-11-27T10:00:00Z
	none=$BATS_TEST_TMPDIR/none.json
	for t in $TOOLS; do
		# esc-rotate reads it for --audit and --ledger only.
		mode=; [ "$t" != esc-rotate ] || mode=--audit
		for p in -p --policy; do
			run -2 --separate-stderr $(tool "$t") $mode "$p" "$none" </dev/null
			assert_equal "$stderr" "$t: $none: No such file or directory"
		done
	done
}

@test "every tool: --version prints the version, exit 0" {
	for t in $TOOLS; do
		run -0 $(tool "$t") --version
		assert_output --regexp "^$t [0-9]+\.[0-9]+\.[0-9]+\$"
	done
	run -0 esc-report --version
	assert_output --regexp '^esc-report [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "every tool: a bad --now, ESC_NOW or --max-line is a usage error, said alike" {
	for t in $TOOLS; do
		run -2 --separate-stderr $(tool "$t") --now soon </dev/null
		assert_equal "$stderr" "$t: --now: not an RFC 3339 time: soon"
		run -2 --separate-stderr env ESC_NOW=soon $(tool "$t") </dev/null
		assert_equal "$stderr" "$t: ESC_NOW: not an RFC 3339 time: soon"
		run -2 --separate-stderr $(tool "$t") --max-line 0 </dev/null
		assert_equal "$stderr" "$t: --max-line: not a size from 1 to 1G: 0"
	done
}

@test "every tool: - is standard input, among other files" {
	export ESC_NOW=2026-11-27T10:00:00Z
	a='{"labels":{"alertname":"DiskFull","severity":"warning"}}'
	note='{"type":"note","text":"hello"}'
	echo "$note" >"$BATS_TEST_TMPDIR/note"
	for t in esc-classify esc-rotate esc-notify; do
		run -0 --separate-stderr $t "$BATS_TEST_TMPDIR/note" - "$BATS_TEST_TMPDIR/note" <<<"$note"
		assert_equal "$output" "$note"$'\n'"$note"$'\n'"$note"
	done
	run -0 --separate-stderr esc-classify - <<<"$a"
	assert_equal "$(jq -r .name <<<"$output")" DiskFull
	run -0 --separate-stderr esc-route -s "$BATS_TEST_TMPDIR/state.json" - < <(esc-classify <<<"$a")
	assert_equal "$(jq -r '.type + " " + .event' <<<"${lines[0]}")" "incident opened"
	run -0 --separate-stderr esc-report metrics -f json - <<<"$output"
	assert_equal "$(jq .all.incidents <<<"$output")" 1
}

@test "one meaning per letter: --policy names a file in esc-report hygiene too; esc-page's severity and labels are long options" {
	none=$BATS_TEST_TMPDIR/none.json
	run -2 --separate-stderr esc-report hygiene --policy "$none" "$ESC_SRC/share/prometheus/esc-rules.yml"
	assert_equal "$stderr" "esc-report: $none: No such file or directory"
	run -0 esc-report hygiene --policy "$POLICY" --timelines --fail-on never "$ESC_SRC/share/prometheus/esc-rules.yml"
	# -s is the state file and -l the listen address elsewhere.
	export ESC_DIR=$BATS_TEST_TMPDIR/esc
	run -2 --separate-stderr esc-page -s critical "db-3 is on fire"
	assert_equal "${stderr_lines[0]}" "usage: esc-page [--severity severity] [--by who] [--runbook url] [--label name=value]... text..."
	run -2 --separate-stderr esc-page -l a=b "db-3 is on fire"
	run -2 --separate-stderr esc-page --severity urgent "db-3 is on fire"
	assert_equal "$stderr" "esc-page: --severity: critical, warning or info: urgent"
}

@test "out-of-range ports and numbers are usage errors, never wrapped" {
	run -2 --separate-stderr esc-inbox serve -l 127.0.0.1:99999
	assert_equal "$stderr" "esc-inbox: -l: not ADDR:PORT with a port from 0 to 65535: 127.0.0.1:99999"
	run -2 --separate-stderr esc-inbox serve -l 127.0.0.1:-1
	run -2 --separate-stderr esc-inbox serve -l 127.0.0.1
	run -2 --separate-stderr esc-notify -j 4294967297 </dev/null
	assert_equal "$stderr" "esc-notify: -j: not a number from 1 to 1024: 4294967297"
	run -2 --separate-stderr esc-notify --lock-wait 99999999999 </dev/null
	assert_equal "$stderr" "esc-notify: --lock-wait: not seconds from 0 to 86400: 99999999999"
	run -2 --separate-stderr esc-route -s "$BATS_TEST_TMPDIR/st" --lock-timeout 99999999999999999999 </dev/null
	run -2 --separate-stderr esc-inbox poll --deadline 99999999999999999999
	run -2 --separate-stderr esc-check --timeout 99999
}
