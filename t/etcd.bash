# A real etcd cluster (Debian etcd-server 3.4) on 127.0.0.1 for the tests
# of issue 14.  Loaded by bats files after test_helper (for $PY); a
# script outside bats may source it after setting PY and ETCD_DIR.  Call
# the functions themselves, not through `run`: they keep the cluster in
# arrays of the calling shell, and wait for its children.
#
#   etcd_start [N]          N members (3) m1..mN; exports ESC_ETCD_ENDPOINTS
#   etcd_stop               kills every member (teardown)
#   etcd_stop_member I [TERM]   SIGKILL (or SIGTERM) to member I, waits it out
#   etcd_start_member I     member I again on its ports and data directory
#   etcd_pause_member I / etcd_resume_member I   SIGSTOP / SIGCONT
#   etcd_leader             prints the index of the leader
#   etcd_wait_leader        waits (bounded) until there is one
#   etcd_get KEY / etcd_keys PREFIX / etcdctl_ ARG...   a look inside
#
# Members listen on random free ports; their data directories are
# $ETCD_DIR/mI, their logs $ETCD_DIR/mI.log ($ETCD_DIR is
# $BATS_TEST_TMPDIR/etcd in a test).  Arrays ETCD_PID[I], ETCD_URL[I] (client URL),
# ETCD_PEER[I] (peer URL) and ETCD_ID[I] (member id, decimal) are
# 1-based.  ESC_ETCD_PREFIX is left alone: each test has a cluster of its
# own, so esc's default prefix /esc/ is what a test sees; one that wants
# another sets it.  Heartbeat and election timeout are short (50/500 ms)
# so that a failover takes about a second.  Nothing listens beyond
# loopback, and every wait is bounded.

ETCD_HEARTBEAT=${ETCD_HEARTBEAT:-50}
ETCD_ELECTION=${ETCD_ELECTION:-500}
ETCD_N=0

# _etcd_env: env's options that drop every ETCD_* and ETCDCTL_* variable
# exported: etcd and etcdctl take their settings from them too, and a
# user's must not steer a test's cluster.
_etcd_env() {
	local v
	for v in $(compgen -e); do
		[[ $v != ETCD* ]] || printf -- '-u\n%s\n' "$v"
	done
}

# etcdctl_ ARG...: etcdctl (API v3) against the members' client URLs, or
# against those of an --endpoints=URL,... among ARG (a second
# --endpoints would add to the first, not replace it).
etcdctl_() {
	local u e=--endpoints=$ESC_ETCD_ENDPOINTS a
	mapfile -t u < <(_etcd_env)
	for a in "$@"; do
		[[ $a != --endpoints=* ]] || e=
	done
	env "${u[@]}" ETCDCTL_API=3 etcdctl ${e:+"$e"} "$@"
}

# etcd_get KEY: the value of KEY, nothing when absent.
etcd_get() {
	etcdctl_ get --print-value-only -- "$1"
}

# etcd_keys PREFIX: the keys under PREFIX, one a line, sorted.
etcd_keys() {
	etcdctl_ get --prefix --keys-only -- "$1" | sed '/^$/d'
}

