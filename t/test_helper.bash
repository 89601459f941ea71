# Loaded by every test file: bats-support, bats-assert, and the paths of
# the tree under test.  `make check` puts the built programs and scripts/
# first on PATH and sets ESC_SRC to the top of the tree.
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

: "${ESC_SRC:=$(cd "$BATS_TEST_DIRNAME/.." && pwd)}"
FIX="$ESC_SRC/t/fixtures"
POLICY="$ESC_SRC/share/esc/policy.json"
export ESC_SRC FIX POLICY
export ESC_SHAREDIR="$ESC_SRC/share/esc"
# Nothing from the user's environment may steer a test.
unset ESC_POLICY ESC_ROSTER ESC_CHANNELS ESC_STATE ESC_SPOOL ESC_NOW ESC_DIR ESC_JOURNAL
# Nor may a user's etcd: with ESC_ETCD_ENDPOINTS set, esc keeps its state
# there (t/etcd.bash sets it for the tests that start a cluster).
unset ESC_ETCD_ENDPOINTS ESC_ETCD_PREFIX ESC_ETCD_CACERT ESC_ETCD_CERT ESC_ETCD_KEY \
    ESC_ETCD_USER ESC_ETCD_PASSWORD ESC_ETCD_PASSWORD_FILE ESC_ETCD_LEASE
export TZ=UTC

# The Python that has Debian's modules (aiosmtpd): not a pyenv shim.
PY=/usr/bin/python3

# A free TCP port on 127.0.0.1.
free_port() {
	"$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_until COMMAND...: runs COMMAND every 0.05 s until it succeeds, for
# WAIT_SECS (30) seconds of the clock at most; status 1 if it never did.
# Every wait of the tests is one of these, so none can hang.  The bound is
# of the clock, not a count of tries, and generous: `make check` runs the
# files side by side, and on a loaded machine a command can take a second.
# A wait that succeeds costs no more for it.  A caller that leaves the
# verdict to the assertions after it writes `wait_until ... || true`.
WAIT_SECS=${WAIT_SECS:-30}
wait_until() {
	local end=$((${EPOCHREALTIME//[.,]/} + WAIT_SECS * 1000000))
	while :; do
		"$@" && return 0
		[ "${EPOCHREALTIME//[.,]/}" -lt "$end" ] || return 1
		sleep 0.05
	done
}

# has_lines N FILE: FILE holds N lines or more.
has_lines() {
	[ "$(wc -l <"$2")" -ge "$1" ]
}

# port_open PORT: something listens on 127.0.0.1:PORT.
port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Waits (bounded: WAIT_SECS) until something listens on 127.0.0.1:$1.
wait_port() {
	wait_until port_open "$1" && return 0
	echo "nothing listens on 127.0.0.1:$1" >&2
	return 1
}

# reap [-9] PID...: stops each process (SIGTERM, or SIGKILL with -9) and
# waits for it; one already gone is no error.  Teardowns call it with
# every process their test may have left in the background.
reap() {
	local sig=TERM p
	if [ "${1:-}" = -9 ]; then
		sig=KILL
		shift
	fi
	for p in "$@"; do
		kill -s "$sig" "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}

# jsonc FILE: the JSON-with-comments FILE as plain JSON, for jq.
jsonc() {
	"$PY" - "$1" <<'PYEOF'
import json, re, sys
text = open(sys.argv[1], encoding="utf-8").read()
# Strings are matched first, so // inside a URL is left alone.
pat = re.compile(r'"(?:\\.|[^"\\])*"|//[^\n]*|/\*.*?\*/', re.S)
clean = pat.sub(lambda m: m.group(0) if m.group(0).startswith('"') else " ", text)
print(json.dumps(json.loads(clean), indent=2))
PYEOF
}

# start_inbox [OPTION...]: esc-inbox serve on a free port of 127.0.0.1,
# its log in $BATS_TEST_TMPDIR/inbox.log (its standard output, which
# should stay empty, in inbox.out); sets INBOX_PID, INBOX_PORT and
# INBOX (its URL).  The options go before "serve" (-c, -r, -d, --now).
start_inbox() {
	# A log of its own: a server started before in the test has its
	# "listening on" line in the last one.
	INBOX_LOG=$BATS_TEST_TMPDIR/inbox.log
	[ ! -e "$INBOX_LOG" ] || mv "$INBOX_LOG" "$INBOX_LOG.$(date +%s%N)"
	esc-inbox "$@" -l 127.0.0.1:0 serve >"$BATS_TEST_TMPDIR/inbox.out" 2>"$INBOX_LOG" &
	INBOX_PID=$!
	wait_until grep -q 'listening on' "$INBOX_LOG" || {
		cat "$INBOX_LOG" >&2
		return 1
	}
	INBOX_PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\);.*/\1/p' "$INBOX_LOG" | tail -n 1)
	INBOX=http://127.0.0.1:$INBOX_PORT
	export INBOX_PID INBOX_PORT INBOX INBOX_LOG
}

# post PATH [CURL-OPTION...]: POSTs to esc-inbox serve; prints the status
# code, then the body.
post() {
	local path=$1
	shift
	curl -s -o "$BATS_TEST_TMPDIR/post.body" -w '%{http_code}\n' -X POST \
	    "$@" "$INBOX$path"
	cat "$BATS_TEST_TMPDIR/post.body"
}

# pd_sign SECRET < BODY: PagerDuty's X-PagerDuty-Signature of the body,
# v1= and the hex HMAC-SHA256 with the webhook secret.
pd_sign() {
	printf 'v1=%s' "$(openssl dgst -sha256 -hmac "$1" -r | cut -d' ' -f1)"
}

# twilio_sign TOKEN URL FORM: Twilio's X-Twilio-Signature of a POST of
# the (urlencoded) FORM to URL: the base64 HMAC-SHA1, keyed with the auth
# token, of the URL and each parameter's name and value, sorted by name.
twilio_sign() {
	"$PY" - "$@" <<'PYEOF'
import base64, hashlib, hmac, sys, urllib.parse
token, url, form = sys.argv[1:4]
pairs = sorted(urllib.parse.parse_qsl(form, keep_blank_values=True))
data = url + "".join(k + v for k, v in pairs)
mac = hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
print(base64.b64encode(mac).decode())
PYEOF
}

# slack_sign SECRET TIMESTAMP BODY: the X-Slack-Signature Slack sends
# with BODY at TIMESTAMP ("v0=" and the hex HMAC-SHA256 of
# "v0:TIMESTAMP:BODY" with the app's signing secret).
slack_sign() {
	printf 'v0:%s:%s' "$2" "$3" | openssl dgst -sha256 -hmac "$1" -r |
	    sed 's/ .*//; s/^/v0=/'
}
