#!/usr/bin/env bats
# esc-lock: the tick lock on a real etcd cluster (t/etcd.bash), its lease,
# what it says when etcd has no quorum, and how it is configured
# (endpoints, prefix, user and password).

load test_helper
load etcd
bats_require_minimum_version 1.5.0

# Each test starts the cluster it needs: three members where a member
# is stopped, one otherwise.
teardown() {
	reap ${HOLDER:-} ${TLS_PID:-}
	etcd_stop
}

# hold SECONDS: esc-lock holding the lock for that long, in the background.
hold() {
	esc-lock sleep "$1" 3>&- &
	HOLDER=$!
	wait_until eval '[ -n "$(etcd_get /esc/lock)" ]'
}

@test "esc-lock: the command runs with the lease in ESC_ETCD_LEASE, the lock held; after it, the lock is free" {
	etcd_start 1
	run -0 esc-lock sh -c 'echo "$ESC_ETCD_LEASE"; ETCDCTL_API=3 etcdctl --endpoints="$ESC_ETCD_ENDPOINTS" get --print-value-only /esc/lock; ETCDCTL_API=3 etcdctl --endpoints="$ESC_ETCD_ENDPOINTS" get -w json /esc/lock | grep -o "\"lease\":[0-9]*" | cut -d: -f2'
	[[ ${lines[0]} =~ ^[0-9]+$ ]]
	[[ ${lines[1]} =~ ^$(hostname)\ [0-9]+$ ]] || fail "${lines[1]}"
	assert_equal "${lines[2]}" "${lines[0]}"
	assert_equal "$(etcd_keys /esc/)" ""
	# The lease went with the command: revoked, not left to expire.
	run -0 etcdctl_ lease list
	assert_output "found 0 leases"
}

@test "esc-lock: the command's status is esc-lock's; a command not found is 127" {
	etcd_start 1
	run -3 esc-lock sh -c 'exit 3'
	run -127 esc-lock no-such-command-here
	assert_output --partial "no-such-command-here"
	run -2 esc-lock
	assert_output "usage: esc-lock [-w seconds] command [argument ...]"
}

@test "esc-lock: a lock held elsewhere: -w 0 says who holds it, exit 1; with a wait, it is had once free" {
	etcd_start 1
	hold 3
	run -1 esc-lock -w 0 true
	assert_output --regexp "^esc-lock: etcd .* /esc/: the tick lock is held by $(hostname) [0-9]+: another tick still runs\$"
	run -0 esc-lock -w 20 echo had
	assert_output had
}

@test "esc-lock: the leader stopped: the command still gets the lock through another member" {
	etcd_start 3
	etcd_stop_member "$(etcd_leader)"
	run -0 esc-lock -w 20 echo had
	assert_output had
}

@test "esc-lock: a member that is down, first in ESC_ETCD_ENDPOINTS, costs nothing but a retry" {
	etcd_start 1
	export ESC_ETCD_ENDPOINTS=http://127.0.0.1:1,$ESC_ETCD_ENDPOINTS
	run -0 esc-lock echo had
	assert_output had
}

@test "esc-lock: no quorum (two of three members stopped) is exit 1, said, the command not run" {
	etcd_start 3
	etcd_stop_member 1
	etcd_stop_member 2
	run -1 timeout 60 esc-lock echo had
	refute_output --partial had
	assert_output --regexp '^esc-lock: etcd: no member answered within 8 s \(down, or no quorum\): '
}

@test "esc-lock: the lease revoked under a running command: it is stopped, said, exit 1" {
	etcd_start 1
	# A keepalive each second finds out.
	ESC_ETCD_TTL=3 esc-lock sh -c 'echo "$ESC_ETCD_LEASE" >"$0"; exec sleep 60' "$BATS_TEST_TMPDIR/lease" \
	    2>"$BATS_TEST_TMPDIR/err" 3>&- &
	HOLDER=$!
	wait_until test -s "$BATS_TEST_TMPDIR/lease"
	etcdctl_ lease revoke "$(printf %x "$(cat "$BATS_TEST_TMPDIR/lease")")"
	_etcd_until 30 eval '! kill -0 $HOLDER 2>/dev/null'
	run wait "$HOLDER"
	assert_equal "$status" 1
	assert_equal "$(cat "$BATS_TEST_TMPDIR/err")" "esc-lock: the tick lock's lease expired (this host was paused or cut off): stopping the command"
}

