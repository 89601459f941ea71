#!/bin/bash
# faultinject.sh - kill the escalation pipeline at random moments and check
# that no page is lost and none is doubled.
#
#   t/faultinject.sh [-m MINUTES] [-a ALERTS] [-k KILL%] [-l LATENCY-MS] [-s SEED] [-S] [-P]
#
# Plays the same generated story twice, a simulated minute at a time, each
# against its own stand-ins (an Alertmanager API served from a file, the
# provider stand-in t/fakeprov.py, a real SMTP server):
#   - the reference: one esc-tick a minute, never disturbed;
#   - the victim: one esc-tick a minute in its own process group; with
#     probability KILL% a random one of esc-classify, esc-route,
#     esc-rotate, esc-notify, esc-deliver or the whole tick is killed with
#     SIGKILL after a random delay (0 to 120 ms + 3 x LATENCY, about a tick); then the minute's tick is
#     run again, as cron would a minute later.
# Among the good alerts, Alertmanager also holds hostile ones (unless -P,
# for a pure run): a 1.5 MB description, a label value of 300 KB, a start
# before year 1 after its offset, a start in year 10000, a start that is
# no time at all, labels that are not an object, a non-object entry.  A
# third world, "clean", plays the story without them and undisturbed.
# Digests (esc-channels(5) "bundle") are off: which pages share one
# depends on which run they fell in, and an SMS digest's code is random,
# so the messages could not be compared one by one across worlds.
# Then compares what the providers received, delivery by delivery: what
# the reference got must have reached the victim's providers as often (no
# loss), and no more often (no double).  A PagerDuty event repeated with
# the same dedup_key is counted apart: PagerDuty collapses it.  What the
# clean world received must have reached the hostile reference too: the
# hostile alerts may add pages (an alert esc can identify pages, cut and
# flagged), never stop one ("stopped").  Each minute a malformed rule
# file is linted too: it must fail with exit 2, never hang.  Exit 1 on
# a loss; on a double too with -S.  A double is possible only when a
# provider answered a request in the instant before esc-notify was killed
# (at least once, never lost: the trade a pager must make).  Needs the
# programs on PATH (make check sets it; or PATH=build/std:scripts:$PATH).
set -u
minutes=40 alerts=12 killpct=60 latency=20 seed=$$ strict= hostile=1
while getopts m:a:k:l:s:SP o; do
	case $o in
	m) minutes=$OPTARG ;; a) alerts=$OPTARG ;; k) killpct=$OPTARG ;; s) seed=$OPTARG ;;
	l) latency=$OPTARG ;;
	S) strict=1 ;;
	P) hostile= ;;
	*) echo "usage: faultinject.sh [-m minutes] [-a alerts] [-k kill%] [-l latency-ms] [-s seed] [-S] [-P]" >&2; exit 2 ;;
	esac
done
RANDOM=$seed
top=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
export ESC_SHAREDIR=$top/share/esc
export ESC_ROSTER=$top/share/esc/roster.example.json
export ESC_POLICY=$top/share/esc/policy.json
unset ESC_STATE ESC_SPOOL ESC_JOURNAL ESC_NOW
work=$(mktemp -d /tmp/esc-faults.XXXXXX)
T0=$(date -u -d 2026-11-30T13:50:00Z +%s)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT

port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
	for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done
	echo "faultinject: nothing listens on 127.0.0.1:$1" >&2; exit 2
}

export ESC_PAGERDUTY_ROUTING_KEY=R0UT1NGKEYFAULT000000000000000ab
export ESC_SLACK_BOT_TOKEN=xoxb-fault ESC_TWILIO_SID=ACfault00000000000000000000000000 ESC_TWILIO_TOKEN=fault

# world NAME: the stand-ins and the channels file of one run.
world() {
	local d=$work/$1 am prov smtp
	mkdir -p "$d/am/api/v2" "$d/mail/cur" "$d/mail/new" "$d/mail/tmp" "$d/esc"
	am=$(port); prov=$(port); smtp=$(port)
	"$PY" -m http.server --bind 127.0.0.1 --directory "$d/am" "$am" >/dev/null 2>&1 & pids+=($!)
	# Providers that answer in LATENCY ms keep esc-notify busy long enough
	# for a kill to land in the middle of its batch.
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
	  retry: {max_time: "20s", base: "100ms", max_delay: "1s"},
	  bundle: {after: 0}}' > "$d/channels.json"
	echo "http://127.0.0.1:$prov/services/T0/B0/fault" > "$d/slack.url"
}

