#!/bin/bash
# inboxfault.sh - kill esc-tick at random moments while it drains the
# inbox, and check that no ack or resolve is lost and none applied twice.
#
#   t/inboxfault.sh [-r RUNS] [-i INCIDENTS] [-m MINUTES] [-k KILL%] [-d DELAY-MS] [-s SEED]
#
# Each run is a story of its own, in a fresh ESC_DIR, against stand-ins
# shared by the runs (an Alertmanager API served from a file per run, the
# provider stand-in t/fakeprov.py, a real SMTP server):
#   - minute 0: INCIDENTS critical alerts fire; one undisturbed tick opens
#     their incidents.
#   - minutes 1 to MINUTES: the acks and resolves of responders arrive in
#     $ESC_DIR/inbox/pending/ as esc-inbox serve writes them (a file per
#     request, written aside and renamed, under <time>.<pid>.<n>.ndjson):
#     most incidents are acked before their level 2 (minute 5), some twice
#     (a provider's retry, or an ack in PagerDuty and by SMS), some are
#     resolved later (and their alert leaves Alertmanager), one in eight
#     is never touched.  Some acks arrive while the tick runs.  The
#     minute's esc-tick runs in its own process group; with probability
#     KILL% the whole tick is killed with SIGKILL after a random delay (0
#     to DELAY-MS, 1500: about a tick on a loaded machine), or one of its
#     stages (esc-inbox, esc-route, esc-deliver, esc-classify, esc-rotate,
#     esc-notify) the moment it is seen running after a random delay, or
#     esc-route at one of the two moments that matter, which a random
#     delay seldom hits in a run of a few ms: esc-route@rename, as it
#     renames its new state into place (output synced, state not
#     committed), and ALL@committed, the whole tick as soon as esc-route
#     exited (state committed, inbox files not yet removed); then the
#     minute's tick runs again, as cron would.
#   - after the last minute, ticks run until the inbox is drained.
# Then checks each run's journal and esc-route's state against what was
# dropped:
#   - an incident acked: exactly one incident record "acked", by and at of
#     its first ack, and the state's acked time the same; never acked: none;
#   - an incident resolved: exactly one "resolved", by and at of the
#     resolve (not a resolution for the alert being gone: that would be a
#     lost resolve), and the state's resolved time the same; else none;
#   - no level-2 page for an incident acked or resolved before minute 5
#     (a lost ack shows as a page);
#   - nothing left in inbox/pending/.
# A record missing from its effect counts as lost, an effect seen twice as
# doubled.  Exit 1 on a loss or a double (the run's directory is kept).
# Needs the programs on PATH (make check sets it; or
# PATH=build/std:scripts:$PATH).
set -u
runs=20 incs=6 minutes=6 killpct=70 maxdelay=1500 seed=$$
while getopts r:i:m:k:d:s: o; do
	case $o in
	r) runs=$OPTARG ;; i) incs=$OPTARG ;; m) minutes=$OPTARG ;;
	k) killpct=$OPTARG ;; d) maxdelay=$OPTARG ;; s) seed=$OPTARG ;;
	*) echo "usage: inboxfault.sh [-r runs] [-i incidents] [-m minutes] [-k kill%] [-d max-delay-ms] [-s seed]" >&2; exit 2 ;;
	esac
done
[ "$minutes" -ge 6 ] || { echo "inboxfault: -m: at least 6 minutes (level 2 is at 5)" >&2; exit 2; }
RANDOM=$seed
top=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
export ESC_SHAREDIR=$top/share/esc
export ESC_ROSTER=$top/share/esc/roster.example.json
export ESC_POLICY=$top/share/esc/policy.json
export TZ=UTC
unset ESC_STATE ESC_SPOOL ESC_JOURNAL ESC_NOW ESC_DIR
work=$(mktemp -d /tmp/esc-inboxfault.XXXXXX)
T0=$(date -u -d 2026-11-30T13:50:00Z +%s)
L2=5	# the critical path's level 2, in minutes (share/esc/policy.json)
pids=()
keep=
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -n "$keep" ] || [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
	for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done
	echo "inboxfault: nothing listens on 127.0.0.1:$1" >&2; exit 2
}
# at EPOCH: the time as the records say it (no process: TZ is UTC).
at() { printf '%(%Y-%m-%dT%H:%M:%SZ)T\n' "$1"; }

