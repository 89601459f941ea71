#!/bin/bash
# etcdfault.sh - two esc hosts on one etcd cluster, struck at random: check
# that no page is lost, and count those doubled (issue 14).
#
#   t/etcdfault.sh [-m MINUTES] [-a ALERTS] [-k KILL%] [-p PAUSE%] [-e ETCD%]
#                  [-H HALF%] [-l LATENCY-MS] [-t TTL] [-F MINUTE] [-s SEED] [-S]
#
# Plays the same generated story (t/faultinject.sh's) twice, a simulated
# minute at a time, each world against its own stand-ins (an Alertmanager
# API served from a file, the provider stand-in t/fakeprov.py, a real SMTP
# server):
#   - ref: one host, its state in files, one esc-tick a minute, never
#     disturbed;
#   - two: hosts a and b (an ESC_DIR each: journal, inbox), their state on
#     a real 3-member etcd cluster on 127.0.0.1 (t/etcd.bash), the same
#     stand-ins; each minute both start the minute's esc-tick together, as
#     the same crontab line would, each in its own process group.  Then,
#     each with its probability:
#       KILL%: SIGKILL after a random delay to a random stage of either
#         host's tick (esc-lock, esc-classify, esc-route, esc-rotate,
#         esc-notify, esc-deliver) or to the whole tick;
#       PAUSE%: SIGSTOP to either host's whole tick after a random delay,
#         for longer than the lock's lease (TTL + 1 s): the other host
#         takes the lock and ticks the minute; then SIGCONT: the paused
#         one finds its lease lost and its writes refused;
#       ETCD%: an etcd member killed (SIGKILL) during the ticks, half of
#         the time the leader, and started again one to three minutes
#         later; never two down at once (-e only; quorum is kept);
#       HALF%: a half-dead period begins: for one to three minutes one
#         host (never both) reaches etcd but no provider (its channels at
#         a port nothing listens on): what it cannot make goes back to
#         the pool and the other host makes it (issue 21, 1).
#     Then both hosts tick the minute again, as cron would a minute later;
#     after a whole tick was killed, once its lease expired (its claims
#     with it).  -F MINUTE: host a stops for good at that minute (its
#     tick killed then, never started again): b alone carries on.
# Then compares what the providers received, delivery by delivery: what
# ref got must have reached two's providers as often (no loss) and no more
# often (no double).  A PagerDuty event repeated with the same dedup_key is
# counted apart: PagerDuty collapses it.  A double may only come from a
# kill in the instant between a provider's answer and the done mark.
# ACKKILL (issue 21): once a page is out, PagerDuty posts an ack of it to
# ref's esc-inbox serve and to two's host a's, which is killed -9 right
# after its 2xx, its disk (inbox/) lost, before any tick: two's journals
# must hold the ack as ref's does (ACKKILL=0: not done).
# Exit 1 on a loss; on a double too with -S.  Needs the programs on PATH
# (PATH=build/std:scripts:$PATH) and etcd, etcdctl (Debian etcd-server,
# etcd-client).  KEEP=1 keeps the work directory.
#
# ETCD BACKEND: the lines marked so need the etcd state backend (lead's
# branch): without it, esc-tick ignores ESC_ETCD_ENDPOINTS, both hosts
# keep files of their own, and every delivery is made twice.
set -u
minutes=30 alerts=10 killpct=40 pausepct=10 etcdpct=20 halfpct=0 latency=20 ttl=3 seed=$$ strict= fail=
while getopts m:a:k:p:e:H:l:t:F:s:S o; do
	case $o in
	m) minutes=$OPTARG ;; a) alerts=$OPTARG ;; k) killpct=$OPTARG ;;
	p) pausepct=$OPTARG ;; e) etcdpct=$OPTARG ;; H) halfpct=$OPTARG ;;
	l) latency=$OPTARG ;;
	t) ttl=$OPTARG ;; F) fail=$OPTARG ;; s) seed=$OPTARG ;; S) strict=1 ;;
	*) echo "usage: etcdfault.sh [-m minutes] [-a alerts] [-k kill%] [-p pause%] [-e etcd%] [-H half%] [-l latency-ms] [-t ttl] [-F minute] [-s seed] [-S]" >&2; exit 2 ;;
	esac
