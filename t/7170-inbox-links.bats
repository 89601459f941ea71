#!/usr/bin/env bats
# Answering a page from where it landed when that is an e-mail: its SMS
# reply code and an ack link esc-inbox serve shows on a GET and acks on a
# POST, once; and the calendars serve hands out per role and person.

load test_helper
load fixtures/notify/helper
bats_require_minimum_version 1.5.0

T=2026-11-27T10:00:00Z
PUB=https://esc.example.com/hooks

setup() {
	export ESC_DIR=$BATS_TEST_TMPDIR/esc
	export ESC_ROSTER=$FIX/inbox/roster.json
	export ESC_LINK_SECRET=l1nk-SEKRET-0123456789
	mkdir -p "$ESC_DIR"
	start_smtp
	channels '.sms.replies = true | .inbox = {public_url: "'"$PUB"'",
	    link_secret_env: "ESC_LINK_SECRET"}'
	# Two open incidents, their level-1 e-mail pages sent at 10:00
	# (bob is primary that week, dave backup, frank manager).
	esc-classify --now "$T" "$ESC_SRC/share/esc/examples/alerts.ndjson" |
	    esc-route -s "$ESC_DIR/state.json" --now "$T" >"$BATS_TEST_TMPDIR/pages"
	INC=$(jq -r 'select(.type == "page" and .alertname == "StemeDBAPIDown") | .incident' "$BATS_TEST_TMPDIR/pages" | head -n 1)
	INC2=$(jq -r 'select(.type == "page" and .alertname == "DiskSpaceLow") | .incident' "$BATS_TEST_TMPDIR/pages" | head -n 1)
	CODE=$(esc-inbox code "$INC" | cut -d' ' -f2)
	EXPIRES=$(date -u -d 2026-11-28T10:00:00Z +%s)
}

teardown() {
	reap ${INBOX_PID:-} ${SMTP_PID:-}
}

# Sends the e-mail pages of 10:00 through esc-rotate and esc-notify.
send_mail() {
	jq -c 'select(.type == "page" and .channel == "email")' "$BATS_TEST_TMPDIR/pages" |
	    esc-rotate --now "$T" | esc-notify --now "$T" >"$BATS_TEST_TMPDIR/receipts"
}

# link_of PERSON [ALERT]: the ack link of the e-mail PERSON got of ALERT.
link_of() {
	mails '
if m["X-RcptTo"] == "'"$1"'@example.com" and "'"${2:-StemeDBAPIDown}"'" in m["Subject"]:
    for l in m.get_content().splitlines():
        if l.startswith("Ack link"):
            print(l.split(": ", 1)[1])
'
}

# get QUERY / post BODY [CURL-OPTION...]: the status, then the body.
get() {
	curl -s -o "$BATS_TEST_TMPDIR/get.body" -w '%{http_code}\n' "$INBOX/ack?$1"
	cat "$BATS_TEST_TMPDIR/get.body"
}
post_form() {
	local body=$1
	shift
	post /ack --data "$body" "$@"
}

