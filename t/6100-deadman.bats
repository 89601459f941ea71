#!/usr/bin/env bats
# esc-deadman: the dead-man check on esc-tick's heartbeats.

load test_helper

setup() {
	J="$BATS_TEST_TMPDIR/journal.ndjson"
	{
		echo '{"type":"heartbeat","at":"2026-11-27T10:00:00Z","alerts":3,"ok":true}'
		echo '{"type":"page","incident":"x"}'
		echo '{"type":"heartbeat","at":"2026-11-27T10:01:00Z","alerts":2,"ok":true}'
		echo '{"type":"receipt","dedup_key":"x"}'
	} > "$J"
}

@test "a heartbeat younger than 3 minutes is alive" {
	run env ESC_NOW=2026-11-27T10:04:00Z esc-deadman "$J"
	assert_success
	assert_output "esc-deadman: last tick at 2026-11-27T10:01:00Z, 180s ago"
}

@test "an older heartbeat is dead, exit 1" {
	run env ESC_NOW=2026-11-27T10:04:01Z esc-deadman "$J"
	assert_failure 1
	assert_output "esc-deadman: last tick at 2026-11-27T10:01:00Z, 181s ago (more than 3m): esc-tick is not running"
	run env ESC_NOW=2026-11-27T10:20:00Z esc-deadman --max-age 1h "$J"
	assert_success
}

@test "no journal or no heartbeat is dead; a bad age is a usage error" {
	run esc-deadman "$BATS_TEST_TMPDIR/none"
	assert_failure 1
	assert_output "esc-deadman: $BATS_TEST_TMPDIR/none: no journal: esc-tick has never run"
	echo '{"type":"page"}' > "$BATS_TEST_TMPDIR/j2"
	run esc-deadman "$BATS_TEST_TMPDIR/j2"
	assert_failure 1
	assert_output "esc-deadman: $BATS_TEST_TMPDIR/j2: no heartbeat: esc-tick has never finished a run"
	run esc-deadman --max-age soon "$J"
	assert_failure 2
	assert_output "esc-deadman: --max-age: bad duration: soon"
}

@test "a page whose labels say type=heartbeat is not a heartbeat" {
	echo '{"type":"page","incident":"y","at":"2026-11-27T10:30:00Z","labels":{"type":"heartbeat","at":"2026-11-27T10:30:00Z"},"text":"\"type\":\"heartbeat\""}' >> "$J"
	run env ESC_NOW=2026-11-27T10:31:00Z esc-deadman "$J"
	assert_failure 1
	assert_output "esc-deadman: last tick at 2026-11-27T10:01:00Z, 1800s ago (more than 3m): esc-tick is not running"
	# Not even on a line of its own with nothing but the words.
	echo '"type":"heartbeat","at":"2026-11-27T10:30:00Z"' >> "$J"
	run env ESC_NOW=2026-11-27T10:31:00Z esc-deadman "$J"
	assert_failure 1
	assert_output --partial "last tick at 2026-11-27T10:01:00Z,"
}

@test "a last line still being written does not hide the heartbeat before it" {
	echo '{"type":"heartbeat","at":"2026-11-27T10:02:00Z","alerts":0,"ok":true}' >> "$J"
	printf '{"type":"heartbeat","at":"2026-11-27T10:0' >> "$J"
	run env ESC_NOW=2026-11-27T10:03:00Z esc-deadman "$J"
	assert_success
	assert_output "esc-deadman: last tick at 2026-11-27T10:02:00Z, 60s ago"
	# A heartbeat whose time is not a time is not believed.
	echo '{"type":"heartbeat","at":"now","alerts":0,"ok":true}' > "$BATS_TEST_TMPDIR/j3"
	run env ESC_NOW=2026-11-27T10:03:00Z esc-deadman "$BATS_TEST_TMPDIR/j3"
	assert_failure 1
	assert_output "esc-deadman: $BATS_TEST_TMPDIR/j3: no heartbeat: esc-tick has never finished a run"
	echo '{"type":"heartbeat","at":"2026-13-27T10:03:00Z","alerts":0,"ok":true}' > "$BATS_TEST_TMPDIR/j3"
	run env ESC_NOW=2026-11-27T10:03:00Z esc-deadman "$BATS_TEST_TMPDIR/j3"
	assert_failure 1
	assert_output "esc-deadman: $BATS_TEST_TMPDIR/j3: heartbeat at 2026-13-27T10:03:00Z: not a time"
}

@test "a tick running for more than --max-age is stuck, not absent; a start mark whose process is gone is not a running tick" {
	# The mark esc-tick writes when it has the lock: its time, its process.
	sleep 60 &
	pid=$!
	echo "2026-11-27T10:02:00Z $pid" > "$BATS_TEST_TMPDIR/tick.started"
	run env ESC_NOW=2026-11-27T10:04:00Z esc-deadman "$J"
	assert_success
	assert_output "esc-deadman: last tick at 2026-11-27T10:01:00Z, 180s ago"
	run env ESC_NOW=2026-11-27T10:06:00Z esc-deadman "$J"
	assert_failure 1
	assert_output "esc-deadman: a tick started at 2026-11-27T10:02:00Z, 240s ago (more than 3m), has not finished: esc-tick is stuck (process $pid)"
	# ESC_DIR names where the mark is.
	mkdir "$BATS_TEST_TMPDIR/d"
	mv "$BATS_TEST_TMPDIR/tick.started" "$BATS_TEST_TMPDIR/d/"
	run env ESC_NOW=2026-11-27T10:06:00Z ESC_DIR="$BATS_TEST_TMPDIR/d" esc-deadman "$J"
	assert_failure 1
	assert_output --partial ": esc-tick is stuck (process $pid)"
	reap "$pid"
	# Killed: no tick runs, and the heartbeat says since when.
	run env ESC_NOW=2026-11-27T10:06:00Z ESC_DIR="$BATS_TEST_TMPDIR/d" esc-deadman "$J"
	assert_failure 1
	assert_output "esc-deadman: last tick at 2026-11-27T10:01:00Z, 300s ago (more than 3m): esc-tick is not running"
}
