#!/usr/bin/env bats
# The door holds (issue 18): esc-inbox serve and poll, the channels'
# secrets and the etcd client against a hostile peer: empty secrets,
# guessed SMS codes, provider URLs that point elsewhere, slow clients,
# one lock across the network, a stale view of etcd, control bytes in
# the log, smuggled requests, a looping etcd, Twilio's To= filter.

load test_helper
load fixtures/notify/helper
bats_require_minimum_version 1.5.0

T=2026-11-27T10:00:00Z
NOW=2026-11-27T10:01:00Z
TS=$(date -u -d "$NOW" +%s)
PUB=https://esc.example.com/hooks
export ESC_SLACK_SIGNING_SECRET=8f742231b10e8888abcd99yyyzzz85a5
export ESC_PD_WEBHOOK_SECRET=pdWEBHOOKsekret
export ESC_INBOX_TOKEN=door-s3cret-token

setup() {
	export ESC_DIR=$BATS_TEST_TMPDIR/esc
	export ESC_ROSTER=$FIX/inbox/roster.json
	mkdir -p "$ESC_DIR"
	CH=$BATS_TEST_TMPDIR/channels.json
	# An open incident: the example alerts routed at 10:00.
	esc-classify --now "$T" "$ESC_SRC/share/esc/examples/alerts.ndjson" |
	    esc-route -s "$ESC_DIR/state.json" --now "$T" > "$BATS_TEST_TMPDIR/pages"
	INC=$(jq -r 'select(.type == "page" and .alertname == "StemeDBAPIDown" and .channel == "pagerduty") | .dedup_key' "$BATS_TEST_TMPDIR/pages" | head -n 1)
	INC=${INC:0:16}
}

teardown() {
	reap ${INBOX_PID:-} ${LISTEN_PID:-} ${ETCD_PID:-} ${SLOW_PID:-} ${SLOWREST_PID:-}
	stop_servers
}

# secret_file NAME CONTENT: a file of its owner's only, holding CONTENT.
secret_file() {
	printf '%s' "$2" > "$BATS_TEST_TMPDIR/$1"
	chmod 600 "$BATS_TEST_TMPDIR/$1"
	echo "$BATS_TEST_TMPDIR/$1"
}

# write_ch JSON: the channels file.
write_ch() {
	printf '%s\n' "$1" > "$CH"
	chmod 600 "$CH"
}