@test "esc-lock: the lease lost: SIGTERM reaches the command's whole process group, what it runs in the background too" {
	etcd_start 1
	ESC_ETCD_TTL=3 esc-lock sh -c 'sleep 60 & echo $! >"$0.kid"; echo "$ESC_ETCD_LEASE" >"$0"; wait' "$BATS_TEST_TMPDIR/lease" \
	    2>"$BATS_TEST_TMPDIR/err" 3>&- &
	HOLDER=$!
	wait_until test -s "$BATS_TEST_TMPDIR/lease"
	KID=$(cat "$BATS_TEST_TMPDIR/lease.kid")
	etcdctl_ lease revoke "$(printf %x "$(cat "$BATS_TEST_TMPDIR/lease")")"
	_etcd_until 30 eval '! kill -0 $HOLDER 2>/dev/null'
	run wait "$HOLDER"
	assert_equal "$status" 1
	# The shell's background sleep was in its group: stopped with it.
	_etcd_until 10 eval '! kill -0 $KID 2>/dev/null'
	run kill -0 "$KID"
	assert_failure
}

@test "esc-lock: ESC_ETCD_PREFIX puts the lock elsewhere, so two pipelines share a cluster" {
	etcd_start 1
	hold 5
	run -0 env ESC_ETCD_PREFIX=/other/ esc-lock -w 0 sh -c 'ETCDCTL_API=3 etcdctl --endpoints="$ESC_ETCD_ENDPOINTS" get --keys-only --prefix /other/'
	assert_output --partial /other/lock
}

@test "esc-lock: with the state in files, the lock is \$ESC_DIR/tick.lock: held by the command and what it leaves running, -w 0 says another tick runs" {
	export ESC_DIR=$BATS_TEST_TMPDIR/esc
	run esc-lock sh -c 'echo "$ESC_LOCKED $ESC_ETCD_LEASE"'
	assert_success
	assert_output '1 '
	[ -f "$ESC_DIR/tick.lock" ]
	# A process the command leaves behind holds the lock too, as when
	# the scripts took it themselves.
	esc-lock sh -c 'sleep 3 &' 3>&-
	run -1 esc-lock -w 0 true
	assert_output "esc-lock: $ESC_DIR/tick.lock: another tick still runs"
	run esc-lock -w 10 true
	assert_success
	run -2 env ESC_DIR=/proc/none esc-lock true
	assert_output 'esc-lock: /proc/none: No such file or directory'
}

@test "esc-lock: configuration errors are exit 2: a URL that is not http, a password without a user's file being private" {
	export ESC_ETCD_ENDPOINTS=http://127.0.0.1:1
	run -2 env ESC_ETCD_TTL=1 esc-lock true
	assert_output "esc-lock: ESC_ETCD_TTL: not a number of seconds from 2 to 3600: 1"
	run -2 env ESC_ETCD_ENDPOINTS=127.0.0.1:2379 esc-lock true
	assert_output "esc-lock: ESC_ETCD_ENDPOINTS: not an http:// or https:// URL: 127.0.0.1:2379"
	run -2 env ESC_ETCD_USER=esc esc-lock true
	assert_output "esc-lock: ESC_ETCD_USER is set: ESC_ETCD_PASSWORD or ESC_ETCD_PASSWORD_FILE must be too"
	printf 's3cret\n' >"$BATS_TEST_TMPDIR/pw"
	chmod 644 "$BATS_TEST_TMPDIR/pw"
	run -2 env ESC_ETCD_USER=esc ESC_ETCD_PASSWORD_FILE="$BATS_TEST_TMPDIR/pw" esc-lock true
	assert_output "esc-lock: ESC_ETCD_PASSWORD_FILE: $BATS_TEST_TMPDIR/pw: readable by group or others (chmod 600)"
	run -2 env ESC_ETCD_ENDPOINTS=http://10.1.2.3:2379 ESC_ETCD_USER=esc ESC_ETCD_PASSWORD=pw esc-lock true
	assert_output "esc-lock: ESC_ETCD_ENDPOINTS: http://10.1.2.3:2379: a password goes only over https:// (or to this machine)"
	# Names that start like this machine's are not this machine.
	for u in http://localhost.example.net:2379 http://127.0.0.1.nip.io:2379 http://127.0.0.1@evil.example:2379; do
		run -2 env ESC_ETCD_ENDPOINTS=$u ESC_ETCD_USER=esc ESC_ETCD_PASSWORD=pw esc-lock true
		assert_output "esc-lock: ESC_ETCD_ENDPOINTS: $u: a password goes only over https:// (or to this machine)"
	done
}