done
RANDOM=$seed
top=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
export ESC_SHAREDIR=$top/share/esc
export ESC_ROSTER=$top/share/esc/roster.example.json
export ESC_POLICY=$top/share/esc/policy.json
export TZ=UTC
unset ESC_STATE ESC_SPOOL ESC_JOURNAL ESC_NOW ESC_DIR ESC_ETCD_ENDPOINTS ESC_ETCD_LEASE
work=$(mktemp -d /tmp/esc-etcdfault.XXXXXX)
T0=$(date -u -d 2026-11-30T13:50:00Z +%s)
pids=()
# shellcheck disable=SC2034 # t/etcd.bash keeps the cluster there
ETCD_DIR=$work/etcd
# shellcheck source=t/etcd.bash
. "$top/t/etcd.bash"
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	# A tick group left paused or running by an interrupted run.
	for p in ${groups:-}; do kill -9 -- "-$p" 2>/dev/null; done
	etcd_stop 2>/dev/null
	wait 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 2' INT TERM

port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
	for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done
	echo "etcdfault: nothing listens on 127.0.0.1:$1" >&2; exit 2
}
# nap MS: sleeps that many milliseconds.
nap() { sleep "$(($1 / 1000)).$(printf %03d $(($1 % 1000)))"; }

export ESC_PAGERDUTY_ROUTING_KEY=R0UT1NGKEYETCDF000000000000000ab
export ESC_SLACK_BOT_TOKEN=xoxb-etcdf ESC_TWILIO_SID=ACetcdf00000000000000000000000000 ESC_TWILIO_TOKEN=etcdf

# world NAME: the stand-ins and the channels file of one world, shared by
# its hosts.
world() {
	local d=$work/$1 am prov smtp
	mkdir -p "$d/am/api/v2" "$d/mail/cur" "$d/mail/new" "$d/mail/tmp"
	am=$(port); prov=$(port); smtp=$(port)
	"$PY" -m http.server --bind 127.0.0.1 --directory "$d/am" "$am" >/dev/null 2>&1 & pids+=($!)
	"$PY" "$top/t/fakeprov.py" --port "$prov" --log "$d/prov.ndjson" --latency-ms "$latency" >/dev/null 2>&1 & pids+=($!)
	"$PY" -m aiosmtpd -n -l "127.0.0.1:$smtp" -c aiosmtpd.handlers.Mailbox "$d/mail" >/dev/null 2>&1 & pids+=($!)
	wait_port "$am"; wait_port "$prov"; wait_port "$smtp"
	echo "http://127.0.0.1:$am" > "$d/am.url"
	jq -n --arg b "http://127.0.0.1:$prov" --arg s "smtp://127.0.0.1:$smtp" '{
	  pagerduty: {url: ($b + "/v2/enqueue"), routing_key_env: "ESC_PAGERDUTY_ROUTING_KEY"},
	  slack: {webhooks: {
	      "#stemedb-alerts-critical": {url_env: "ESC_SLACK_URL"},
	      "#stemedb-alerts-warning": {url_env: "ESC_SLACK_URL"},
	      "#stemedb-alerts-info": {url_env: "ESC_SLACK_URL"}},
	    api_url: ($b + "/api"), token_env: "ESC_SLACK_BOT_TOKEN"},
	  email: {url: $s, from: "esc@example.com"},
	  sms: {url: ($b + "/2010-04-01/Accounts/{account_sid}/Messages.json"),
	    account_sid_env: "ESC_TWILIO_SID", auth_token_env: "ESC_TWILIO_TOKEN", from: "+15550100"},
	  retry: {max_time: "20s", base: "100ms", max_delay: "1s"}}' > "$d/channels.json"
	echo "http://127.0.0.1:$prov/services/T0/B0/etcdf" > "$d/slack.url"
	# A half-dead host's: every provider at a port nothing listens on.
	jq --arg b "http://127.0.0.1:$(port)" '(.. | objects | select(has("url")) | .url) |=
	    (if startswith("smtp") then ($b | sub("^http"; "smtp")) else $b + "/x" end)
	    | .slack.api_url = $b' "$d/channels.json" > "$d/channels-dead.json"
}

# The story: each alert fires from a random minute for a random while; the
# first two are critical, so that levels 2 and 3 are paged.
story() {
	local i sev name
	for ((i = 0; i < alerts; i++)); do
		case $((RANDOM % 3)) in 0) sev=critical ;; 1) sev=warning ;; *) sev=info ;; esac
		name=EtcdFault$i
		[ "$i" -eq 0 ] && name=StemeDBAPIDown sev=critical
		[ "$i" -eq 1 ] && name=WALDiskNearlyFull sev=critical
		echo "$name $sev host-$i $((RANDOM % (minutes / 2))) $((5 + RANDOM % minutes))"
	done > "$work/story"
}