export ESC_PAGERDUTY_ROUTING_KEY=R0UT1NGKEYINB0X000000000000000ab
export ESC_SLACK_BOT_TOKEN=xoxb-inbox ESC_TWILIO_SID=ACinbox00000000000000000000000000 ESC_TWILIO_TOKEN=inbox

# The stand-ins, shared: every run has its own ESC_DIR (spool, state),
# and its own Alertmanager under $work/am/RUN/.
mkdir -p "$work/am" "$work/mail/cur" "$work/mail/new" "$work/mail/tmp"
am=$(port) prov=$(port) smtp=$(port)
"$PY" -m http.server --bind 127.0.0.1 --directory "$work/am" "$am" >/dev/null 2>&1 & pids+=($!)
# Providers that answer in a few ms keep esc-notify busy long enough for a
# kill to land in its batch.
"$PY" "$top/t/fakeprov.py" --port "$prov" --log "$work/prov.ndjson" --latency-ms 5 >/dev/null 2>&1 & pids+=($!)
"$PY" -m aiosmtpd -n -l "127.0.0.1:$smtp" -c aiosmtpd.handlers.Mailbox "$work/mail" >/dev/null 2>&1 & pids+=($!)
wait_port "$am"; wait_port "$prov"; wait_port "$smtp"
# SMS replies are on (the default): esc-inbox poll reads the stand-in's
# Twilio every tick, so that it is a stage a kill can find.
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
  retry: {max_time: "20s", base: "100ms", max_delay: "1s"}}' > "$work/channels.json"
export ESC_CHANNELS=$work/channels.json
export ESC_SLACK_URL=http://127.0.0.1:$prov/services/T0/B0/inbox
# The kills at the two moments that matter, made certain by a stand-in
# esc-route first on PATH: esc-route@rename, SIGKILL as it renames its
# new state into place (its output synced, its state not committed; by
# strace's fault injection); ALL@committed, the whole tick killed the
# moment esc-route exited (its state committed, the inbox's files not yet
# removed).  Each says in $d/wrapped that it struck.
export REAL_ROUTE
REAL_ROUTE=$(command -v esc-route)
targets=(ALL ALL ALL esc-inbox esc-route esc-deliver esc-classify esc-rotate esc-notify ALL@committed)
mkdir -p "$work/bin.committed" "$work/bin.rename"
cat > "$work/bin.committed/esc-route" <<'EOF'
#!/bin/bash
"$REAL_ROUTE" "$@"
echo struck >> "$ESC_DIR/../wrapped"
kill -9 -- "-$(ps -o pgid= -p $$ | tr -d ' ')"
EOF
cat > "$work/bin.rename/esc-route" <<'EOF'
#!/bin/bash
strace -f -qq -o /dev/null -e trace=rename,renameat,renameat2 \
    -e inject=rename,renameat,renameat2:signal=KILL "$REAL_ROUTE" "$@"
rc=$?
[ "$rc" -ne 137 ] || echo struck >> "$ESC_DIR/../wrapped"
exit "$rc"
EOF
chmod +x "$work/bin.committed/esc-route" "$work/bin.rename/esc-route"
command -v strace >/dev/null && targets+=(esc-route@rename)
people=($(grep -v '^ *//' "$ESC_ROSTER" | jq -r '.people | keys[]'))

# firing RUN MINUTE: what Alertmanager holds at that minute: every alert
# whose incident was not resolved by then ($gone[i], the minute its
# resolve arrived).
firing() {
	local i t sep=
	mkdir -p "$work/am/$1/api/v2"
	printf -v t '%(%Y-%m-%dT%H:%M:%SZ)T' "$T0"
	{
		echo "["
		for ((i = 0; i < incs; i++)); do
			[ "${gone[$i]}" -le "$2" ] && continue
			printf '%s{"labels":{"alertname":"InboxFault%d","severity":"critical","instance":"host-%d"},"annotations":{"summary":"fault %d"},"startsAt":"%s","endsAt":"0001-01-01T00:00:00Z","fingerprint":"%016x","status":{"state":"active","silencedBy":[],"inhibitedBy":[]},"receivers":[{"name":"esc"}],"updatedAt":"%s","generatorURL":""}\n' \
			    "$sep" "$i" "$i" "$i" "$t" "$((i + 1))" "$t"
			sep=,
		done
		echo "]"
	} > "$work/am/$1/api/v2/alerts.new"
	mv "$work/am/$1/api/v2/alerts.new" "$work/am/$1/api/v2/alerts"
}

