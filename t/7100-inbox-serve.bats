#!/usr/bin/env bats
# esc-inbox serve, the server itself: Alertmanager's doorbell and its
# bearer token, the answers to what is not a provider's request (404,
# 405, 413, 400), slow clients, socket activation, the log.

load test_helper
bats_require_minimum_version 1.5.0

setup() {
	export ESC_DIR=$BATS_TEST_TMPDIR/esc
	export ESC_ROSTER=$ESC_SRC/share/esc/roster.example.json
	export ESC_INBOX_TOKEN=door-s3cret-token
	CH=$BATS_TEST_TMPDIR/channels.json
	printf '%s\n' '{"inbox": {"token_env": "ESC_INBOX_TOKEN"}}' > "$CH"
	chmod 600 "$CH"
	AM='{"version":"4","status":"firing","receiver":"esc","alerts":[]}'
}

teardown() {
	reap ${INBOX_PID:-} ${SLOW_PID:-}
}

doorbell() { [ -e "$ESC_DIR/inbox/doorbell" ]; }

@test "serve: Alertmanager's webhook with the bearer token rings the doorbell" {
	start_inbox -c "$CH"
	! doorbell
	run post /alertmanager -H "Authorization: Bearer $ESC_INBOX_TOKEN" \
	    -H 'Content-Type: application/json' --data "$AM"
	assert_output $'200\nok'
	doorbell
	# Nothing to write: the tick reads Alertmanager's API itself.
	run ls "$ESC_DIR/inbox/pending"
	assert_output ''
}

@test "serve: a missing or wrong bearer token is 401 and rings nothing" {
	start_inbox -c "$CH"
	run post /alertmanager --data "$AM"
	assert_line -n 0 401
	run post /alertmanager -H "Authorization: Bearer ${ESC_INBOX_TOKEN}x" --data "$AM"
	assert_line -n 0 401
	run post /alertmanager -H "Authorization: Basic $ESC_INBOX_TOKEN" --data "$AM"
	assert_line -n 0 401
	run curl -s -o /dev/null -D - -X POST --data "$AM" "$INBOX/alertmanager"
	assert_line --partial 'WWW-Authenticate: Bearer'
	! doorbell
	run grep -c '/alertmanager 401' "$INBOX_LOG"
	assert_output 4
	grep -q 'no bearer token' "$INBOX_LOG"
	grep -q 'wrong bearer token' "$INBOX_LOG"
	# The token is never in the log, nor the part of the path after '?'.
	run post '/alertmanager?secret=qu3ry' -H "Authorization: Bearer $ESC_INBOX_TOKEN" --data x
	assert_line -n 0 400
	run grep -e "$ESC_INBOX_TOKEN" -e qu3ry "$INBOX_LOG"
	assert_failure
}

@test "serve: without inbox.token the doorbell is off: 404" {
	printf '%s\n' '{"inbox": {}}' > "$CH"
	start_inbox -c "$CH"
	grep -q '/alertmanager off (no inbox.token)' "$INBOX_LOG"
	run post /alertmanager -H "Authorization: Bearer $ESC_INBOX_TOKEN" --data "$AM"
	assert_line -n 0 404
	! doorbell
}

@test "serve: a body that is not Alertmanager's JSON is 400" {
	start_inbox -c "$CH"
	for body in '' '{"alerts":' '[]' '{"alerts":{}}' 'null'; do
		run post /alertmanager -H "Authorization: Bearer $ESC_INBOX_TOKEN" --data "$body"
		assert_line -n 0 400
	done
	! doorbell
}

@test "serve: unknown paths are 404, other methods 405 with Allow: POST" {
	start_inbox -c "$CH"
	run post /nowhere --data x
	assert_line -n 0 404
	run post / --data x
	assert_line -n 0 404
	run curl -s -o /dev/null -D - "$INBOX/alertmanager"
	assert_line -n 0 --partial ' 405 '
	assert_line --partial 'Allow: POST'
	run curl -s -o /dev/null -w '%{http_code}' -X PUT --data x "$INBOX/alertmanager"
	assert_output 405
	run curl -s -o /dev/null -w '%{http_code}' -X DELETE "$INBOX/alertmanager"
	assert_output 405
}

