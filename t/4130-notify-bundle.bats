#!/usr/bin/env bats
# esc-notify's digests (esc-channels(5) "bundle"): more than bundle.after
# pages to one person on SMS or e-mail in one run are one digest, the most
# severe first, counts per alertname, the critical ones named, on SMS one
# code that acks them all (esc-inbox, digest.c); each page keeps its own
# receipt, naming the digest.

load test_helper
load fixtures/notify/helper
bats_require_minimum_version 1.5.0

T=2026-11-27T10:00:00Z

setup() {
	start_prov --now "$T" --twilio-sid "$ESC_TWILIO_SID" --twilio-token "$ESC_TWILIO_TOKEN"
	channels
	export ESC_DIR=$BATS_TEST_TMPDIR/esc
	mkdir -p "$ESC_DIR"
	SP=$ESC_DIR/spool
}

teardown() {
	reap ${INBOX_PID:-}
	stop_servers
}

# pages CHANNEL N FILTER: N pages for CHANNEL to alice, each its own
# incident and dedup_key; alertnames A0..A9 in turn, every 7th critical
# (the others warning); FILTER changes them.
pages() {
	page "$1" | jq -c --argjson n "$2" 'range($n) as $i | .
	  | .dedup_key += "-\($i)" | .incident = "inc-\($i)"
	  | .alertname = "A\($i % 10)" | .labels.alertname = .alertname
	  | .severity = (if $i % 7 == 0 then "critical" else "warning" end)
	  | .summary = "page \($i)"' | jq -c "${3:-.}"
}

# The bodies of the SMS the stand-in received, one JSON string a line.
sms_bodies() {
	jq -r 'select(.kind == "twilio") | .body' "$PROV_LOG" |
	    "$PY" -c 'import json, sys, urllib.parse
for l in sys.stdin:
    print(json.dumps(urllib.parse.parse_qs(l.strip())["Body"][0]))'
}

@test "200 SMS pages to one person: one digest SMS, every page its receipt naming it, a code kept for esc-inbox" {
	pages sms 200 >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr esc-notify --spool "$SP" --now "$T" "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_equal "$stderr" ""
	out=$output
	run sms_bodies
	[ "${#lines[@]}" -eq 1 ]
	[ "${#lines[@]}" -le 3 ]
	body=$(jq -r . <<<"${lines[0]}")
	echo "$body" >&3
	[[ $body =~ ^\[CRITICAL\]\ 200\ pages\ \(critical:\ A0,\ A1,\ A2,\ A3,\ A4,\ A5,\ A6,\ A7,\ A8,\ A9\):\ .*\ Reply\ ([34679ACDEFGHJKMNPQTUVWXY]{6})\ to\ ack\ all\ 200$ ]]
	code=${BASH_REMATCH[1]}
	[ "${#body}" -le 300 ]
	# Each page: its record, then its receipt, delivered, naming the
	# digest; the digest's own receipt last.
	output=$out
	key=$(jq -r 'select(.type == "receipt" and (.dedup_key | startswith("digest-"))) | .dedup_key' <<<"$output")
	[[ $key =~ ^digest-[0-9a-f]{32}$ ]]
	assert_equal "$(jq -sc --arg k "$key" 'map(select(.type == "receipt")) | [length, (map(select(.bundle == $k and .status == "delivered" and .channel == "sms" and .recipient == "+15550111")) | length), .[-1].dedup_key]' <<<"$output")" "[201,200,\"$key\"]"
	assert_equal "$(jq -sc 'map(.type) | .[0:4]' <<<"$output")" '["page","receipt","page","receipt"]'
	# The code: an owner-only file beside the spool, every incident in it.
	f=$ESC_DIR/digests/$code.json
	assert_equal "$(stat -c %a "$ESC_DIR/digests") $(stat -c %a "$f")" "700 600"
	assert_equal "$(jq -c '[.code, .to, (.incidents | length), .incidents[0], .at, .expires]' "$f")" \
	    "[\"$code\",\"+15550111\",200,\"inc-0\",\"$T\",\"2026-11-28T10:00:00Z\"]"
	# A second run over the same input sends nothing.
	run --separate-stderr esc-notify --spool "$SP" --now "$T" "$BATS_TEST_TMPDIR/in"
	assert_success
	run sms_bodies
	[ "${#lines[@]}" -eq 1 ]
}

