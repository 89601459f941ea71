# esc-common.sh - what esc's scripts share, sourced from beside them
# (installed with them): the time of a run, the state's checksum, and the
# tick lock.  POSIX sh, for esc-ack as for the bash scripts.  Each script
# sets prog (its name, for messages) before it sources this file:
#   . "$(dirname "$0")/esc-common.sh"
# shellcheck shell=sh disable=SC2034,SC2154
# (prog is the sourcing script's; now is set for it.)

# esc_time: sets now to the time of this run, RFC 3339 in UTC: ESC_NOW
# when a test or a replay sets it, else the clock.  An ESC_NOW that is not
# a time is exit 2, never the clock instead.
esc_time() {
	if [ -n "${ESC_NOW:-}" ]; then
		now=$(date -u -d "$ESC_NOW" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null) || {
			echo "$prog: ESC_NOW: not a time: $ESC_NOW" >&2
			exit 2
		}
	else
		now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	fi
}

# statesum FILE: what the state file holds, as esc-tick notes it for a
# router run in flight and esc-deliver compares it; "none" when absent.
statesum() {
	if [ -e "$1" ]; then
		sha256sum <"$1" | cut -d' ' -f1
	else
		echo none
	fi
}

# esc_locked WAIT ARG...: this script runs under the tick lock, the one
# esc-lock(1) takes ($ESC_DIR/tick.lock, or the lock on etcd with
# ESC_ETCD_ENDPOINTS set): if it does not yet, it runs again (with the
# arguments ARG...) under esc-lock, which waits WAIT seconds at most for
# a tick that holds it.  Under the lock, ESC_LOCKED is set (and on etcd
# ESC_ETCD_LEASE, which fences every write).
esc_locked() {
	_w=$1
	shift
	if [ -n "${ESC_ETCD_ENDPOINTS:-}" ]; then
		[ -z "${ESC_ETCD_LEASE:-}" ] || return 0
	else
		[ -z "${ESC_LOCKED:-}" ] || return 0
	fi
	exec esc-lock -w "$_w" -- ${BASH:+"$BASH"} "$0" "$@"
}

# esc_shown: with the state on etcd, what the router committed under this
# lock (its outbox keys of this lease, esc-route(1)), printed as on files,
# where the router prints it itself: on etcd it writes it to the outbox
# only, and the person who typed the command would see nothing.
esc_shown() {
	[ -n "${ESC_ETCD_ENDPOINTS:-}" ] && [ -n "${ESC_ETCD_LEASE:-}" ] || return 0
	_sd=$(mktemp -d "${ESC_DIR:-${TMPDIR:-/tmp}}/shown.XXXXXX") || return 1
	_sl=$(printf %x "$ESC_ETCD_LEASE")
	if esc-route --outbox "$_sd"; then
		for _sf in "$_sd"/outbox.*."$_sl".*.ndjson; do
			[ ! -e "$_sf" ] || cat "$_sf"
		done
	fi
	rm -rf "$_sd"
}