# The story: each alert fires from a random minute for a random while.
story() {
	local i sev name
	for ((i = 0; i < alerts; i++)); do
		case $((RANDOM % 3)) in 0) sev=critical ;; 1) sev=warning ;; *) sev=info ;; esac
		name=FaultAlert$i
		[ "$i" -eq 0 ] && name=StemeDBAPIDown sev=critical
		[ "$i" -eq 1 ] && name=WALDiskNearlyFull sev=critical
		echo "$name $sev host-$i $((RANDOM % (minutes / 2))) $((5 + RANDOM % minutes))"
	done > "$work/story"
}

# The hostile entries, firing from minute 1 to the end.
hostile_entries() {
	"$PY" - "$(date -u -d "@$((T0 + 60))" +%Y-%m-%dT%H:%M:%SZ)" > "$work/hostile.json" <<-'PY'
	import json, sys
	start = sys.argv[1]
	n = 0
	def alert(name, sev, inst, starts=start):
	    global n
	    n += 1
	    a = {"labels": {"alertname": name, "severity": sev, "instance": inst},
	         "annotations": {"summary": name + " on " + inst},
	         "startsAt": starts, "endsAt": "0001-01-01T00:00:00Z",
	         "status": {"state": "active", "silencedBy": [], "inhibitedBy": []},
	         "receivers": [{"name": "esc"}], "updatedAt": start, "generatorURL": "",
	         "fingerprint": "%016x" % (0xbad0 + n)}
	    return a
	huge = alert("HugeDescription", "critical", "h-1")
	huge["annotations"]["description"] = "stack trace: " + "x" * 1500000
	wide = alert("WideLabel", "critical", "h-2")
	wide["labels"]["pod"] = "p" * 300000
	print(json.dumps([huge, wide,
	    alert("PoisonTime", "critical", "h-3", "0001-01-01T00:00:00+00:01"),
	    alert("FarFuture", "warning", "h-4", "10000-01-01T00:00:00Z"),
	    alert("NotATime", "critical", "h-5", "yesterday-ish"),
	    {"labels": "alertname=NoLabels", "startsAt": start},
	    "not an alert"]))
	PY
	printf 'groups:\n- [a\n' > "$work/bad-rules.yml"
}

# firing DIR MINUTE [hostile]: what Alertmanager holds at that minute.
firing() {
	awk -v m="$2" -v t0="$T0" '$4 <= m && m < $4 + $5 {
		printf "{\"labels\":{\"alertname\":\"%s\",\"severity\":\"%s\",\"instance\":\"%s\"},\"annotations\":{\"summary\":\"%s on %s\"},\"startsAt\":\"%s\",\"endsAt\":\"0001-01-01T00:00:00Z\",\"fingerprint\":\"%016x\",\"status\":{\"state\":\"active\",\"silencedBy\":[],\"inhibitedBy\":[]},\"receivers\":[{\"name\":\"esc\"}],\"updatedAt\":\"2026-11-30T00:00:00Z\",\"generatorURL\":\"\"}\n",
		    $1, $2, $3, $1, $3, strftime("%Y-%m-%dT%H:%M:%SZ", t0 + $4 * 60, 1), NR
	}' "$work/story" | jq -s . > "$1/am/api/v2/alerts.good"
	if [ -n "${3:-}" ] && [ "$2" -ge 1 ]; then
		jq -s '.[0] + .[1]' "$1/am/api/v2/alerts.good" "$work/hostile.json"
	else
		cat "$1/am/api/v2/alerts.good"
	fi > "$1/am/api/v2/alerts"
}

# tick DIR MINUTE: one esc-tick of that world, in its own process group.
tick() {
	local d=$1
	ESC_NOW=$(date -u -d "@$((T0 + $2 * 60))" +%Y-%m-%dT%H:%M:%SZ) \
	ESC_ALERTMANAGER_URL=$(cat "$d/am.url") ESC_DIR=$d/esc \
	ESC_CHANNELS=$d/channels.json ESC_SLACK_URL=$(cat "$d/slack.url") \
	    setsid esc-tick >>"$d/tick.out" 2>>"$d/tick.err" &
	TICK=$!
}