@test "bundle.after: up to it, one message a page; past it, a digest; 0 turns digests off" {
	pages sms 3 >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr esc-notify "$BATS_TEST_TMPDIR/in"
	assert_success
	run sms_bodies
	[ "${#lines[@]}" -eq 3 ]
	# Sent at once: they may reach the stand-in in any order.
	assert_line --partial 'page 0'
	assert_line --partial 'page 2'
	: >"$PROV_LOG"
	pages sms 4 '.dedup_key += "b"' >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr esc-notify "$BATS_TEST_TMPDIR/in"
	assert_success
	run sms_bodies
	# Without a spool there is nowhere to keep a code: no reply line.
	assert_output '"[CRITICAL] 4 pages (critical: A0): A0 x1, A1 x1, A2 x1, A3 x1."'
	: >"$PROV_LOG"
	channels '.bundle = {"after": 5}'
	pages sms 5 '.dedup_key += "c"' >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr esc-notify "$BATS_TEST_TMPDIR/in"
	run sms_bodies
	[ "${#lines[@]}" -eq 5 ]
	: >"$PROV_LOG"
	channels '.bundle = {"after": 0}'
	pages sms 50 '.dedup_key += "d"' >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr esc-notify "$BATS_TEST_TMPDIR/in"
	run sms_bodies
	[ "${#lines[@]}" -eq 50 ]
	refuses_channels '.bundle = {"after": -1}' 'bundle.after: not a whole number from 0 to 100000'
	refuses_channels '.bundle = {"later": 1}' 'bundle.later: unknown key'
}

@test "an alert count from esc-route's grouping counts alerts, not pages; other channels and other people are not bundled" {
	{
		pages sms 4 '.alertname = "NodeDown" | .labels.alertname = "NodeDown" | .alerts = 125'
		# esc-route puts each SMS page's reply code in it (reply_code).
		pages sms 2 ".dedup_key += \"bob\" | .recipients = [$BOB] | .reply_code = \"7KQ4\""
		pages slack 5 '.dedup_key += "s"'
	} >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr esc-notify "$BATS_TEST_TMPDIR/in"
	assert_success
	run sms_bodies
	[ "${#lines[@]}" -eq 3 ]
	assert_line '"[CRITICAL] 4 pages (critical: NodeDown): NodeDown x500."'
	assert_line --regexp '^"\[CRITICAL\] A0 inc-0: page 0 .* Reply 7KQ4 to ack, 7KQ4R to resolve"$'
	assert_line --regexp '^"\[WARNING\] A1 inc-1: page 1 .*"$'
	[ "$(jq -s 'map(select(.kind == "slack")) | length' "$PROV_LOG")" -eq 5 ]
}

@test "e-mail: one digest message per person through a real SMTP server, the critical pages named" {
	start_smtp
	channels
	pages email 12 ".recipients = [$ALICE, $BOB]" >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr esc-notify "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_equal "$(jq -sc 'map(select(.type == "receipt" and .bundle != null)) | length' <<<"$output")" 24
	# The two messages may reach the server in either order.
	run mails 'print(m["To"], "|", m["Subject"])'
	assert_equal "$(sort <<<"$output")" "$(cat <<-'OUT'
	alice@example.com | [CRITICAL] Digest: 12 pages, A0 x2 and more
	bob@example.com | [CRITICAL] Digest: 12 pages, A0 x2 and more
	OUT
	)"
	run mails 'print(m.get_content())'
	[[ $output == *"critical A0: 2 alerts, 2 pages"* ]]
	[[ $output == *"  inc-7 A7: page 7"* ]]
}

# storm N: N distinct critical alerts routed (N open incidents), their
# level-1 pages made SMS pages to bob, delivered: one digest; $code its
# reply code.
storm() {
	export ESC_ROSTER=$FIX/inbox/roster.json
	jq -cn --argjson n "$1" 'range($n) as $i | {labels: {alertname: "Crit\($i)", severity: "critical", instance: "api-1"},
	  annotations: {summary: "down \($i)"}, startsAt: "2026-11-27T09:59:00Z",
	  endsAt: "0001-01-01T00:00:00Z", fingerprint: ("f\($i)"), status: {state: "active"}}' |
	    esc-classify --now "$T" | esc-route -s "$ESC_DIR/state.json" --now "$T" >"$BATS_TEST_TMPDIR/routed"
	jq -c 'select(.type == "page" and .channel == "pagerduty" and .level == 1)
	  | .channel = "sms" | .recipients = [{"role": "primary", "person": "bob", "phone": "+1-555-0102"}]' \
	    "$BATS_TEST_TMPDIR/routed" >"$BATS_TEST_TMPDIR/in"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/in")" -eq "$1" ]
	run --separate-stderr esc-notify --spool "$SP" --now "$T" "$BATS_TEST_TMPDIR/in"
	assert_success
	run sms_bodies
	[ "${#lines[@]}" -eq 1 ]
	[[ ${lines[0]} =~ Reply\ ([34679ACDEFGHJKMNPQTUVWXY]{6})\ to\ ack\ all\ $1 ]]
	code=${BASH_REMATCH[1]}
}