# _etcd_until SECONDS COMMAND...: COMMAND every 0.05 s until it succeeds,
# for SECONDS of the clock at most (a status request may take a second
# when a member is paused: a count of tries would not bound the wait).
_etcd_until() {
	local end=$((${EPOCHREALTIME//[.,]/} + $1 * 1000000))
	shift
	while [ "${EPOCHREALTIME//[.,]/}" -lt "$end" ]; do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

# _etcd_run I STATE: starts member I (its ports chosen already), the
# cluster's state "new" or "existing".
_etcd_run() {
	local i=$1 cluster= j u
	for ((j = 1; j <= ETCD_N; j++)); do
		cluster=$cluster${cluster:+,}m$j=${ETCD_PEER[$j]}
	done
	mapfile -t u < <(_etcd_env)
	# fd 3 closed: bats waits for whoever holds it.
	env "${u[@]}" etcd --name "m$i" --data-dir "$ETCD_DIR/m$i" \
	    --listen-client-urls "${ETCD_URL[$i]}" \
	    --advertise-client-urls "${ETCD_URL[$i]}" \
	    --listen-peer-urls "${ETCD_PEER[$i]}" \
	    --initial-advertise-peer-urls "${ETCD_PEER[$i]}" \
	    --initial-cluster "$cluster" \
	    --initial-cluster-token "$ETCD_TOKEN" \
	    --initial-cluster-state "$2" \
	    --heartbeat-interval "$ETCD_HEARTBEAT" \
	    --election-timeout "$ETCD_ELECTION" \
	    --logger zap --log-outputs stderr \
	    >>"$ETCD_DIR/m$i.log" 2>&1 3>&- &
	ETCD_PID[$i]=$!
	ETCD_PAUSED[$i]=
}

# _etcd_http I METHOD PATH [BODY]: an HTTP/1.0 request to member I's
# client port through bash's /dev/tcp, its answer's status code in
# ETCD_CODE and its body in ETCD_BODY; status 1 when it does not answer
# within 1 s (paused: the kernel accepts, nobody reads).  Not curl: the
# tests ask in loops, and a process costs a tenth of a second on a
# loaded machine.
_etcd_http() {
	local fd ans rc port=${ETCD_URL[$1]##*:} body=${4:-}
	ETCD_CODE= ETCD_BODY=
	exec {fd}<>"/dev/tcp/127.0.0.1/$port" || return 1
	printf '%s %s HTTP/1.0\r\nHost: 127.0.0.1:%s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' \
	    "$2" "$3" "$port" "${#body}" "$body" >&"$fd" || { exec {fd}>&-; return 1; }
	IFS= read -r -t 1 -d '' -u "$fd" ans
	rc=$?
	exec {fd}>&-
	# 1: the end of the answer before a NUL (all of it); above 128: the
	# time was up.
	[ "$rc" -le 128 ] && [[ $ans =~ ^HTTP/1\.[01]\ ([0-9]+) ]] || return 1
	ETCD_CODE=${BASH_REMATCH[1]}
	ETCD_BODY=${ans#*$'\r\n\r\n'}
}

# etcd_healthy I: member I answers /health with true (it has a leader).
etcd_healthy() {
	_etcd_http "$1" GET /health 2>/dev/null && [[ $ETCD_BODY == *'"health":"true"'* ]]
}

_etcd_all_healthy() {
	local i
	for ((i = 1; i <= ETCD_N; i++)); do
		etcd_healthy "$i" || return 1
	done
}

# _etcd_stat I: member I's view from the JSON gateway into ETCD_SID (its
# id), ETCD_SLEADER (the leader's, 0 when it knows none) and ETCD_STERM
# (its raft term), all decimal; status 1 when it does not answer within
# 1 s.  Read by bash in this shell, not by jq in a subshell (see
# _etcd_http).
_etcd_stat() {
	local j
	ETCD_SID= ETCD_SLEADER=0 ETCD_STERM=
	_etcd_http "$1" POST /v3/maintenance/status '{}' 2>/dev/null && [ "$ETCD_CODE" = 200 ] ||
	    return 1
	j=$ETCD_BODY
	[[ $j =~ \"member_id\":\"([0-9]+)\" ]] || return 1
	ETCD_SID=${BASH_REMATCH[1]}
	[[ ! $j =~ \"leader\":\"([0-9]+)\" ]] || ETCD_SLEADER=${BASH_REMATCH[1]}
	[[ $j =~ \"raftTerm\":\"([0-9]+)\" ]] || return 1
	ETCD_STERM=${BASH_REMATCH[1]}
}

# etcd_status I: member I's view, "member_id leader raft_term".
etcd_status() {
	_etcd_stat "$1" && echo "$ETCD_SID $ETCD_SLEADER $ETCD_STERM"
}

# _etcd_index ID: the index of the member of that id.
_etcd_index() {
	local i
	for ((i = 1; i <= ETCD_N; i++)); do
		[ "${ETCD_ID[$i]}" != "$1" ] || { echo "$i"; return 0; }
	done
	return 1
}

# etcd_leader: prints the index of the member that says it leads, the one
# of the highest term if a stale one (paused, resumed) says so too;
# status 1 when none does (no quorum, an election under way).
etcd_leader() {
	local i best= bestterm=-1
	for ((i = 1; i <= ETCD_N; i++)); do
		[ -n "${ETCD_PID[$i]}" ] && [ -z "${ETCD_PAUSED[$i]}" ] || continue
		_etcd_stat "$i" || continue
		[ "$ETCD_SID" = "$ETCD_SLEADER" ] && [ "$ETCD_STERM" -gt "$bestterm" ] || continue
		best=$i bestterm=$ETCD_STERM
	done
	[ -n "$best" ] && echo "$best"
}

# etcd_wait_leader [SECONDS]: waits until some member leads (10 s).
etcd_wait_leader() {
	_etcd_until "${1:-10}" etcd_leader >/dev/null && return 0
	echo "etcd: no leader within ${1:-10} s" >&2
	return 1
}

# _etcd_ports N: N distinct free ports of 127.0.0.1, one a line (one
# Python for them all: each process costs a tenth of a second here).
_etcd_ports() {
	"$PY" -c 'import socket, sys
ss = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss:
    s.bind(("127.0.0.1", 0))
print("\n".join(str(s.getsockname()[1]) for s in ss))' "$1"
}

# _etcd_agreed: every member answers its status, and all name the same
# leader, one of them; sets ETCD_ID.
_etcd_agreed() {
	local i first=
	for ((i = 1; i <= ETCD_N; i++)); do
		_etcd_stat "$i" || return 1
		[ "$ETCD_SLEADER" != 0 ] && [ "${first:=$ETCD_SLEADER}" = "$ETCD_SLEADER" ] || return 1
		ETCD_ID[$i]=$ETCD_SID
	done
	_etcd_index "$first" >/dev/null
}

_etcd_ready() {
	_etcd_agreed && _etcd_all_healthy
}

# etcd_start [N]: a cluster of N members (3), every one healthy and all
# agreeing on a leader within 20 s, or status 1 (their logs on stderr).
etcd_start() {
	local n=${1:-3} i urls= ports
	etcd_stop
	# In a test, always the test's own: the environment's never.
	[ -z "${BATS_TEST_TMPDIR:-}" ] || ETCD_DIR=$BATS_TEST_TMPDIR/etcd
	: "${ETCD_DIR:?etcd_start: ETCD_DIR is not set}"
	mkdir -p "$ETCD_DIR"
	# A cluster started before in this directory: a new one has no data.
	rm -rf "${ETCD_DIR:?}"/m[0-9]*/
	ETCD_N=$n ETCD_TOKEN=esc-test-$$-$RANDOM$RANDOM
	ETCD_PID=() ETCD_URL=() ETCD_PEER=() ETCD_ID=() ETCD_PAUSED=()
	mapfile -t ports < <(_etcd_ports $((2 * n)))
	for ((i = 1; i <= n; i++)); do
		ETCD_URL[$i]=http://127.0.0.1:${ports[$((2 * i - 2))]}
		ETCD_PEER[$i]=http://127.0.0.1:${ports[$((2 * i - 1))]}
		urls=$urls${urls:+,}${ETCD_URL[$i]}
	done
	export ESC_ETCD_ENDPOINTS=$urls
	for ((i = 1; i <= n; i++)); do
		_etcd_run "$i" new
	done
	_etcd_until 20 _etcd_ready && return 0
	echo "etcd: no healthy cluster of $n within 20 s" >&2
	tail -n 20 "$ETCD_DIR"/m*.log >&2
	return 1
}

# _etcd_gone PID: the process has exited (a zombie, or reaped).
_etcd_gone() {
	local st
	{ read -r st <"/proc/$1/stat"; } 2>/dev/null || return 0
	# The state follows the name in parentheses.
	st=${st##*) }
	[ "${st%% *}" = Z ]
}

# etcd_stop_member I [TERM]: SIGKILL (SIGTERM with TERM) to member I;
# returns when it is gone.  SIGTERM is a graceful stop, and a leader's
# hands leadership over first, which can take long with a peer paused:
# after 10 s it gets SIGKILL.
etcd_stop_member() {
	local pid=${ETCD_PID[$1]:-} sig=${2:-KILL}
	[ -n "$pid" ] || return 0
	# Every status ignored: bats fails a test on any command that fails.
	kill -s "$sig" "$pid" 2>/dev/null || true
	# A stopped process acts on SIGTERM only once continued.
	kill -s CONT "$pid" 2>/dev/null || true
	_etcd_until 10 _etcd_gone "$pid" || kill -s KILL "$pid" 2>/dev/null || true
	_etcd_until 5 _etcd_gone "$pid" || {
		echo "etcd: m$1 (pid $pid) does not die" >&2
		return 1
	}
	# Reaps our child, now that it has exited (wait alone would wait
	# unbounded; one started by another shell is no child: no wait).
	wait "$pid" 2>/dev/null || true
	ETCD_PID[$1]=
	ETCD_PAUSED[$1]=
}

# etcd_start_member I: member I again, on its ports and data directory;
# returns when it is healthy (20 s at most).
etcd_start_member() {
	etcd_stop_member "$1"
	_etcd_run "$1" existing
	_etcd_until 20 etcd_healthy "$1" && return 0
	echo "etcd: m$1 not healthy after a restart" >&2
	tail -n 20 "$ETCD_DIR/m$1.log" >&2
	return 1
}

etcd_pause_member() {
	[ -n "${ETCD_PID[$1]:-}" ] || { echo "etcd: m$1 is not running" >&2; return 1; }
	kill -s STOP "${ETCD_PID[$1]}" && ETCD_PAUSED[$1]=1
}

etcd_resume_member() {
	[ -n "${ETCD_PID[$1]:-}" ] || { echo "etcd: m$1 is not running" >&2; return 1; }
	kill -s CONT "${ETCD_PID[$1]}" && ETCD_PAUSED[$1]=
}

# etcd_stop: kills every member, paused ones too; safe to call twice.
etcd_stop() {
	local i
	for ((i = 1; i <= ETCD_N; i++)); do
		etcd_stop_member "$i"
	done
	ETCD_N=0
}