# The records written, in file order.
pending() {
	cat "$ESC_DIR"/inbox/pending/*.ndjson 2>/dev/null || true
}

# raw FILE: sends the bytes of FILE to the server at once and prints
# what came back until it closed the connection (5 s at most).
raw() {
	"$PY" - "$INBOX_PORT" "$1" <<'PYEOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(open(sys.argv[2], "rb").read())
s.settimeout(5)
got = b""
try:
    while True:
        d = s.recv(65536)
        if not d:
            got += b"<closed>"
            break
        got += d
except socket.timeout:
    got += b"<still open>"
sys.stdout.write(got.decode("latin-1").replace("\r", ""))
PYEOF
}

# ---- 1. an empty secret is a configuration error ----

@test "door 1: an empty or blank secret file or variable is exit 2, named; never a key" {
	e=$(secret_file empty '')
	b=$(secret_file blank $' \n\t \n')
	for sec in 'pagerduty": {"routing_key_env": "X", "webhook_secret_file' \
	    'slack": {"signing_secret_file' \
	    'sms": {"from": "+15550100", "auth_token_file' 'inbox": {"token_file'; do
		for f in "$e" "$b"; do
			write_ch "{\"$sec\": \"$f\"}}"
			run timeout 10 esc-inbox -c "$CH" -l 127.0.0.1:0 serve
			assert_failure 2
			assert_output --regexp "^esc-inbox: $CH: [a-z]+\.[a-z_]+: $f: empty \(or only white space\): not a secret$"
			run esc-notify -c "$CH" /dev/null
			assert_failure 2
		done
	done
	# The environment: set but blank is an error too (unset is a
	# channel not configured, as before).
	write_ch '{"inbox": {"token_env": "ESC_INBOX_TOKEN"}}'
	ESC_INBOX_TOKEN=' ' run timeout 10 esc-inbox -c "$CH" -l 127.0.0.1:0 serve
	assert_failure 2
	assert_output "esc-inbox: $CH: inbox.token: ESC_INBOX_TOKEN: empty (or only white space): not a secret"
	ESC_INBOX_TOKEN='' run timeout 10 esc-inbox -c "$CH" -l 127.0.0.1:0 serve
	assert_failure 2
	assert_output "esc-inbox: $CH: inbox.token: ESC_INBOX_TOKEN: empty (or only white space): not a secret"
}

@test "door 1: an empty bearer token is 401, and rings nothing" {
	write_ch '{"inbox": {"token_env": "ESC_INBOX_TOKEN"}}'
	start_inbox -c "$CH"
	for a in 'Bearer ' 'Bearer' 'Bearer    '; do
		run post /alertmanager -H "Authorization: $a" --data '{"alerts":[]}'
		assert_line -n 0 401
	done
	[ ! -e "$ESC_DIR/inbox/doorbell" ]
}

# ---- 3. a URL a provider hands back stays on its host ----

@test "door 3: Twilio's next_page_uri to another host is refused; the credentials go nowhere" {
	start_prov --now "$T" --twilio-sid "$ESC_TWILIO_SID" --twilio-token "$ESC_TWILIO_TOKEN"
	channels '.sms.replies = true'
	LPORT=$(free_port)
	"$PY" - "$LPORT" > "$BATS_TEST_TMPDIR/listener.out" <<'PYEOF' &
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
while True:
    c, _ = s.accept()
    print("connection:", c.recv(4096)[:200], flush=True)
    c.close()
PYEOF
	LISTEN_PID=$!
	wait_port "$LPORT"
	# LISTEN_PID's own check above connected once: forget it.
	sleep 0.2
	: > "$BATS_TEST_TMPDIR/listener.out"
	for next in "@127.0.0.1:$LPORT/steal" "//127.0.0.1:$LPORT/steal" \
	    "http://127.0.0.1:$LPORT/steal" "steal" "/x/../..@127.0.0.1:$LPORT/steal"; do
		body=$(jq -cn --arg n "$next" '{messages: [], next_page_uri: $n, page: 0, page_size: 100}')
		curl -sf -X POST --data "$(jq -cn --arg b "$body" '{mode: "answer", count: 1, status: 200, body: $b, ctype: "application/json", path: "/2010-04-01"}')" \
		    "http://127.0.0.1:$PROV_PORT/_control" > /dev/null
		run --separate-stderr esc-inbox --now "$NOW" poll
		assert_failure 1
		assert_output ''
		[[ "$stderr" == *"sms: next_page_uri: not a path on http://127.0.0.1:$PROV_PORT"* ]] ||
		    [[ "$stderr" == *"sms: next_page_uri"* ]]
	done
	sleep 0.3
	run cat "$BATS_TEST_TMPDIR/listener.out"
	assert_output ''
	run grep -c "$ESC_TWILIO_TOKEN" "$BATS_TEST_TMPDIR/listener.out"
	assert_output 0
}

# ---- 7. control bytes never reach the log raw ----

@test "door 7: control bytes in a request line are escaped in the log" {
	write_ch '{"inbox": {"token_env": "ESC_INBOX_TOKEN"}}'
	start_inbox -c "$CH"
	printf 'POST /a\033]0;owned\007\033[2J\177b HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n' > "$BATS_TEST_TMPDIR/req"
	run raw "$BATS_TEST_TMPDIR/req"
	assert_line -n 0 --partial 'HTTP/1.1 404'
	printf 'GET /\033[31m\r\033[0m\n\n' > "$BATS_TEST_TMPDIR/req"
	raw "$BATS_TEST_TMPDIR/req" > /dev/null
	# Nothing in the log but printable text, tabs and newlines.
	run grep -c -P '[\x00-\x08\x0b-\x1f\x7f]' "$INBOX_LOG"
	assert_output 0
	grep -qF 'POST /a\x1b]0;owned\x07\x1b[2J\x7fb 404: no such path' "$INBOX_LOG"
}

@test "door 7: esc_warnx escapes control bytes in any tool's message" {
	printf '{"type":"ack","incident":"x\\u001b[2J\\ry","by":"a","at":"%s"}\n' "$T" > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr esc-route -s "$BATS_TEST_TMPDIR/s.json" --now "$T" "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	[ "$stderr" = "esc-route: $BATS_TEST_TMPDIR/in:1: ack: unknown incident x\\x1b[2J\\x0dy" ]
}

# ---- 8. request smuggling ----

@test "door 8: two Content-Lengths, or one with chunked, are 400 and close; nothing after is read" {
	write_ch '{"inbox": {"token_env": "ESC_INBOX_TOKEN"}}'
	start_inbox -c "$CH"
	AM='{"alerts":[]}'
	next="POST /alertmanager HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $ESC_INBOX_TOKEN\r\nContent-Length: ${#AM}\r\n\r\n$AM"
	printf "POST /alertmanager HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $ESC_INBOX_TOKEN\r\nContent-Length: ${#AM}\r\nContent-Length: 300\r\n\r\n$AM$next" > "$BATS_TEST_TMPDIR/req"
	run raw "$BATS_TEST_TMPDIR/req"
	assert_line -n 0 'HTTP/1.1 400 Bad Request'
	assert_output --partial '<closed>'
	run grep -c '^HTTP/' <<< "$output"
	assert_output 1
	[ ! -e "$ESC_DIR/inbox/doorbell" ]
	printf "POST /alertmanager HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $ESC_INBOX_TOKEN\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\nd\r\n$AM\r\n0\r\n\r\n$next" > "$BATS_TEST_TMPDIR/req"
	run raw "$BATS_TEST_TMPDIR/req"
	assert_line -n 0 'HTTP/1.1 400 Bad Request'
	assert_output --partial '<closed>'
	run grep -c '^HTTP/' <<< "$output"
	assert_output 1
	[ ! -e "$ESC_DIR/inbox/doorbell" ]
	grep -q 'POST /alertmanager 400: two Content-Length headers' "$INBOX_LOG"
	grep -q 'POST /alertmanager 400: Content-Length and Transfer-Encoding' "$INBOX_LOG"
	# The same length twice is still one length too many.
	printf "POST /alertmanager HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $ESC_INBOX_TOKEN\r\nContent-Length: ${#AM}\r\nContent-Length: ${#AM}\r\n\r\n$AM" > "$BATS_TEST_TMPDIR/req"
	run raw "$BATS_TEST_TMPDIR/req"
	assert_line -n 0 'HTTP/1.1 400 Bad Request'
	[ ! -e "$ESC_DIR/inbox/doorbell" ]
}

# ---- 9. a hostile etcd ----

# fake_etcd MODE: a stand-in of etcd's JSON gateway whose range answers
# are hostile: "empty" (more: true, no keys, after a first key), "same"
# (the same key again and again), "outside" (a key beyond the prefix),
# "huge" (an endless answer).
fake_etcd() {
	ETCD_PORT=$(free_port)
	"$PY" - "$ETCD_PORT" "$1" > "$BATS_TEST_TMPDIR/etcd.count" <<'PYEOF' &
import base64, json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
mode = sys.argv[2]
n = 0
b64 = lambda s: base64.b64encode(s.encode()).decode()
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_POST(self):
        global n
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        n += 1
        print(n, flush=True)
        hdr = {"cluster_id": "1", "member_id": "1", "revision": "5", "raft_term": "2"}
        key = {"empty": "/esc/state/version", "same": "/esc/state/version",
               "outside": "/other/state/x", "huge": "/esc/state/version"}[mode]
        kvs = [{"key": b64(key), "value": b64("3"), "mod_revision": "5"}]
        if mode == "empty" and n > 1:
            kvs = []
        if mode == "huge":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                self.wfile.write(b"10000\r\n" + b'{"header":{},"x":"' + b"A" * (0x10000 - 18) + b"\r\n")
                for i in range(20000):
                    self.wfile.write(b"10000\r\n" + b"A" * 0x10000 + b"\r\n")
            except Exception:
                pass
            return
        body = json.dumps({"header": hdr, "kvs": kvs, "more": True, "count": "9"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PYEOF
	ETCD_PID=$!
	wait_port "$ETCD_PORT"
	export ESC_ETCD_ENDPOINTS=http://127.0.0.1:$ETCD_PORT
}

@test "door 9: an etcd range that says more and adds nothing ends with an error" {
	write_ch '{"inbox": {"token_env": "ESC_INBOX_TOKEN"}}'
	for mode in empty same; do
		fake_etcd $mode
		run timeout 20 esc-inbox -c "$CH" -l 127.0.0.1:0 serve
		assert_failure 2
		if [ $mode = empty ]; then
			assert_output "esc-inbox: etcd: a range page that adds nothing (\"more\" and no key after the last)"
		else
			assert_output "esc-inbox: etcd: a key outside /esc/state/, or not after the last one read"
		fi
		[ "$(tail -n 1 "$BATS_TEST_TMPDIR/etcd.count")" -le 3 ]
		reap "$ETCD_PID"
	done
}

@test "door 9: a key outside the prefix asked for, or an answer past the cap, is an error" {
	write_ch '{"inbox": {"token_env": "ESC_INBOX_TOKEN"}}'
	fake_etcd outside
	run timeout 20 esc-inbox -c "$CH" -l 127.0.0.1:0 serve
	assert_failure 2
	assert_output 'esc-inbox: etcd: a key outside /esc/state/, or not after the last one read'
	reap "$ETCD_PID"
	fake_etcd huge
	run timeout 30 esc-inbox -c "$CH" -l 127.0.0.1:0 serve
	assert_failure 2
	assert_output "esc-inbox: etcd http://127.0.0.1:$ETCD_PORT: an answer over 64 MiB"
}

# ---- 10. Twilio's To= filter is E.164 ----

@test "door 10: the poll asks Twilio for replies To the sending number in E.164" {
	start_prov --now "$T" --twilio-sid "$ESC_TWILIO_SID" --twilio-token "$ESC_TWILIO_TOKEN"
	channels '.sms.replies = true | .sms.from = "+1 (555) 010-0"'
	run --separate-stderr esc-inbox --now "$NOW" poll
	assert_success
	run jq -r 'select(.kind == "twilio_list") | .path' "$PROV_LOG"
	assert_output --regexp '[?&]To=%2B15550100&'
}

# ---- 4 and 5: slow clients, slow providers ----

# payload ACTION_ID INCIDENT USER: the form Slack posts for a click.
payload() {
	jq -rn --arg a "$1" --arg v "$2" --arg u "$3" '{
	  type: "block_actions", user: {id: $u, username: "someone", team_id: "T1"},
	  api_app_id: "A1", token: "legacy", container: {type: "message"},
	  trigger_id: "1.2.3", team: {id: "T1"},
	  actions: [{type: "button", block_id: "b1", action_id: $a, value: $v,
	    text: {type: "plain_text", text: "Acknowledge"},
	    action_ts: "1795780860.123456"}]}
	  | "payload=" + (tojson | @uri)'
}

# click: a signed click on Acknowledge by alice; prints the status and
# the seconds it took.
click() {
	local body sig
	body=$(payload esc_ack "$INC" U01ALICE01)
	sig=$(slack_sign "$ESC_SLACK_SIGNING_SECRET" "$TS" "$body")
	curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -m 30 -X POST \
	    -H "X-Slack-Request-Timestamp: $TS" -H "X-Slack-Signature: $sig" \
	    --data-binary "$body" "$INBOX/slack"
}

@test "door 4: one address holds at most 32 connections, each cut off 10 s after its start; a click from another is answered at once" {
	write_ch '{"slack": {"signing_secret_env": "ESC_SLACK_SIGNING_SECRET"}}'
	start_inbox -c "$CH" --now "$NOW"
	# From 127.0.0.2: 100 connections, each a request whose headers
	# come one line every 2 s and never end.
	"$PY" - "$INBOX_PORT" > "$BATS_TEST_TMPDIR/slow.out" <<'PYEOF' &
import socket, sys, time
port = int(sys.argv[1])
conns = []
for i in range(100):
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    s.connect(("127.0.0.1", port))
    s.sendall(b"POST /slack HTTP/1.1\r\nHost: x\r\n")
    conns.append(s)
start = time.time()
def alive():
    n = 0
    for s in conns:
        try:
            s.sendall(b"X-Slow: 1\r\n")
            s.setblocking(False)
            try:
                if s.recv(1) == b"":
                    raise OSError
            except BlockingIOError:
                pass
            s.setblocking(True)
            n += 1
        except OSError:
            pass
    return n
time.sleep(1)
print("held after 1 s:", alive(), flush=True)
while time.time() - start < 16:
    time.sleep(2)
    n = alive()
    if n == 0:
        break
print("held after %d s: %d" % (round(time.time() - start), n), flush=True)
PYEOF
	SLOW_PID=$!
	wait_until grep -q 'after 1 s' "$BATS_TEST_TMPDIR/slow.out"
	run click
	assert_output --regexp '^200 0\.[0-9]+$'
	echo "click while 127.0.0.2 held its connections: $output" >&3
	wait "$SLOW_PID" || true
	SLOW_PID=
	run cat "$BATS_TEST_TMPDIR/slow.out"
	assert_line -n 0 'held after 1 s: 32'
	assert_line -n 1 --regexp '^held after (10|11|12|13) s: 0$'
}

@test "door 5: a slow PagerDuty REST API behind one webhook does not hold a Slack click" {
	start_prov --pd-token t0ken --now "$T"
	export ESC_PD_API_TOKEN=t0ken
	channels '.pagerduty += {api_url: ("http://127.0.0.1:'"$PROV_PORT"'"),
	    api_token_env: "ESC_PD_API_TOKEN", webhook_secret_env: "ESC_PD_WEBHOOK_SECRET"}
	    | .slack.signing_secret_env = "ESC_SLACK_SIGNING_SECRET"'
	start_inbox --now "$NOW"
	# The REST API takes 4 s for the incident's alerts.
	curl -sf -X POST --data '{"mode": "slow", "latency_ms": 4000, "path": "/incidents"}' \
	    "http://127.0.0.1:$PROV_PORT/_control" > /dev/null
	# A webhook whose incident_key is not esc's: its alerts are looked up.
	body='{"event":{"id":"01ABC","event_type":"incident.acknowledged","resource_type":"incident","occurred_at":"2026-11-27T10:00:30Z","agent":{"id":"PBOB001","type":"user_reference","summary":"Bob"},"data":{"id":"P000009","type":"incident","incident_key":"not-esc"}}}'
	sig=$(printf '%s' "$body" | pd_sign "$ESC_PD_WEBHOOK_SECRET")
	order=$BATS_TEST_TMPDIR/order
	( curl -s -o /dev/null -w 'pagerduty %{http_code}\n' -m 30 -X POST \
	    -H "X-PagerDuty-Signature: $sig" --data-binary "$body" "$INBOX/pagerduty" >> "$order" ) &
	SLOWREST_PID=$!
	# (The stand-in logs a slow request once it answers: a second is
	# what the webhook needs to be inside the REST call.)
	sleep 1
	click > "$BATS_TEST_TMPDIR/click"
	echo "slack $(cat "$BATS_TEST_TMPDIR/click")" >> "$order"
	wait "$SLOWREST_PID"
	SLOWREST_PID=
	echo "$(cat "$order")" >&3
	# The click first, answered; the webhook after its REST call.
	run cut -d' ' -f1 "$order"
	assert_output $'slack\npagerduty'
	run cut -d' ' -f2 "$order"
	assert_line -n 0 200
}

# ---- 2. the SMS code ----

# sms_flood PORT TOKEN URL FROM N BODY...: N signed Twilio requests from
# FROM, each BODY in turn; prints each answer's status and message.
sms_flood() {
	"$PY" - "$@" <<'PYEOF'
import base64, hashlib, hmac, http.client, re, sys, urllib.parse
port, token, url, frm, n = sys.argv[1:6]
bodies = sys.argv[6:]
c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
for i in range(int(n)):
    form = {"MessageSid": "SM%04d" % i, "SmsSid": "SM%04d" % i, "From": frm,
            "To": "+15550100", "Body": bodies[i % len(bodies)], "NumMedia": "0"}
    data = url + "".join(k + v for k, v in sorted(form.items()))
    sig = base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()
    c.request("POST", "/twilio", urllib.parse.urlencode(form),
              {"X-Twilio-Signature": sig, "Content-Type": "application/x-www-form-urlencoded"})
    r = c.getresponse()
    m = re.search(r"<Message>(.*)</Message>", r.read().decode())
    print(r.status, m.group(1) if m else "")
PYEOF
}

sms_channels() {
	export ESC_TWILIO_TOKEN=tw1l10SEKRETauth
	write_ch '{"sms": {"from": "+1 555-0100", "auth_token_env": "ESC_TWILIO_TOKEN"},
	    "inbox": {"public_url": "'"$PUB"'"}}'
}

@test "door 2: 300 wrong codes from a roster number: 5 are told, then rate; none rings the doorbell; the count outlives the server" {
	sms_channels
	CODE=$(esc-inbox code "$INC" | cut -d' ' -f2)
	start_inbox -c "$CH" --now "$NOW"
	# Every code but the right one, as a guesser would.
	run sms_flood "$INBOX_PORT" "$ESC_TWILIO_TOKEN" "$PUB/twilio" +1-555-0102 300 \
	    $(for a in 3 4 6 7 9 A C D E F G H; do for b in 3 4 6 7 9 A C D E F G H J K M N P Q T U V W X Y; do
	        [ "${CODE:0:2}" = "$a$b" ] || echo "$a${b}KK"; done; done | head -n 300)
	assert_equal "$(grep -c '^200 ' <<< "$output")" 300
	assert_equal "$(grep -c 'is not the code of an open incident' <<< "$output")" 5
	assert_equal "$(grep -c 'too many wrong codes from this number' <<< "$output")" 295
	run jq -r '.reason' $ESC_DIR/inbox/pending/*.ndjson
	assert_equal "$(grep -c '^rate$' <<< "$output")" 295
	[ ! -e "$ESC_DIR/inbox/doorbell" ]
	# Five counted, each message once (by its sid), and no more.
	run cut -d' ' -f1,3 "$ESC_DIR/inbox/sms-tries"
	assert_output $'15550102 SM0000\n15550102 SM0001\n15550102 SM0002\n15550102 SM0003\n15550102 SM0004'
	# The right code now, from a new server: still refused (10 minutes).
	reap "$INBOX_PID"
	start_inbox -c "$CH" --now 2026-11-27T10:05:00Z
	run sms_flood "$INBOX_PORT" "$ESC_TWILIO_TOKEN" "$PUB/twilio" +1-555-0102 1 "$CODE"
	assert_output '200 esc: too many wrong codes from this number; nothing changed. Use esc-ack.'
	[ ! -e "$ESC_DIR/inbox/doorbell" ]
	# Another number is not limited by it; and ten minutes on, bob's
	# right code acks, and rings.
	run sms_flood "$INBOX_PORT" "$ESC_TWILIO_TOKEN" "$PUB/twilio" +1-555-0101 1 "$CODE"
	assert_output "200 esc: incident $INC acknowledged by alice. Reply ${CODE}R to resolve."
	[ -e "$ESC_DIR/inbox/doorbell" ]
	reap "$INBOX_PID"
	start_inbox -c "$CH" --now 2026-11-27T10:12:00Z
	run sms_flood "$INBOX_PORT" "$ESC_TWILIO_TOKEN" "$PUB/twilio" +1-555-0102 1 "$CODE"
	assert_output "200 esc: incident $INC acknowledged by bob. Reply ${CODE}R to resolve."
}

@test "door 2: the SMS code is the state's seed's, not the id's: the page carries it, esc-inbox computes it; another state, another code" {
	# esc-route drew a seed on its first commit, and each sms page
	# carries the code made with it.
	run grep -c $'^seed\t[0-9a-f]\\{64\\}$' "$ESC_DIR/state.json"
	assert_output 1
	sms=$(jq -r 'select(.type == "page" and .channel == "sms") | "\(.incident) \(.reply_code)"' "$BATS_TEST_TMPDIR/pages" | sort -u)
	[ -n "$sms" ]
	while read -r inc code; do
		run esc-inbox code "$inc"
		assert_output "$inc $code"
	done <<< "$sms"
	# The same alerts routed into another state: the same incident ids,
	# other codes (from the id alone, 1 in 331776 would agree).
	esc-classify --now "$T" "$ESC_SRC/share/esc/examples/alerts.ndjson" |
	    esc-route -s "$BATS_TEST_TMPDIR/other.json" --now "$T" > "$BATS_TEST_TMPDIR/pages2"
	mine=$(esc-inbox code "$INC")
	theirs=$(esc-inbox -s "$BATS_TEST_TMPDIR/other.json" code "$INC")
	[ "$mine" != "$theirs" ]
	# The seed stays: a later commit keeps it.
	seed=$(grep '^seed' "$ESC_DIR/state.json")
	esc-route -s "$ESC_DIR/state.json" --now 2026-11-27T10:30:00Z </dev/null >/dev/null
	assert_equal "$(grep '^seed' "$ESC_DIR/state.json")" "$seed"
	assert_equal "$(esc-inbox code "$INC")" "$mine"
}

@test "door 2: an old state without a seed loads; no code until esc-route's next commit makes one" {
	grep -v '^seed' "$ESC_DIR/state.json" | awk -v n="$(grep -vc '^seed' "$ESC_DIR/state.json")" '/^end /{print "end " n-2; next} {print}' > "$BATS_TEST_TMPDIR/old.json"
	chmod 600 "$BATS_TEST_TMPDIR/old.json"
	run esc-inbox -s "$BATS_TEST_TMPDIR/old.json" code "$INC"
	assert_failure 1
	assert_output "esc-inbox: $BATS_TEST_TMPDIR/old.json: no seed for SMS codes yet: esc-route makes it when it next commits"
	run esc-route -s "$BATS_TEST_TMPDIR/old.json" --now 2026-11-27T10:01:00Z </dev/null
	assert_success
	run grep -c '^seed' "$BATS_TEST_TMPDIR/old.json"
	assert_output 1
	run esc-inbox -s "$BATS_TEST_TMPDIR/old.json" code "$INC"
	assert_success
}