@test "the digest's reply code acks every open incident in it, from the number it went to only" {
	channels '.sms.replies = true'
	storm 30
	B=http://127.0.0.1:$PROV_PORT
	msg() { curl -sf -X POST --data "{\"from\": \"$1\", \"to\": \"+15550100\", \"body\": \"$2\", \"at\": \"$3\"}" "$B/_control/twilio/messages" >/dev/null; }
	msg +15550103 "$code" 2026-11-27T10:01:00Z
	msg +15550102 " ${code,,}. " 2026-11-27T10:02:00Z
	run --separate-stderr esc-inbox --now 2026-11-27T10:03:00Z poll
	assert_success
	assert_equal "$(jq -sc 'map(select(.type == "ack")) | [length, (map(.incident) | unique | length), (map(select(.by == "bob" and .source == "sms" and .from == "+15550102" and .at == "2026-11-27T10:02:00Z")) | length), .[0].digest]' <<<"$output")" "[30,30,30,\"$code\"]"
	assert_equal "$(jq -sc 'map(select(.type == "ack") | .incident) | sort' <<<"$output")" \
	    "$(jq -sc 'map(.incident) | unique' "$BATS_TEST_TMPDIR/in")"
	assert_equal "$(jq -c 'select(.type == "rejected") | [.from, .reason]' <<<"$output")" '["+15550103","not the code of an open incident"]'
	# Acked through esc-route: nothing escalates at level 2.
	esc-inbox --now 2026-11-27T10:03:00Z poll >/dev/null 2>&1 || true
	jq -c 'select(.type == "ack")' <<<"$output" |
	    esc-route -s "$ESC_DIR/state.json" --now 2026-11-27T10:03:00Z >/dev/null
	run esc-route -s "$ESC_DIR/state.json" --now 2026-11-27T10:20:00Z /dev/null
	assert_success
	assert_equal "$(jq -sc 'map(select(.type == "page" and .level == 2)) | length' <<<"$output")" 0
}

@test "a digest code past its time, or the file not ours alone, acks nothing" {
	export ESC_ROSTER=$FIX/inbox/roster.json
	channels '.sms.replies = true'
	jq -cn '{labels: {alertname: "Crit", severity: "critical", instance: "api-1"},
	  annotations: {summary: "down"}, startsAt: "2026-11-27T09:59:00Z",
	  endsAt: "0001-01-01T00:00:00Z", fingerprint: "f0", status: {state: "active"}}' |
	    esc-classify --now "$T" | esc-route -s "$ESC_DIR/state.json" --now "$T" >"$BATS_TEST_TMPDIR/routed"
	inc=$(jq -r 'select(.type == "page") | .incident' "$BATS_TEST_TMPDIR/routed" | head -n 1)
	mkdir -m 700 "$ESC_DIR/digests"
	jq -cn --arg i "$inc" '{code: "QQQQQQ", to: "+15550102", incidents: [$i], at: "2026-11-27T10:00:00Z", expires: "2026-11-28T10:00:00Z"}' >"$ESC_DIR/digests/QQQQQQ.json"
	cp "$ESC_DIR/digests/QQQQQQ.json" "$ESC_DIR/digests/WWWWWW.json"
	chmod 600 "$ESC_DIR/digests/QQQQQQ.json"
	chmod 644 "$ESC_DIR/digests/WWWWWW.json"
	B=http://127.0.0.1:$PROV_PORT
	msg() { curl -sf -X POST --data "{\"from\": \"$1\", \"to\": \"+15550100\", \"body\": \"$2\", \"at\": \"$3\"}" "$B/_control/twilio/messages" >/dev/null; }
	msg +15550102 WWWWWW 2026-11-27T10:01:00Z
	msg +15550102 QQQQQQ 2026-11-28T10:00:01Z
	run --separate-stderr esc-inbox --now 2026-11-28T10:01:00Z poll
	assert_success
	assert_equal "$(jq -c '[.type, .reason]' <<<"$output")" '["rejected","not the code of an open incident"]
["rejected","not the code of an open incident"]'
}

@test "esc-inbox serve: Twilio's webhook with the digest's code acks them all, and says so" {
	PUB=https://esc.example.com/hooks
	channels '.sms.replies = true | .inbox = {"public_url": "'"$PUB"'"}'
	storm 12
	start_inbox -c "$CH" --now 2026-11-27T10:02:00Z
	form=$(printf 'SmsSid=SM0001&MessageSid=SM0001&From=%s&To=%s&Body=%s&NumMedia=0&AccountSid=%s' \
	    %2B15550102 %2B15550100 "$code" "$ESC_TWILIO_SID")
	sig=$(twilio_sign "$ESC_TWILIO_TOKEN" "$PUB/twilio" "$form")
	run curl -s -X POST -H "X-Twilio-Signature: $sig" \
	    -H 'Content-Type: application/x-www-form-urlencoded' --data-binary "$form" "$INBOX/twilio"
	assert_output "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>esc: the open incidents of digest $code acknowledged by bob.</Message></Response>"
	reap "$INBOX_PID"
	INBOX_PID=
	assert_equal "$(cat "$ESC_DIR"/inbox/pending/*.ndjson | jq -sc 'map(select(.type == "ack" and .digest == "'"$code"'" and .by == "bob")) | [length, (map(.incident) | unique | length)]')" '[12,12]'
}
