# One etcd member on loopback for the tests of esc's state on etcd (issue
# 14), on free ports, its data in $BATS_TEST_TMPDIR/etcd: start_etcd (again
# after stop_etcd: the same member, the same data), stop_etcd, and ectl,
# etcdctl against it.  The tools under test find it through
# ESC_ETCD_ENDPOINTS, their keys under ESC_ETCD_PREFIX=/t/.  (Before
# t/etcd.bash, the cluster of three, was on this branch: etcd_start 1
# would serve as well.)

start_etcd() {
	: "${ETCD_PORT:=$(free_port)}" "${ETCD_PEER:=$(free_port)}"
	ETCD_DATA=$BATS_TEST_TMPDIR/etcd
	etcd --data-dir "$ETCD_DATA" --name default \
	    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
	    --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
	    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER" \
	    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER" \
	    --initial-cluster "default=http://127.0.0.1:$ETCD_PEER" \
	    >>"$BATS_TEST_TMPDIR/etcd.log" 2>&1 3>&- &
	ETCD_PID=$!
	export ESC_ETCD_ENDPOINTS=http://127.0.0.1:$ETCD_PORT ESC_ETCD_PREFIX=/t/
	unset ESC_ETCD_LEASE
	wait_until ectl endpoint health >/dev/null 2>&1
}

stop_etcd() {
	reap ${ETCD_PID:-}
	ETCD_PID=
}

ectl() {
	ETCDCTL_API=3 etcdctl --endpoints "http://127.0.0.1:$ETCD_PORT" \
	    --command-timeout 3s "$@"
}