@test "esc-lock: etcd's user and password: the right one takes the lock, a wrong one is refused, never printed" {
	etcd_start 3
	etcdctl_ user add root:r00t-pw >/dev/null
	etcdctl_ user add esc:esc-pw-123 >/dev/null
	etcdctl_ role add esc >/dev/null
	etcdctl_ role grant-permission esc --prefix=true readwrite /esc/ >/dev/null
	etcdctl_ user grant-role esc esc >/dev/null
	# root with its role made here, not left to etcdctl's auth enable,
	# which once failed under load ("root user does not have root role").
	etcdctl_ role add root >/dev/null
	etcdctl_ user grant-role root root >/dev/null
	run -0 etcdctl_ auth enable
	printf 'esc-pw-123\n' >"$BATS_TEST_TMPDIR/pw"
	chmod 600 "$BATS_TEST_TMPDIR/pw"
	run -0 env ESC_ETCD_USER=esc ESC_ETCD_PASSWORD_FILE="$BATS_TEST_TMPDIR/pw" esc-lock echo had
	assert_output had
	# The first member listed down: the login goes to another.
	etcd_stop_member 1
	run -0 env ESC_ETCD_USER=esc ESC_ETCD_PASSWORD_FILE="$BATS_TEST_TMPDIR/pw" esc-lock echo had
	assert_output had
	run -1 env ESC_ETCD_USER=esc ESC_ETCD_PASSWORD=wrong-pw-456 esc-lock echo had
	refute_output --partial had
	refute_output --partial wrong-pw-456
	assert_output --partial "authentication failed"
	# Without a user, auth on: refused too.
	run -1 esc-lock echo had
	refute_output --partial had
}

# tls_etcd: one etcd member that speaks only TLS and wants a client
# certificate signed by its CA; certificates made here, for 127.0.0.1.
tls_etcd() {
	local d=$BATS_TEST_TMPDIR/tls c p
	mkdir -p "$d"
	(
		cd "$d"
		openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -subj /CN=esc-test-ca -days 2
		openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj /CN=127.0.0.1
		# The server's certificate serves its own gateway as a client too.
		openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out srv.crt -days 2 \
		    -extfile <(printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth')
		openssl req -newkey rsa:2048 -nodes -keyout cli.key -out cli.csr -subj /CN=esc
		openssl x509 -req -in cli.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out cli.crt -days 2 \
		    -extfile <(printf 'extendedKeyUsage=clientAuth')
	) >/dev/null 2>&1
	c=$(free_port) p=$(free_port)
	etcd --data-dir "$d/data" --listen-client-urls "https://127.0.0.1:$c" \
	    --advertise-client-urls "https://127.0.0.1:$c" \
	    --listen-peer-urls "http://127.0.0.1:$p" --initial-advertise-peer-urls "http://127.0.0.1:$p" \
	    --initial-cluster "default=http://127.0.0.1:$p" \
	    --cert-file "$d/srv.crt" --key-file "$d/srv.key" --client-cert-auth \
	    --trusted-ca-file "$d/ca.crt" >"$d/log" 2>&1 3>&- &
	TLS_PID=$!
	export ESC_ETCD_ENDPOINTS=https://127.0.0.1:$c
	TLS=$d
	wait_until curl -sf --cacert "$d/ca.crt" --cert "$d/cli.crt" --key "$d/cli.key" \
	    "https://127.0.0.1:$c/health" -o /dev/null
}

@test "esc-lock: TLS with a client certificate (ESC_ETCD_CACERT, _CERT, _KEY); the server's certificate is always verified" {
	tls_etcd
	run -0 env ESC_ETCD_CACERT="$TLS/ca.crt" ESC_ETCD_CERT="$TLS/cli.crt" ESC_ETCD_KEY="$TLS/cli.key" esc-lock echo had
	assert_output had
	# Without the CA, the member's certificate is not trusted: said at once.
	run -1 env ESC_ETCD_CERT="$TLS/cli.crt" ESC_ETCD_KEY="$TLS/cli.key" esc-lock echo had
	assert_output "esc-lock: etcd $ESC_ETCD_ENDPOINTS: SSL certificate problem: unable to get local issuer certificate"
	run -2 env ESC_ETCD_CERT="$TLS/cli.crt" esc-lock echo had
	assert_output "esc-lock: ESC_ETCD_CERT and ESC_ETCD_KEY go together"
	reap "$TLS_PID"
}
