# A real Alertmanager (Debian prometheus-alertmanager) on 127.0.0.1 for the
# tests: am_start [CONFIG] starts one with a fresh storage directory and sets
# AM_URL; am_stop stops it.  Clustering is off, so nothing leaves loopback.
# HOOK_PORT names the webhook receiver's port in the config template.

am_bin() {
	command -v prometheus-alertmanager || command -v alertmanager
}

am_start() {
	local cfg=${1:-$FIX/alertmanager/alertmanager.yml}
	AM_PORT=$(free_port)
	AM_DIR=$(mktemp -d "$BATS_TEST_TMPDIR/am.XXXXXX")
	sed "s/@HOOK_PORT@/${HOOK_PORT:-1}/g" "$cfg" > "$AM_DIR/am.yml"
	"$(am_bin)" --config.file="$AM_DIR/am.yml" \
	    --storage.path="$AM_DIR/data" \
	    --web.listen-address="127.0.0.1:$AM_PORT" \
	    --cluster.listen-address= \
	    --log.level=warn >"$AM_DIR/log" 2>&1 &
	AM_PID=$!
	AM_URL="http://127.0.0.1:$AM_PORT"
	wait_port "$AM_PORT"
	# The API answers a moment after the port opens.
	wait_until curl -sf -o /dev/null "$AM_URL/-/ready" && return 0
	cat "$AM_DIR/log" >&2
	return 1
}

am_stop() {
	reap ${AM_PID:-}
	AM_PID=
}

# am_post JSON-ARRAY: posts alerts through the API v2.
am_post() {
	curl -sf -X POST -H 'Content-Type: application/json' \
	    --data-binary "$1" "$AM_URL/api/v2/alerts"
}

# am_silence MATCHER-NAME VALUE: a silence for an hour; prints its id.
am_silence() {
	local now end
	now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	end=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
	curl -sf -X POST -H 'Content-Type: application/json' \
	    --data-binary "{\"matchers\":[{\"name\":\"$1\",\"value\":\"$2\",\"isRegex\":false,\"isEqual\":true}],\"startsAt\":\"$now\",\"endsAt\":\"$end\",\"createdBy\":\"esc-tests\",\"comment\":\"test\"}" \
	    "$AM_URL/api/v2/silences" | jq -r .silenceID
}