# firing WORLD MINUTE: what Alertmanager holds at that minute.
firing() {
	awk -v m="$2" -v t0="$T0" '$4 <= m && m < $4 + $5 {
		printf "{\"labels\":{\"alertname\":\"%s\",\"severity\":\"%s\",\"instance\":\"%s\"},\"annotations\":{\"summary\":\"%s on %s\"},\"startsAt\":\"%s\",\"endsAt\":\"0001-01-01T00:00:00Z\",\"fingerprint\":\"%016x\",\"status\":{\"state\":\"active\",\"silencedBy\":[],\"inhibitedBy\":[]},\"receivers\":[{\"name\":\"esc\"}],\"updatedAt\":\"2026-11-30T00:00:00Z\",\"generatorURL\":\"\"}\n",
		    $1, $2, $3, $1, $3, strftime("%Y-%m-%dT%H:%M:%SZ", t0 + $4 * 60, 1), NR
	}' "$work/story" | jq -s . > "$work/$1/am/api/v2/alerts.new"
	mv "$work/$1/am/api/v2/alerts.new" "$work/$1/am/api/v2/alerts"
}

# tick WORLD HOST MINUTE: one esc-tick of that host, in its own process
# group (its id in TICK).  World ref's host is on files.
tick() {
	local d=$work/$1 h=$2
	mkdir -p "$d/$h/esc"
	if [ "$1" = ref ]; then
		# etcd_start exported the cluster: ref's state is in files.
		ESC_ETCD_ENDPOINTS= ESC_NOW=$(date -u -d "@$((T0 + $3 * 60))" +%Y-%m-%dT%H:%M:%SZ) \
		ESC_ALERTMANAGER_URL=$(cat "$d/am.url") ESC_DIR=$d/$h/esc \
		ESC_CHANNELS=$d/channels.json ESC_SLACK_URL=$(cat "$d/slack.url") \
		    setsid esc-tick >>"$d/$h/tick.out" 2>>"$d/$h/tick.err" &
	else
		# ETCD BACKEND: ESC_ETCD_ENDPOINTS puts the state, the claims
		# and the lock on etcd; esc-tick runs itself again under
		# esc-lock.  ESC_ETCD_TTL (the lease, 30 s in lib/etcd.h) is a
		# knob this script needs the backend to read, or each pause
		# and each whole tick killed costs 30 s.  ESC_TICK_WAIT: the
		# other host waits out a lease left by a paused or killed one.
		ESC_ETCD_ENDPOINTS=$ESC_ETCD_ENDPOINTS ESC_ETCD_TTL=$ttl \
		ESC_TICK_WAIT=$((3 * ttl + 30)) \
		ESC_NOW=$(date -u -d "@$((T0 + $3 * 60))" +%Y-%m-%dT%H:%M:%SZ) \
		ESC_ALERTMANAGER_URL=$(cat "$d/am.url") ESC_DIR=$d/$h/esc \
		ESC_HOST=$h ESC_CHANNELS=$(channels_of "$h") \
		ESC_SLACK_URL=$(slack_of "$h") \
		    setsid esc-tick >>"$d/$h/tick.out" 2>>"$d/$h/tick.err" &
	fi
	TICK=$!
}

# channels_of HOST, slack_of HOST: world two's channels and Slack URL
# for HOST, the dead ones while it is half-dead.
half= half_until=0 halves=0
channels_of() {
	if [ "$1" = "$half" ]; then echo "$work/two/channels-dead.json"; else echo "$work/two/channels.json"; fi
}
slack_of() {
	if [ "$1" = "$half" ]; then echo "http://127.0.0.1:1/x"; else cat "$work/two/slack.url"; fi
}

# half_dead: with HALF%, one host (a or b, never both, not a host stopped
# for good) half-dead for one to three minutes from this one; the period
# ends on its own.
half_dead() {
	if [ -n "$half" ]; then
		[ "$m" -ge "$half_until" ] || return 0
		echo "minute $m: half-dead no more" >> "$work/two/$half/tick.err"
		half=
	fi
	# With a host stopped for good, the other is the only one.
	[ -z "$fail" ] && [ "$halfpct" -gt 0 ] &&
	    [ $((RANDOM % 100)) -lt "$halfpct" ] || return 0
	if [ $((RANDOM % 2)) -eq 0 ]; then half=b; else half=a; fi
	half_until=$((m + 1 + RANDOM % 3))
	halves=$((halves + 1))
	echo "minute $m: half-dead until minute $half_until" >> "$work/two/$half/tick.err"
}