world ref
world victim
story
[ -n "$hostile" ] && { world clean; hostile_entries; }
runs=0 kills=0 hangs=0
declare -A killed
for ((m = 0; m < minutes; m++)); do
	firing "$work/ref" "$m" $hostile
	firing "$work/victim" "$m" $hostile
	tick "$work/ref" "$m"; wait "$TICK"
	if [ -n "$hostile" ]; then
		firing "$work/clean" "$m"
		tick "$work/clean" "$m"; wait "$TICK"
		timeout 10 esc-report hygiene "$work/bad-rules.yml" >/dev/null 2>&1
		[ $? -eq 2 ] || hangs=$((hangs + 1))
	fi
	tick "$work/victim" "$m"; v=$TICK
	runs=$((runs + 1))
	if [ $((RANDOM % 100)) -lt "$killpct" ]; then
		sleep "0.$(printf "%03d" $((RANDOM % (120 + 3 * latency))))"
		# One of the stages alive at this moment, or the whole tick.
		targets=(ALL) alive=
		for n in esc-classify esc-route esc-rotate esc-notify esc-deliver; do
			pgrep -g "$v" -f "$n" >/dev/null 2>&1 && targets+=("$n") alive=$n
		done
		t=${targets[$((RANDOM % ${#targets[@]}))]}
		if [ "$t" = ALL ]; then
			# Say which stage the whole tick died in.
			t=ALL@${alive:-esc-tick}
			kill -9 -- "-$v" 2>/dev/null && { kills=$((kills + 1)); killed[$t]=$((${killed[$t]:-0} + 1)); }
		else
			p=$(pgrep -g "$v" -f "$t" | head -1)
			[ -n "$p" ] && kill -9 "$p" 2>/dev/null && { kills=$((kills + 1)); killed[$t]=$((${killed[$t]:-0} + 1)); }
		fi
	fi
	wait "$v" 2>/dev/null
	# A killed group leaves its children running a moment: let them end.
	while pgrep -g "$v" >/dev/null 2>&1; do sleep 0.05; done
	tick "$work/victim" "$m"; wait "$TICK"
done

# What reached the providers, one line per request processed, named by
# what identifies a delivery: PagerDuty events by dedup_key and action,
# e-mails by Message-ID (one per dedup_key, event and recipient), Slack
# and SMS by webhook and text (an SMS without its reply code: each run's
# state draws its own seed, esc-inbox(1)).
seen() {
	local d=$work/$1
	jq -r 'select(.status >= 200 and .status < 300) |
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

# compare A B: A's and B's deliveries as multisets, "delivery\tnA\tnB":
# a delivery made n times (Slack posts the same text for two incidents)
# must be made n times.
counts() {
	uniq -c "$work/$1.seen" | sed 's/^ *\([0-9]*\) /\1\t/' | awk -F'\t' '{print $2 "\t" $1}' | sort -t $'\t' -k1,1
}
compare() {
	join -a 1 -a 2 -e 0 -o 0,1.2,2.2 -t $'\t' <(counts "$1") <(counts "$2")
}
seen ref | sort > "$work/ref.seen"
seen victim | sort > "$work/victim.seen"
compare ref victim > "$work/compare"
stopped=0
if [ -n "$hostile" ]; then
	seen clean | sort > "$work/clean.seen"
	compare clean ref > "$work/compare.clean"
	stopped=$(awk -F'\t' '$2 > $3 { n += $2 - $3 } END { print n + 0 }' "$work/compare.clean")
fi
deliveries=$(wc -l < "$work/ref.seen")
lost=$(awk -F'\t' '$2 > $3 { n += $2 - $3 } END { print n + 0 }' "$work/compare")
more=$(awk -F'\t' '$3 > $2 { print }' "$work/compare")
# A PagerDuty event sent again (the provider answered in the instant
# before the kill, so the spool could not record it) is collapsed by its
# dedup_key: nobody is paged twice.  Any other repeat is a double.
repeats=$(grep -c '^pd ' <<<"$more" || true)
doubled=$(grep -v '^pd ' <<<"$more" | awk -F'\t' 'NF { n += $3 - $2 } END { print n + 0 }')
detail=""
for t in "${!killed[@]}"; do detail="$detail $t=${killed[$t]}"; done
echo "faultinject: seed $seed: $runs runs, $kills kills ($detail ), $deliveries deliveries checked, $lost lost, $doubled doubled, $repeats PagerDuty repeats collapsed by dedup_key"
[ -z "$hostile" ] || echo "faultinject: hostile alerts: 7 among the good ones; clean run's deliveries missing from the hostile run: $stopped stopped; malformed rule lint not exit 2: $hangs"
if [ "$lost" -ne 0 ] || [ "$stopped" -ne 0 ] || [ "$hangs" -ne 0 ] ||
    { [ -n "$strict" ] && [ "$doubled" -ne 0 ]; }; then
	KEEP=1
	echo "faultinject: kept $work for a look" >&2
	awk -F'\t' '$2 != $3' "$work/compare" | head -20 >&2
	[ ! -e "$work/compare.clean" ] || awk -F'\t' '$2 > $3' "$work/compare.clean" | head -20 >&2
	exit 1
fi
[ "$doubled" -eq 0 ] || awk -F'\t' '$3 > $2' "$work/compare" | grep -v '^pd ' | head -5 >&2
exit 0