@test "serve: a body over 1 MiB is 413, declared or chunked; 1 MiB itself is read" {
	start_inbox -c "$CH"
	head -c 1048577 /dev/zero | tr '\0' ' ' > "$BATS_TEST_TMPDIR/big"
	run post /alertmanager -H "Authorization: Bearer $ESC_INBOX_TOKEN" \
	    --data-binary @"$BATS_TEST_TMPDIR/big"
	assert_line -n 0 413
	run post /alertmanager -H "Authorization: Bearer $ESC_INBOX_TOKEN" \
	    -H 'Transfer-Encoding: chunked' --data-binary @"$BATS_TEST_TMPDIR/big"
	assert_line -n 0 413
	! doorbell
	# Exactly the limit: JSON with spaces around it.
	{ printf '{"alerts":[]}'; head -c $((1048576 - 13)) /dev/zero | tr '\0' ' '; } > "$BATS_TEST_TMPDIR/max"
	[ "$(wc -c < "$BATS_TEST_TMPDIR/max")" -eq 1048576 ]
	run post /alertmanager -H "Authorization: Bearer $ESC_INBOX_TOKEN" \
	    --data-binary @"$BATS_TEST_TMPDIR/max"
	assert_line -n 0 200
}

@test "serve: a stalled client is cut off, and others are answered meanwhile" {
	start_inbox -c "$CH"
	# Half a request, then silence.
	"$PY" - "$INBOX_PORT" > "$BATS_TEST_TMPDIR/slow.out" <<'PYEOF' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /alertmanager HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"al")
t = time.time()
s.settimeout(30)
try:
    data = s.recv(4096)
except Exception as e:
    data = repr(e).encode()
print("closed after %d s: %r" % (time.time() - t, data[:40]))
PYEOF
	SLOW_PID=$!
	sleep 0.3
	for i in 1 2 3; do
		run post /alertmanager -H "Authorization: Bearer $ESC_INBOX_TOKEN" --data "$AM"
		assert_line -n 0 200
	done
	wait_until grep -q closed "$BATS_TEST_TMPDIR/slow.out" ||
	    wait_until grep -q closed "$BATS_TEST_TMPDIR/slow.out" || true
	run cat "$BATS_TEST_TMPDIR/slow.out"
	assert_output --regexp "^closed after (9|10|11|12) s: b''$"
}

@test "serve: SIGTERM stops it with status 0; --listen and LISTEN_FDS errors are exit 2" {
	start_inbox -c "$CH"
	kill -TERM "$INBOX_PID"
	rc=0
	wait "$INBOX_PID" || rc=$?
	[ "$rc" -eq 0 ]
	INBOX_PID=
	grep -q 'stopped by signal 15' "$INBOX_LOG"
	run esc-inbox -c "$CH" -l 127.0.0.1 serve
	assert_failure 2
	assert_output 'esc-inbox: -l: not ADDR:PORT with a port from 0 to 65535: 127.0.0.1'
	run esc-inbox -c "$CH" serve
	assert_failure 2
	assert_output 'esc-inbox: no --listen ADDR:PORT, and no socket from systemd (LISTEN_FDS)'
	# A port taken.
	start_inbox -c "$CH"
	run esc-inbox -c "$CH" -l "127.0.0.1:$INBOX_PORT" serve
	assert_failure 2
	assert_output "esc-inbox: cannot listen on 127.0.0.1:$INBOX_PORT: Address already in use"
}

@test "serve: takes its socket from systemd (LISTEN_PID, LISTEN_FDS)" {
	port=$(free_port)
	# What systemd does: the socket as descriptor 3, LISTEN_PID = the
	# pid of the program it then executes.
	"$PY" - "$port" "$CH" 2>"$BATS_TEST_TMPDIR/inbox.log" <<'PYEOF' &
import os, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.environ["LISTEN_FDS"] = "1"
os.environ["LISTEN_PID"] = str(os.getpid())
os.execvp("esc-inbox", ["esc-inbox", "-c", sys.argv[2], "serve"])
PYEOF
	INBOX_PID=$!
	INBOX=http://127.0.0.1:$port
	wait_until grep -q "listening on 127.0.0.1:$port;" "$BATS_TEST_TMPDIR/inbox.log"
	run post /alertmanager -H "Authorization: Bearer $ESC_INBOX_TOKEN" --data "$AM"
	assert_output $'200\nok'
	doorbell
	# LISTEN_PID of another process: not ours.
	LISTEN_FDS=1 LISTEN_PID=1 run esc-inbox -c "$CH" serve
	assert_failure 2
	assert_output --partial 'no socket from systemd'
}