written() { cat "$ESC_DIR"/inbox/pending/*.ndjson 2>/dev/null; }

@test "email: the page carries its SMS reply code and a signed ack link for its person" {
	send_mail
	assert_equal "$(jq -r 'select(.type == "receipt") | .status' "$BATS_TEST_TMPDIR/receipts" | sort -u)" delivered
	run mails '
if m["X-RcptTo"] == "bob@example.com" and "StemeDBAPIDown" in m["Subject"]:
    b = m.get_content()
    print(b[b.index("To acknowledge"):].rstrip())
'
	sig=$(printf 'ack\n%s\nbob\n%s\ncritical\n1\nStemeDBAPIDown' "$INC" "$EXPIRES" |
	    openssl dgst -sha256 -hmac "$ESC_LINK_SECRET" -r | cut -d' ' -f1)
	assert_output - <<-OUT
	To acknowledge:
	Reply code: $CODE (text $CODE to +15550100 to ack, ${CODE}R to resolve)
	Ack link (valid for 24 hours, once): $PUB/ack?incident=$INC&person=bob&severity=critical&level=1&alert=StemeDBAPIDown&expires=$EXPIRES&sig=$sig
	OUT
	# Each person's link is theirs.
	[ "$(link_of dave)" != "$(link_of bob)" ]
	[[ $(link_of dave) == *"person=dave&"* ]]
	# The secret itself is in no message.
	! grep -r "$ESC_LINK_SECRET" "$MAILDIR"
}

@test "email: no SMS replies read, no code; no public_url or link secret, no link; neither, no section" {
	channels '.sms.replies = false | .inbox = {public_url: "'"$PUB"'", link_secret_env: "ESC_LINK_SECRET"}'
	send_mail
	[ -n "$(link_of bob)" ]
	run mails 'print("Reply code" in m.get_content())'
	assert_equal "$(sort -u <<<"$output")" False
	rm -f "$MAILDIR"/new/*
	channels '.inbox = {public_url: "'"$PUB"'"}'
	send_mail
	run mails 'b = m.get_content(); print("Reply code: " in b, "Ack link" in b)'
	assert_equal "$(sort -u <<<"$output")" 'True False'
	rm -f "$MAILDIR"/new/*
	channels 'del(.sms) | del(.inbox)'
	send_mail
	run mails 'print("To acknowledge" in m.get_content())'
	assert_equal "$(sort -u <<<"$output")" False
}

@test "link: a GET shows the incident and writes nothing; the POST acks once as its person; esc-route stops escalating" {
	send_mail
	url=$(link_of bob)
	q=${url#*\?}
	start_inbox --now 2026-11-27T10:02:00Z
	grep -q '/ack and /calendar ready' "$INBOX_LOG"
	run curl -s -D - -o "$BATS_TEST_TMPDIR/page" "$INBOX/ack?$q"
	assert_line --partial 'HTTP/1.1 200'
	assert_line --partial 'Cache-Control: no-store'
	assert_line --partial 'Referrer-Policy: no-referrer'
	assert_line --partial 'Content-Type: text/html; charset=utf-8'
	run grep -c -e '<h1>Acknowledge this incident?</h1>' -e '<th>Alert</th><td>StemeDBAPIDown</td>' \
	    -e '<th>Severity</th><td>critical</td>' -e '<th>Level</th><td>1</td>' \
	    -e "<th>Incident</th><td>$INC</td>" -e '<th>For</th><td>bob</td>' \
	    -e '<form method="post" action="ack">' -e "name=\"sig\" value=\"${q##*sig=}\"" \
	    -e '<button type="submit">Acknowledge</button>' "$BATS_TEST_TMPDIR/page"
	assert_output 9
	# A mail scanner fetching it twice has done nothing.
	get "$q" >/dev/null
	assert_equal "$(written)" ''
	[ ! -e "$ESC_DIR/inbox/doorbell" ]
	# The button: the hidden fields, posted.
	run post_form "$q"
	assert_line -n 0 200
	assert_line '<h1>Acknowledged</h1>'
	assert_equal "$(written)" "{\"type\":\"ack\",\"incident\":\"$INC\",\"by\":\"bob\",\"at\":\"2026-11-27T10:02:00Z\",\"source\":\"email\"}"
	[ -e "$ESC_DIR/inbox/doorbell" ]
	grep -q 'POST /ack 200: 1 record' "$INBOX_LOG"
	# Again: used, nothing written.
	run post_form "$q"
	assert_line -n 0 409
	assert_line '<h1>This link was already used</h1>'
	assert_equal "$(ls "$ESC_DIR/inbox/pending" | wc -l)" 1
	# The signature never reaches the log.
	! grep -q "${q##*sig=}" "$INBOX_LOG"
	# The tick takes the ack: level 2 (unacked) never comes, levels 3
	# and 4 (unresolved) do; without it, all three.
	cp "$ESC_DIR/state.json" "$BATS_TEST_TMPDIR/unacked.json"
	written | esc-route -s "$ESC_DIR/state.json" --now 2026-11-27T10:03:00Z >"$BATS_TEST_TMPDIR/acked"
	assert_equal "$(jq -r 'select(.type == "incident") | "\(.incident) \(.event)"' "$BATS_TEST_TMPDIR/acked")" "$INC acked"
	levels() {
		esc-route -s "$1" --now 2026-11-27T10:30:00Z </dev/null |
		    jq -r "select(.type == \"page\" and .incident == \"$INC\") | .level" | sort -u | xargs
	}
	assert_equal "$(levels "$ESC_DIR/state.json")" '3 4'
	assert_equal "$(levels "$BATS_TEST_TMPDIR/unacked.json")" '2 3 4'
}

@test "link: a tampered signature, another incident, another person, an expired link: 403, nothing written" {
	send_mail
	q=$(link_of bob)
	q=${q#*\?}
	sig=${q##*sig=}
	last=${sig: -1}
	[ "$last" = 0 ] && flip=1 || flip=0
	start_inbox --now 2026-11-27T10:02:00Z
	for bad in "${q%?}$flip" "${q/incident=$INC/incident=$INC2}" \
	    "${q/person=bob/person=alice}" "${q/level=1/level=2}" \
	    "${q/expires=$EXPIRES/expires=$((EXPIRES + 86400))}"; do
		run get "$bad"
		assert_line -n 0 403
		assert_line '<h1>Not a valid link</h1>'
		run post_form "$bad"
		assert_line -n 0 403
	done
	# Cut short, or a field twice: not a link at all.
	run get "${q%&sig=*}"
	assert_line -n 0 400
	run post_form "$q&sig=$sig"
	assert_line -n 0 400
	assert_equal "$(written)" ''
	[ ! -s "$ESC_DIR/inbox/links-used" ]
	run grep -c 'POST /ack 403: a wrong signature' "$INBOX_LOG"
	assert_output 5
	# A day after the page: expired, even untouched.
	reap "$INBOX_PID"
	start_inbox --now 2026-11-28T10:00:00Z
	run post_form "$q"
	assert_line -n 0 403
	grep -q 'POST /ack 403: expired' "$INBOX_LOG"
	assert_equal "$(written)" ''
}

@test "link: a POST that is not a form is 415; HEAD and PUT are 405 (Allow: GET, POST); a resolved incident acks nothing" {
	send_mail
	q=$(link_of bob)
	q=${q#*\?}
	start_inbox --now 2026-11-27T10:02:00Z
	run post_form "$q" -H 'Content-Type: application/json'
	assert_line -n 0 415
	run curl -s -o /dev/null -w '%{http_code}\n' -I "$INBOX/ack?$q"
	assert_output 405
	run curl -s -D - -o /dev/null -X PUT --data "$q" "$INBOX/ack"
	assert_line --partial 'HTTP/1.1 405'
	assert_line --partial 'Allow: GET, POST'
	assert_equal "$(written)" ''
	# Resolved by 10:03: the page says so, the POST writes nothing.
	echo '{"type":"resolve","incident":"'"$INC"'","by":"carol","at":"2026-11-27T10:03:00Z"}' |
	    esc-route -s "$ESC_DIR/state.json" --now 2026-11-27T10:03:00Z >/dev/null
	run get "$q"
	assert_line -n 0 200
	assert_line '<h1>This incident is resolved</h1>'
	run post_form "$q"
	assert_line -n 0 409
	assert_equal "$(written)" ''
	[ ! -s "$ESC_DIR/inbox/links-used" ]
}

@test "link: a link secret named but missing or empty, with public_url, is exit 2 naming the key; public_url must be https" {
	unset ESC_LINK_SECRET
	run esc-inbox -l 127.0.0.1:0 serve
	assert_failure 2
	assert_output "esc-inbox: $CH: inbox.link_secret: ESC_LINK_SECRET is not set"
	run esc-inbox urls
	assert_failure 2
	assert_output "esc-inbox: $CH: inbox.link_secret: ESC_LINK_SECRET is not set"
	# esc-notify pages all the same, without the link, and says so once.
	run --separate-stderr send_mail
	assert_success
	assert_equal "$stderr" "esc-notify: inbox.link_secret: ESC_LINK_SECRET is not set: e-mail goes without its ack link"
	assert_equal "$(jq -r 'select(.type == "receipt") | .status' "$BATS_TEST_TMPDIR/receipts" | sort -u)" delivered
	assert_equal "$(link_of bob)" ''
	# The pre-flight names it.
	run esc-check
	assert_failure 1
	assert_line 'FAIL inbox.link_secret: ESC_LINK_SECRET is not set'
	export ESC_LINK_SECRET='  '
	run esc-inbox -l 127.0.0.1:0 serve
	assert_failure 2
	assert_output "esc-inbox: $CH: inbox.link_secret: ESC_LINK_SECRET: empty (or only white space): not a secret"
	run esc-notify /dev/null
	assert_failure 2
	echo > "$BATS_TEST_TMPDIR/empty"
	chmod 600 "$BATS_TEST_TMPDIR/empty"
	channels '.inbox = {public_url: "'"$PUB"'", link_secret_file: "'"$BATS_TEST_TMPDIR/empty"'"}'
	run esc-inbox -l 127.0.0.1:0 serve
	assert_failure 2
	assert_output --partial "esc-inbox: $CH: inbox.link_secret: "
	export ESC_LINK_SECRET=l1nk-SEKRET-0123456789
	channels '.inbox = {public_url: "http://esc.example.com", link_secret_env: "ESC_LINK_SECRET"}'
	run esc-inbox -l 127.0.0.1:0 serve
	assert_failure 2
	assert_output "esc-inbox: $CH: inbox.public_url: not an https:// URL (http:// only to 127.0.0.1 or localhost)"
	# Named nowhere: no links, and serve says the door is off.
	channels '.inbox = {public_url: "'"$PUB"'"}'
	start_inbox
	grep -q '/ack and /calendar off (no inbox.link_secret)' "$INBOX_LOG"
	run get 'incident=x'
	assert_line -n 0 404
}

@test "calendar: esc-inbox urls gives each role's and person's URL; serve answers esc-rotate --ical's window; a wrong token is 404" {
	run esc-inbox urls
	assert_success
	assert_line --regexp "^role primary $PUB/calendar/[0-9a-f]{64}\\.ics$"
	assert_line --regexp "^person dave $PUB/calendar/[0-9a-f]{64}\\.ics$"
	assert_equal "$(grep -c '^role ' <<<"$output")" 9
	assert_equal "$(grep -c '^person ' <<<"$output")" 18
	# The same every time: subscribed once.
	assert_equal "$(esc-inbox urls)" "$output"
	primary=$(awk '$1 == "role" && $2 == "primary" { print $3 }' <<<"$output")
	dave=$(awk '$1 == "person" && $2 == "dave" { print $3 }' <<<"$output")
	start_inbox --now "$T"
	run curl -s -D "$BATS_TEST_TMPDIR/h" -o "$BATS_TEST_TMPDIR/cal" -w '%{http_code}' "$INBOX${primary#"$PUB"}"
	assert_output 200
	grep -qi '^Content-Type: text/calendar; charset=utf-8' "$BATS_TEST_TMPDIR/h"
	esc-rotate --now "$T" --ical --role primary >"$BATS_TEST_TMPDIR/want"
	cmp "$BATS_TEST_TMPDIR/cal" "$BATS_TEST_TMPDIR/want"
	assert_equal "$(grep -c BEGIN:VEVENT "$BATS_TEST_TMPDIR/cal")" 17
	run curl -s -o "$BATS_TEST_TMPDIR/cal" -w '%{http_code}' "$INBOX${dave#"$PUB"}"
	assert_output 200
	esc-rotate --now "$T" --ical --person dave >"$BATS_TEST_TMPDIR/want"
	cmp "$BATS_TEST_TMPDIR/cal" "$BATS_TEST_TMPDIR/want"
	# A token one digit off, another secret's, or none: 404.
	tok=${primary##*/}
	tok=${tok%.ics}
	other=$(printf 'calendar\nrole:primary' | openssl dgst -sha256 -hmac other -r | cut -d' ' -f1)
	for bad in "${tok%?}x" "$other" "" "$tok.ICS"; do
		run curl -s -o /dev/null -w '%{http_code}' "$INBOX/calendar/$bad.ics"
		assert_output 404
	done
	run curl -s -o /dev/null -w '%{http_code}' -X POST "$INBOX${primary#"$PUB"}"
	assert_output 405
	# No token in the log.
	! grep -q "$tok" "$INBOX_LOG"
}

@test "link: what the page shows of the link is escaped" {
	alert='<script>alert(1)</script>"&'
	sig=$(printf 'ack\n%s\nbob\n%s\ncritical\n1\n%s' "$INC" "$EXPIRES" "$alert" |
	    openssl dgst -sha256 -hmac "$ESC_LINK_SECRET" -r | cut -d' ' -f1)
	start_inbox --now 2026-11-27T10:02:00Z
	run get "incident=$INC&person=bob&severity=critical&level=1&alert=%3Cscript%3Ealert(1)%3C%2Fscript%3E%22%26&expires=$EXPIRES&sig=$sig"
	assert_line -n 0 200
	assert_line '<tr><th>Alert</th><td>&lt;script&gt;alert(1)&lt;/script&gt;&quot;&amp;</td></tr>'
	assert_line '<input type="hidden" name="alert" value="&lt;script&gt;alert(1)&lt;/script&gt;&quot;&amp;">'
	refute_output --partial '<script>'
}
