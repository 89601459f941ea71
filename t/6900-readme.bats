#!/usr/bin/env bats
# README: the tour's commands print what README shows; make demo, make
# install and the crontab work as README says.

load test_helper

@test "README's tour: every command exits 0 and prints what README shows" {
	run "$PY" "$ESC_SRC/t/readme.py" --bin "$ESC_BIN" "$ESC_SRC/README"
	assert_success
	assert_output --regexp '^readme.py: [0-9]+ commands, all as shown$'
}

@test "make demo: the seed's story, delivered to the local stand-ins" {
	b=${ESC_BIN#"$ESC_SRC"/}
	run env ESC_DEMO_DIR="$BATS_TEST_TMPDIR/demo" make -s -C "$ESC_SRC" demo B="$b" SANITIZE="${SANITIZE:-}"
	assert_success
	# StemeDBAPIDown, never acked: levels 1 to 4 at their minutes.
	assert_line --regexp '^   0  L1  StemeDBAPIDown +pagerduty +bob +pagerduty$'
	assert_line --regexp '^   5  L2  StemeDBAPIDown +pagerduty +dave,frank +pagerduty$'
	assert_line --regexp '^  15  L3  StemeDBAPIDown +pagerduty +dana,erin,ivan +pagerduty$'
	assert_line --regexp '^  30  L4  StemeDBAPIDown +email +mallory +mallory@example.com$'
	# WALDiskNearlyFull: acked at 3 minutes (no level 2), resolved at 20.
	refute_line --regexp 'L2  WALDiskNearlyFull'
	# Its ack went to PagerDuty as an acknowledge, labelled as one.
	assert_line --regexp '^   4  L1  WALDiskNearlyFull +pagerduty \(ack\) +bob'
	assert_line --regexp '^  21  L1  WALDiskNearlyFull +pagerduty \(resolve\)'
	# The warning that turned critical: the critical path from minute 12.
	assert_line --regexp '^  12  L1  HighAPIErrorRate +sms +carol'
	# The Monday 09:00 New York handoff, at 14:00 UTC.
	assert_line '2026-11-30T14:00:00Z  primary: bob -> carol'
	assert_line --regexp '^critical +3 '
	[ -s "$BATS_TEST_TMPDIR/demo/review.html" ]
	assert_equal "$(ls "$BATS_TEST_TMPDIR"/demo/postmortems/*.md | wc -l)" 3
	assert_equal "$(ls "$BATS_TEST_TMPDIR"/demo/mail/new | wc -l)" 35
}

@test "make install and uninstall under DESTDIR" {
	d=$BATS_TEST_TMPDIR/root
	b=${ESC_BIN#"$ESC_SRC"/}
	run make -s -C "$ESC_SRC" install DESTDIR="$d" PREFIX=/usr B="$b" SANITIZE="${SANITIZE:-}"
	assert_success
	for p in esc-classify esc-route esc-rotate esc-notify esc-report esc-tick esc-page esc-deliver esc-ack esc-resolve esc-upgrade esc-deadman; do
		[ -x "$d/usr/bin/$p" ] || fail "$p not installed"
	done
	for f in policy.json roster.example.json channels.example.json prometheus/esc-rules.yml cron/esc.crontab systemd/esc-tick.timer systemd/esc-tick.path systemd/esc-inbox.socket systemd/esc-inbox.service; do
		[ -f "$d/usr/share/esc/$f" ] || fail "share/esc/$f not installed"
	done
	[ -f "$d/usr/share/man/man1/esc-route.1" ] && [ -f "$d/usr/share/man/man5/esc-policy.5" ] && [ -f "$d/usr/share/man/man7/esc.7" ]
	run make -s -C "$ESC_SRC" uninstall DESTDIR="$d" PREFIX=/usr B="$b" SANITIZE="${SANITIZE:-}"
	assert_success
	assert_equal "$(find "$d" -type f | wc -l)" 0
}

@test "programs run from the build tree find the tree's share/esc, whatever is installed" {
	run env -u ESC_SHAREDIR -u ESC_POLICY "$ESC_BIN/esc-route" --verbose \
	    -s "$BATS_TEST_TMPDIR/state" --now 2026-11-30T14:00:00Z </dev/null
	assert_success
	assert_line "esc-route: policy: $ESC_SRC/share/esc/policy.json (the build tree's)"
	# A copy outside a build tree, with no share/esc beside it, has only
	# the default it was built with.
	[ ! -e /usr/local/share/esc ] || skip "/usr/local/share/esc is installed"
	cp "$ESC_BIN/esc-route" "$BATS_TEST_TMPDIR/"
	run env -u ESC_SHAREDIR -u ESC_POLICY "$BATS_TEST_TMPDIR/esc-route" \
	    -s "$BATS_TEST_TMPDIR/state" </dev/null
	assert_failure 2
	assert_output "esc-route: /usr/local/share/esc/policy.json: No such file or directory"
}

@test "installed under any PREFIX, every tool finds its own share/esc" {
	p=$BATS_TEST_TMPDIR/prefix
	b=${ESC_BIN#"$ESC_SRC"/}
	run make -s -C "$ESC_SRC" install PREFIX="$p" B="$b" SANITIZE="${SANITIZE:-}"
	assert_success
	export PATH="$p/bin:$PATH"
	unset ESC_SHAREDIR
	cd "$BATS_TEST_TMPDIR"
	run esc-classify --verbose "$ESC_SRC/share/esc/examples/alerts.ndjson"
	assert_success
	assert_line "esc-classify: policy: $p/share/esc/policy.json (the installed default)"
	run esc-rotate --verbose --oncall --at 2026-11-30T13:50:00Z
	assert_success
	assert_line "esc-rotate: roster: $p/share/esc/roster.example.json (the installed default)"
	run esc-route --verbose -s "$BATS_TEST_TMPDIR/st" --now 2026-11-30T13:50:00Z </dev/null
	assert_success
	assert_line "esc-route: policy: $p/share/esc/policy.json (the installed default)"
	run esc-report metrics --verbose /dev/null
	assert_success
	assert_line "esc-report: policy: $p/share/esc/policy.json (the installed default)"
	# The whole chain on the installed defaults (no secrets here: the
	# channels file is found, its secrets are not).
	run bash -c 'esc-classify "$1" | esc-route -s "$2/st2" --now 2026-11-30T13:50:00Z | esc-rotate | esc-notify --dry-run >/dev/null' _ \
	    "$ESC_SRC/share/esc/examples/alerts.ndjson" "$BATS_TEST_TMPDIR"
	assert_line --partial 'ESC_PAGERDUTY_ROUTING_KEY is not set'
	refute_output --partial 'No such file'
	for t in esc-inbox esc-lock esc-notify; do
		run "$p/bin/$t" --help
		[ "$status" -le 2 ] || fail "$t --help: $status"
	done
	run make -s -C "$ESC_SRC" uninstall PREFIX="$p" B="$b" SANITIZE="${SANITIZE:-}"
	assert_success
}

@test "make says one short line a file, and the whole command with V=1" {
	b=$BATS_TEST_TMPDIR/b
	run make -C "$ESC_SRC" --no-print-directory B="$b" "$b/lib/hash.o"
	assert_success
	assert_output "CC lib/hash.c"
	rm "$b/lib/hash.o"
	run make -C "$ESC_SRC" --no-print-directory B="$b" V=1 "$b/lib/hash.o"
	assert_success
	assert_output --regexp "^cc .* -c -o $b/lib/hash.o lib/hash.c\$"
}

@test "the crontab's lines are five fields and a command that exists" {
	while read -r m h dom mon dow cmd; do
		case $m in ''|'#'*|*=*) continue ;; esac
		[[ $h$dom$mon$dow =~ ^[0-9*,/-]+$ ]] || fail "bad schedule: $m $h $dom $mon $dow"
		prog=${cmd%% *}
		[ -x "$ESC_SRC/scripts/$prog" ] || [ -f "$ESC_SRC/cmd/$prog.c" ] || fail "no such program: $prog"
	done < "$ESC_SRC/share/cron/esc.crontab"
}

@test "the alerting rules for esc itself pass esc's own lint" {
	run esc-report hygiene "$ESC_SRC/share/prometheus/esc-rules.yml"
	assert_success
	assert_output ''
}

@test "the man pages are clean under mandoc -Tlint" {
	command -v mandoc >/dev/null || skip "mandoc is not installed"
	run mandoc -Tlint -Wwarning "$ESC_SRC"/share/man/*
	assert_success
	assert_output ''
}

@test "every program in scripts/ and cmd/ has a man page, and every page names only pages that exist" {
	for f in "$ESC_SRC"/scripts/esc-* "$ESC_SRC"/cmd/esc-*.c; do
		n=$(basename "$f" .c)
		case $n in *.sh) continue ;; esc-resolve|esc-upgrade) n=esc-ack ;; esac
		[ -f "$ESC_SRC/share/man/$n.1" ] || fail "$n: no man page"
	done
	for f in "$ESC_SRC"/share/man/*; do
		grep -o '^\.Xr esc[a-z-]* [0-9]' "$f" | while read -r _ n s; do
			[ -f "$ESC_SRC/share/man/$n.$s" ] || [ "$n" = esc-resolve ] || [ "$n" = esc-upgrade ] ||
			    { echo "$f: $n($s) does not exist"; exit 1; }
		done || fail "a page names one that does not exist"
	done
}