# settle PGID...: waits for each tick and for what its group left running.
settle() {
	local g n
	for g in "$@"; do
		wait "$g" 2>/dev/null
		for ((n = 0; n < 400; n++)); do
			pgrep -g "$g" >/dev/null 2>&1 || break
			sleep 0.05
		done
		pgrep -g "$g" >/dev/null 2>&1 && kill -9 -- "-$g" 2>/dev/null
	done
	groups=
}

count() { eval "$1[\$2]=\$((\${$1[\$2]:-0} + 1))"; }

# strike: one fault to host a's or b's running tick (groups $ga, $gb).
strike() {
	local r=$((RANDOM % 100)) h g t n p alive= targets=(ALL)
	if [ $((RANDOM % 2)) -eq 0 ] && [ -n "$ga" ]; then h=a g=$ga; else h=b g=$gb; fi
	if [ "$r" -lt "$killpct" ]; then
		nap $((RANDOM % (150 + 3 * latency)))
		for n in esc-lock esc-classify esc-route esc-rotate esc-notify esc-deliver; do
			pgrep -g "$g" -f "$n" >/dev/null 2>&1 && targets+=("$n") alive=$n
		done
		t=${targets[$((RANDOM % ${#targets[@]}))]}
		if [ "$t" = ALL ]; then
			t=ALL@${alive:-esc-tick}
			kill -9 -- "-$g" 2>/dev/null || return 0
			# The lease is left to expire: its claims with it.
			expire=1
		else
			p=$(pgrep -g "$g" -f "$t" | head -n 1)
			[ -n "$p" ] && kill -9 "$p" 2>/dev/null || return 0
			[ "$t" != esc-lock ] || expire=1
		fi
		kills=$((kills + 1)); count killed "$t"
		echo "minute $m: killed $t" >> "$work/two/$h/tick.err"
	elif [ "$r" -lt $((killpct + pausepct)) ]; then
		nap $((RANDOM % (150 + 3 * latency)))
		kill -STOP -- "-$g" 2>/dev/null || return 0
		pauses=$((pauses + 1))
		echo "minute $m: paused for $((ttl + 1)) s" >> "$work/two/$h/tick.err"
		sleep $((ttl + 1))
		kill -CONT -- "-$g" 2>/dev/null
	fi
}

# etcd_fault: with ETCD%, a member killed (half of the time the leader),
# or the one down started again after one to three minutes.
etcd_fault() {
	local i
	if [ -n "$down" ]; then
		[ "$m" -ge "$back" ] || return 0
		etcd_start_member "$down" >/dev/null 2>&1 || { echo "etcdfault: m$down does not come back" >&2; exit 2; }
		down=
		return 0
	fi
	[ $((RANDOM % 100)) -lt "$etcdpct" ] || return 0
	nap $((RANDOM % 300))
	if [ $((RANDOM % 2)) -eq 0 ] && i=$(etcd_leader); then
		count efaults leader
	else
		i=$((1 + RANDOM % 3))
		count efaults member
	fi
	etcd_stop_member "$i" 2>/dev/null
	down=$i back=$((m + 1 + RANDOM % 3))
}

# ---- a host killed between a webhook's 2xx and its tick (issue 21) ----

# serve_ack WORLD HOST KEY: that host's esc-inbox serve takes a signed
# PagerDuty ack of KEY, answers, and is killed -9 (two's host loses its
# inbox/ too); the status in ACK_CODE.
serve_ack() {
	local d=$work/$1 e=$ESC_ETCD_ENDPOINTS body sig port pid log=$work/$1/$2/serve.err
	[ "$1" != ref ] || e=
	jq '.pagerduty.webhook_secret_env = "ESC_PD_WEBHOOK_SECRET"' "$d/channels.json" > "$d/serve.json"
	ESC_ETCD_ENDPOINTS=$e ESC_DIR=$d/$2/esc ESC_CHANNELS=$d/serve.json \
	ESC_PD_WEBHOOK_SECRET=etcdfWEBHOOK esc-inbox -l 127.0.0.1:0 serve 2>"$log" &
	pid=$!
	for _ in $(seq 100); do grep -q 'listening on' "$log" && break; nap 50; done
	port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\);.*/\1/p' "$log")
	body=$(printf '{"event":{"id":"01ACK%s","event_type":"incident.acknowledged","resource_type":"incident","occurred_at":"%s","agent":{"id":"PETCDF1","type":"user_reference","summary":"Bob"},"data":{"id":"P000001","type":"incident","incident_key":"%s"}}}' \
	    "$3" "$(date -u -d "@$((T0 + m * 60))" +%Y-%m-%dT%H:%M:%SZ)" "$3")
	sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac etcdfWEBHOOK -r | cut -d' ' -f1)
	ACK_CODE=$(curl -s -o /dev/null -w '%{http_code}' -m 30 -X POST -H "X-PagerDuty-Signature: v1=$sig" \
	    --data-binary "$body" "http://127.0.0.1:${port:-9}/pagerduty")
	kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
	[ "$1" = ref ] || rm -rf "$d/$2/esc/inbox"
}

# ack_kill: the first minute a page is out in both worlds, its ack
# through serve_ack, to ref's host and to two's host a (ACK_KEY).
ack_kill() {
	local k
	[ "${ACKKILL:-1}" != 0 ] && [ -z "${ACK_KEY:-}" ] && { [ -z "$fail" ] || [ "$m" -lt "$fail" ]; } || return 0
	k=$(jq -r 'select(.type == "page" and .channel == "pagerduty" and .event == "trigger") | .dedup_key' \
	    "$work"/ref/h/esc/journal.ndjson 2>/dev/null | tail -n 1)
	[ -n "$k" ] && cat "$work"/two/[ab]/esc/journal.ndjson 2>/dev/null | grep -qF "\"$k\"" || return 0
	ACK_KEY=$k
	serve_ack ref h "$k"; [ "$ACK_CODE" = 200 ] || echo "etcdfault: ref's serve answered the ack $ACK_CODE" >&2
	serve_ack two a "$k"; [ "$ACK_CODE" = 200 ] || echo "etcdfault: host a's serve answered the ack $ACK_CODE" >&2
}

# ack_lost: 0 when two's journals hold the ack of ACK_KEY as ref's does.
ack_lost() {
	local r t
	[ -n "${ACK_KEY:-}" ] || { echo 0; return; }
	r=$(jq -c --arg i "${ACK_KEY:0:16}" 'select(.type == "incident" and .event == "acked" and .incident == $i) | .by' "$work"/ref/h/esc/journal.ndjson | sort -u)
	t=$(cat "$work"/two/[ab]/esc/journal.ndjson | jq -c --arg i "${ACK_KEY:0:16}" 'select(.type == "incident" and .event == "acked" and .incident == $i) | .by' | sort -u)
	[ "$r" = "$t" ] && echo 0 || echo 1
}

world ref
world two
story
etcd_start 3 2>"$work/etcd.err" || { cat "$work/etcd.err" >&2; exit 2; }
runs=0 kills=0 pauses=0 down= back=0
declare -A killed efaults
for ((m = 0; m < minutes; m++)); do
	firing ref "$m"
	firing two "$m"
	half_dead
	ack_kill
	tick ref h "$m"; settle "$TICK"
	# Both hosts, as cron starts the same line on each; host a not
	# from minute -F on, and at that minute killed midway.
	ga=
	if [ -z "$fail" ] || [ "$m" -lt "$fail" ]; then tick two a "$m"; ga=$TICK; fi
	tick two b "$m"; gb=$TICK
	groups="$ga $gb"
	runs=$((runs + 1))
	expire=
	if [ "$m" = "$fail" ]; then
		tick two a "$m"
		nap $((RANDOM % (150 + 3 * latency)))
		kill -9 -- "-$TICK" 2>/dev/null
		settle "$TICK"
		expire=1
	fi
	# In this shell, not in the background: t/etcd.bash keeps the
	# cluster in its arrays.  Both land while the ticks run, mostly.
	etcd_fault
	strike
	settle $ga "$gb"
	[ -z "$expire" ] || sleep $((ttl + 1))
	ga=
	if [ -z "$fail" ] || [ "$m" -lt "$fail" ]; then tick two a "$m"; ga=$TICK; fi
	tick two b "$m"; gb=$TICK
	groups="$ga $gb"
	settle $ga "$gb"
done
# A last round, once every lease is gone: what a kill left is finished.
[ -z "$down" ] || etcd_start_member "$down" >/dev/null 2>&1
half=
sleep $((ttl + 1))
[ -n "$fail" ] || { tick two a $((minutes - 1)); settle "$TICK"; }
tick two b $((minutes - 1)); settle "$TICK"

# What reached the providers, one line per request processed, named by
# what identifies a delivery (as t/faultinject.sh does).  An SMS's reply
# code is left out: each run's state draws its own seed (esc-inbox(1)).
seen() {
	local d=$work/$1 f
	# Deliveries only: a poll's reads (GET) are made by each host.
	jq -r 'select(.status >= 200 and .status < 300 and .method == "POST") |
	    if .kind == "pagerduty" then (.body | fromjson | "pd \(.dedup_key) \(.event_action)")
	    elif .kind == "slack" then "slack \(.path) \(.body | fromjson | .text | gsub("\n"; " "))"
	    elif .kind == "twilio" then "sms \(.body | gsub("Reply%20[0-9A-Z]{4}%20to%20ack%2C%20[0-9A-Z]{4}R"; "Reply%20CODE"))"
	    else "\(.kind) \(.path) \(.body | gsub("\n"; " "))" end' "$d/prov.ndjson"
	for f in "$d"/mail/new/* "$d"/mail/cur/*; do
		[ -e "$f" ] || continue
		"$PY" -c 'import email, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
print("mail", m["X-Esc-Dedup-Key"], m["Message-ID"], m["To"])' "$f"
	done
}
counts() {
	uniq -c "$work/$1.seen" | sed 's/^ *\([0-9]*\) /\1\t/' | awk -F'\t' '{print $2 "\t" $1}' | sort -t $'\t' -k1,1
}
seen ref | sort > "$work/ref.seen"
seen two | sort > "$work/two.seen"
join -a 1 -a 2 -e 0 -o 0,1.2,2.2 -t $'\t' <(counts ref) <(counts two) > "$work/compare"
deliveries=$(wc -l < "$work/ref.seen")
lost=$(awk -F'\t' '$2 > $3 { n += $2 - $3 } END { print n + 0 }' "$work/compare")
more=$(awk -F'\t' '$3 > $2 { print }' "$work/compare")
repeats=$(grep -c '^pd ' <<<"$more" || true)
doubled=$(grep -v '^pd ' <<<"$more" | awk -F'\t' 'NF { n += $3 - $2 } END { print n + 0 }')
# ETCD BACKEND: a paused host's tick must have found its lease lost
# (esc-lock(1) says so); the text is esc-lock's.
losses=$(cat "$work"/two/[ab]/tick.err | grep -c 'lease' || true)
# ETCD BACKEND: nothing left in etcd once every tick is done: no claim
# without its done mark, no outbox, nothing in the pool, no inbox record
# untaken, no lock.
left=$(etcd_keys /esc/ 2>/dev/null | grep -c '^/esc/\(claim/\|outbox/\|pool/\|inbox/pending/\|lock$\)' || true)
detail= edetail=
for t in $(printf '%s\n' "${!killed[@]}" | sort); do detail="$detail $t=${killed[$t]}"; done
for t in "${!efaults[@]}"; do edetail="$edetail $t=${efaults[$t]}"; done
acklost=$(ack_lost)
echo "etcdfault: seed $seed: $runs minutes on two hosts, $kills kills ($detail ), $pauses pauses past the lease ($losses lease messages), etcd members killed ($edetail ), $halves half-dead periods, $deliveries deliveries checked, $lost lost, $doubled doubled, $repeats PagerDuty repeats collapsed by dedup_key, $left keys left in etcd, ack after a host's 2xx: ${ACK_KEY:+taken }${ACK_KEY:-none paged}${ACK_KEY:+, $acklost lost}"
if [ "$lost" -ne 0 ] || [ "$left" -ne 0 ] || [ "$acklost" -ne 0 ] || { [ -n "$strict" ] && [ "$doubled" -ne 0 ]; }; then
	KEEP=1
	echo "etcdfault: kept $work for a look" >&2
	awk -F'\t' '$2 != $3' "$work/compare" | head -20 >&2
	exit 1
fi
[ "$doubled" -eq 0 ] || awk -F'\t' '$3 > $2' "$work/compare" | grep -v '^pd ' | head -5 >&2
exit 0