# tick MINUTE [DIR]: one esc-tick of the run, in its own process group;
# DIR, first on PATH, holds a stand-in esc-route.
tick() {
	local p=$PATH
	[ -z "${2:-}" ] || p=$2:$PATH
	PATH=$p ESC_NOW=$(at $((T0 + $1 * 60))) ESC_ALERTMANAGER_URL=http://127.0.0.1:$am/$run \
	ESC_DIR=$d/esc setsid esc-tick >>"$d/tick.out" 2>>"$d/tick.err" &
	TICK=$!
}

# drop FILE...: each request's file into the inbox as esc-inbox serve puts
# it there: written aside, then renamed to <time>.<pid>.<n>.ndjson (the
# tick takes *.ndjson only).
drop() {
	local f ts n p
	for f in "$@"; do
		[ -e "$f" ] || continue
		n=${f##*/}; n=${n#*.}; n=${n%.late}
		read -r ts < "$f"
		[[ $ts =~ \"at\":\"([0-9]+)-([0-9]+)-([0-9]+)T([0-9]+):([0-9]+):([0-9]+)Z ]]
		printf -v ts '%s' "${BASH_REMATCH[@]:1:3}" T "${BASH_REMATCH[@]:4:3}" Z
		p=$d/esc/inbox/pending/$ts.4242.$n.ndjson
		cp "$f" "$p.tmp.inboxfault" && mv "$p.tmp.inboxfault" "$p"
	done
}

# rec TYPE INCIDENT BY EPOCH: one record as esc-inbox makes it, from
# PagerDuty or from an SMS reply.
rec() {
	local a
	printf -v a '%(%Y-%m-%dT%H:%M:%SZ)T' "$4"
	if [ $((RANDOM % 2)) -eq 0 ]; then
		printf '{"type":"%s","incident":"%s","by":"%s","at":"%s","source":"pagerduty","pagerduty_incident":"P%06d","pagerduty_log_entry":"Q%05d%05d"}\n' \
		    "$1" "$2" "$3" "$a" $((RANDOM % 900000 + 100000)) "$RANDOM" "$RANDOM"
	else
		printf '{"type":"%s","incident":"%s","by":"%s","at":"%s","source":"sms","sms_sid":"SM%05d%05d%05d","from":"+15550123"}\n' \
		    "$1" "$2" "$3" "$a" "$RANDOM" "$RANDOM" "$RANDOM"
	fi
}

# put MINUTE LATE TYPE INCIDENT BY EPOCH: the record into a request's file
# of that minute ($d/req/MINUTE.N, .late when it arrives while the tick
# runs); one in four joins the minute's previous request (PagerDuty
# sends several messages in one webhook).
put() {
	local f=${last[$1$2]:-}
	if [ -z "$f" ] || [ $((RANDOM % 4)) -ne 0 ]; then
		nreq=$((nreq + 1))
		f=$d/req/$1.$nreq$2
		last[$1$2]=$f
	fi
	rec "$3" "$4" "$5" "$6" >> "$f"
	ndropped=$((ndropped + 1))
	[ -z "$2" ] || nlate=$((nlate + 1))
}

# plan: what responders do in this run, into $d/req/, and the effects it
# must have into $d/expect ("incident event by at").
plan() {
	local i a r s by id late
	local -A last=()
	nreq=0
	mkdir -p "$d/req"
	: > "$d/expect"
	for ((i = 0; i < incs; i++)); do
		id=${ids[$i]} a=
		[ $((RANDOM % 8)) -eq 0 ] && continue
		if [ $((RANDOM % 5)) -ne 0 ]; then
			# Acked in the minute before the tick of minute a, a
			# before level 2; a third arrive while that tick runs.
			a=$((1 + RANDOM % (L2 - 1))) s=$((T0 + (a - 1) * 60 + 1 + RANDOM % 59))
			by=${people[$((RANDOM % ${#people[@]}))]}
			late=; [ $((RANDOM % 3)) -eq 0 ] && late=.late
			echo "$id acked $by $(at "$s")" >> "$d/expect"
			put "$a" "$late" ack "$id" "$by" "$s"
			if [ $((RANDOM % 4)) -eq 0 ]; then
				# Acked again a minute or two later: a
				# provider's retry, or someone else.
				r=$((a + 1 + RANDOM % 2))
				[ $((RANDOM % 2)) -eq 0 ] && by=${people[$((RANDOM % ${#people[@]}))]}
				put "$r" "" ack "$id" "$by" $((T0 + (r - 1) * 60 + 1 + RANDOM % 59))
			fi
		fi
		if [ -z "$a" ] || [ $((RANDOM % 5)) -lt 2 ]; then
			# Resolved at minute r, after the ack; the alert is
			# gone from Alertmanager from that minute.  Never
			# while the tick runs: with the alert gone, that tick
			# would resolve the incident for being absent first.
			r=$((${a:-0} + 1 + RANDOM % (minutes - ${a:-0} - 1)))
			s=$((T0 + (r - 1) * 60 + 1 + RANDOM % 59))
			by=${people[$((RANDOM % ${#people[@]}))]}
			echo "$id resolved $by $(at "$s")" >> "$d/expect"
			put "$r" "" resolve "$id" "$by" "$s"
			gone[$i]=$r
		fi
	done
}

# killer PGID TARGET: SIGKILL to the whole tick (ALL) after a random
# delay, or to one of its stages: after a random delay, the first moment
# it is seen running (esc-route lasts a few ms: a kill at a random moment
# would seldom find it).
killer() {
	local v=$1 t=$2 p ms n alive=
	ms=$((RANDOM % maxdelay))
	[ "$t" = ALL ] || ms=$((ms / 2))
	sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
	if [ "$t" = ALL ]; then
		for n in esc-inbox esc-route esc-deliver esc-classify esc-rotate esc-notify; do
			pgrep -g "$v" -f "$n" >/dev/null 2>&1 && alive=$n
		done
		t=ALL@${alive:-esc-tick}
		kill -9 -- "-$v" 2>/dev/null || return 0
	else
		p=
		while [ -z "$p" ] && kill -0 "$v" 2>/dev/null; do
			p=$(pgrep -g "$v" -f "$t" | head -n 1)
		done
		[ -n "$p" ] && kill -9 "$p" 2>/dev/null || return 0
	fi
	kills=$((kills + 1))
	killed[$t]=$((${killed[$t]:-0} + 1))
	KILLED=$t
}

# check: the run's journal and state against $d/expect; adds to the
# figures, and says what is wrong.
check() {
	local id ev by tat n got st want
	jq -rR 'fromjson? | select(.type == "incident" and
	    (.event == "acked" or .event == "resolved")) |
	    "\(.incident) \(.event) \(.by) \(.at)"' "$d/esc/journal.ndjson" > "$d/effects"
	jq -rR 'fromjson? | select(.type == "page" and .level == 2) | .dedup_key' \
	    "$d/esc/journal.ndjson" > "$d/level2"
	# The state: incident, acked and resolved as times.
	awk -F'\t' 'NR > 1 && length($1) == 16 {
	    print $1, ($6 == "-" ? "-" : strftime("%Y-%m-%dT%H:%M:%SZ", $6, 1)),
	    ($7 == "-" ? "-" : strftime("%Y-%m-%dT%H:%M:%SZ", $7, 1)) }' "$d/esc/state.json" > "$d/state"
	for id in "${ids[@]}"; do
		for ev in acked resolved; do
			want=$(grep "^$id $ev " "$d/expect")
			n=$(grep -c "^$id $ev " "$d/effects")
			got=$(grep "^$id $ev " "$d/effects" | head -n 1)
			if [ -z "$want" ]; then
				[ "$n" -eq 0 ] || { doubled=$((doubled + n)); say "$id: $n $ev, none dropped"; }
			elif [ "$n" -eq 0 ] || [ "$got" != "$want" ]; then
				lost=$((lost + 1))
				say "$id: $want dropped; journal: ${got:-no $ev}"
			else
				applied=$((applied + 1))
				[ "$n" -eq 1 ] || { doubled=$((doubled + n - 1)); say "$id: $n times $want"; }
			fi
			# The router's state agrees.
			st=$(awk -v id="$id" -v ev="$ev" '$1 == id { print ev == "acked" ? $2 : $3 }' "$d/state")
			tat=${want##* }
			[ -n "$want" ] || tat=-
			if [ "$st" != "$tat" ]; then
				disagree=$((disagree + 1))
				say "$id: state's $ev ${st:-(no incident)}, dropped: $tat"
			fi
		done
		# Acked or resolved before level 2: no level-2 page.
		tat=$(grep "^$id " "$d/expect" | awk '{ print $4 }' | sort | head -n 1)
		if [ -n "$tat" ] && [[ $tat < $(at $((T0 + L2 * 60))) ]] &&
		    grep -q "^$id" "$d/level2"; then
			l2=$((l2 + 1))
			say "$id: acked at $tat, paged at level 2"
		fi
	done
	n=$(find "$d/esc/inbox/pending" -name '*.ndjson' | wc -l)
	[ "$n" -eq 0 ] || { left=$((left + n)); say "$n files left in inbox/pending"; }
}
say() { echo "inboxfault: run $run: $*" >&2; bad=1; }
# figures: what the runs so far found.
figures() {
	local t detail=
	for t in $(printf '%s\n' "${!killed[@]}" | sort); do detail="$detail $t=${killed[$t]}"; done
	echo "inboxfault: seed $seed: $runs_done runs, $kills kills ($detail ), $ndropped records dropped ($nlate while a tick ran), $applied applied, $lost lost, $doubled doubled, $disagree state disagreements, $l2 level-2 pages after an ack, $left files left"
}

runs_done=0 kills=0 ndropped=0 nlate=0 applied=0 lost=0 doubled=0 disagree=0 l2=0 left=0
declare -A killed
for ((run = 1; run <= runs; run++)); do
	d=$work/r$run bad=
	mkdir -p "$d/esc/inbox/pending"
	gone=() ids=()
	for ((i = 0; i < incs; i++)); do gone[$i]=999; done
	firing "$run" 0
	tick 0; wait "$TICK"
	jq -r 'select(.type == "incident" and .event == "opened") |
	    "\(.alertname) \(.incident)"' "$d/esc/journal.ndjson" > "$d/opened"
	for ((i = 0; i < incs; i++)); do
		ids[$i]=$(awk -v n="InboxFault$i" '$1 == n { print $2 }' "$d/opened")
		[ -n "${ids[$i]}" ] || { echo "inboxfault: run $run: InboxFault$i opened no incident" >&2; keep=1; exit 2; }
	done
	plan
	for ((m = 1; m <= minutes; m++)); do
		# A minute without a request is a tick that changes nothing
		# (what is due fires at the next one): skipped, but for the
		# last, by which level 2 is due.
		[ "$m" -eq "$minutes" ] || compgen -G "$d/req/$m.*" >/dev/null || continue
		firing "$run" "$m"
		drop "$d"/req/"$m".*[0-9]
		target=
		[ $((RANDOM % 100)) -ge "$killpct" ] || target=${targets[$((RANDOM % ${#targets[@]}))]}
		bin=
		case $target in
		esc-route@rename) bin=$work/bin.rename ;;
		ALL@committed) bin=$work/bin.committed ;;
		esac
		: > "$d/wrapped"
		tick "$m" "$bin"; v=$TICK
		# Requests that arrive while the tick runs.
		( sleep "0.$(printf %03d $((RANDOM % 1000)))"; drop "$d"/req/"$m".*.late ) & lp=$!
		KILLED=
		[ -n "$bin" ] || [ -z "$target" ] || killer "$v" "$target"
		wait "$v" 2>/dev/null
		wait "$lp"
		# A killed group leaves its children running a moment.
		while pgrep -g "$v" >/dev/null 2>&1; do sleep 0.05; done
		if [ -n "$bin" ] && [ -s "$d/wrapped" ]; then
			kills=$((kills + 1))
			killed[$target]=$((${killed[$target]:-0} + 1))
			KILLED=$target
		fi
		if [ -n "$KILLED" ]; then
			echo "minute $m: killed $KILLED" >> "$d/tick.err"
			tick "$m"; wait "$TICK"
		fi
	done
	# Then cron's ticks until the inbox is drained.
	for ((m = minutes + 1; m <= minutes + 5; m++)); do
		[ -z "$(find "$d/esc/inbox/pending" -name '*.ndjson')" ] && break
		firing "$run" "$m"
		tick "$m"; wait "$TICK"
	done
	check
	runs_done=$((runs_done + 1))
	# The figures so far, for a long run watched (INBOXFAULT_PROGRESS=FILE).
	[ -z "${INBOXFAULT_PROGRESS:-}" ] || figures >> "$INBOXFAULT_PROGRESS"
	if [ -n "$bad" ]; then
		keep=1
		echo "inboxfault: run $run: kept in $d" >&2
	elif [ -z "${KEEP:-}" ]; then
		rm -rf "$d" "$work/am/$run"
	fi
done

figures
[ "$lost" -eq 0 ] && [ "$doubled" -eq 0 ] && [ "$disagree" -eq 0 ] && [ "$l2" -eq 0 ] && [ "$left" -eq 0 ]
