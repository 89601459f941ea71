#!/usr/bin/env bats
# esc-report review -f html: the page a manager reads, over the journal
# `make demo` writes (t/fixtures/report/demo.ndjson: three critical
# incidents on 2026-11-30; see t/fixtures/README), read as its DOM in
# headless Chromium and as plain HTML.  On that journal the metrics fail
# four targets: MTTA 8m30s (< 5m), MTTR 34m (< 30m), accuracy 66.7%
# (> 80%), escalation rate 100% (< 20%); HighAPIErrorRate was acted on
# 0% of the time.

load test_helper

J="$FIX/report/demo.ndjson"
ROSTER="$ESC_SRC/share/esc/roster.example.json"
# The demo's last minute: the review's default 90 days end there.
NOW=(--now 2026-11-30T14:35:00Z)

page() {
	esc-report review -f html "${NOW[@]}" -r "$ROSTER" "$J" > "$BATS_TEST_TMPDIR/r.html"
}

# chromium ARGS...: headless, a throwaway profile, no network, bounded.
chromium_run() {
	mkdir -p "$BATS_TEST_TMPDIR/profile"
	timeout 60 chromium --headless --no-sandbox --disable-gpu \
	    --disable-dev-shm-usage --no-first-run \
	    --user-data-dir="$BATS_TEST_TMPDIR/profile" \
	    --proxy-server=127.0.0.1:9 "$@"
}

# The facts of the page every test below asserts, from the HTML or the DOM.
assert_facts() {
	run "$PY" "$ESC_SRC/t/domfacts.py" "$1"
	assert_success
	# The targets panel: each failed target with its value.
	assert_line 'verdict: 4 of 5 targets failed.'
	assert_line 'cell target-mtta-critical fail: 8m30s FAIL'
	assert_line 'cell target-mttr-critical fail: 34m FAIL'
	assert_line 'cell target-accuracy-all fail: 66.7% FAIL'
	assert_line 'cell target-escalation_rate-all fail: 100.0% FAIL'
	assert_line 'cell target-false_positive_rate-all pass: 0.0% pass'
	# Recommendations: the four failed targets and the 0% action rate,
	# each with its number.
	assert_line --regexp '^rec target MTTA: MTTA \(critical\): MTTA of critical incidents is 8m30s, target < 5m: the mean of 2 acked \(1 never acked\)\.'
	assert_line --regexp '^rec target MTTR: MTTR \(critical\): MTTR of critical incidents is 34m, target < 30m: the mean of 3 resolved'
	assert_line --regexp '^rec target alert accuracy: .*alert accuracy is 66\.7%, target > 80%: 2 of 3 incidents were called actionable\.'
	assert_line --regexp '^rec target escalation rate: .*escalation rate is 100\.0%, target < 20%: 3 of 3 incidents reached level 2 or higher\.'
	assert_line --regexp '^rec noisy HighAPIErrorRate: HighAPIErrorRate: noisy \(0\.01 firings a day; 0% of 1 incident actionable, under 80%\)'
	refute_line --partial 'rec target false-positive rate'
	# Dated x axes and counted or timed y axes, target lines on MTTA and
	# MTTR per week.
	assert_line 'tick chart-volume tick.date: Sep 1'
	assert_line 'tick chart-volume tick.date: Nov 24'
	assert_line 'axis chart-volume: day starting (UTC), 2026-09-01 to 2026-11-30'
	assert_line 'tick chart-volume tick: 3'
	assert_line 'axis chart-volume: firings'
	assert_line 'tick chart-mtta-weekly tick.date: Nov 24'
	assert_line 'tick chart-mtta-weekly tick: 5m'
	assert_line 'target chart-mtta-weekly: < 5m'
	assert_line 'tick chart-mttr-weekly tick.date: Nov 24'
	assert_line 'tick chart-mttr-weekly tick: 30m'
	assert_line 'target chart-mttr-weekly: < 30m'
	assert_line 'axis chart-mttr-weekly: week starting (UTC), 2026-09-01 to 2026-11-30'
	assert_line 'target chart-tta: target for critical: < 5m'
	assert_line 'axis chart-tta: count'
	# The on-call load: pages, at night, shifts, pages per shift, weeks on
	# call, the ledger's days off and after-hours incidents.
	assert_line 'person bob: bob (Bob Okafor) | America/New_York | 12 | 0 | 6 | 2.0 | primary 3.0, backup 2.8 | 4.42 | 3'
	assert_line 'person alice: alice (Alice Ng) | America/New_York | 0 | 0 | 5 | 0.0 | primary 3.0, backup 2.0 | 4 | 0'
	assert_line 'person dana: dana (Dana Whitfield) | America/New_York | 3 | 0 | 0 | - | - | - | -'
	assert_line 'shift: primary | bob | 2026-11-23T14:00:00Z | 2026-11-30T14:00:00Z | 12 | 0'
	assert_line 'shift: primary | carol | 2026-11-30T14:00:00Z | 2026-12-07T14:00:00Z | 4 | 0'
}

@test "review page: the demo's journal in headless Chromium: targets, axes, recommendations, load" {
	command -v chromium >/dev/null || skip "chromium is not installed (Debian package chromium; scripts/deps installs it)"
	page
	chromium_run --dump-dom "file://$BATS_TEST_TMPDIR/r.html" > "$BATS_TEST_TMPDIR/dom.html" 2>/dev/null
	assert_facts "$BATS_TEST_TMPDIR/dom.html"
	# And the picture: written, not blank, the failed cells' red on it.
	chromium_run --hide-scrollbars --window-size=1000,3700 \
	    --screenshot="$BATS_TEST_TMPDIR/r.png" "file://$BATS_TEST_TMPDIR/r.html" >/dev/null 2>&1 || true
	assert [ -s "$BATS_TEST_TMPDIR/r.png" ]
	assert [ "$(stat -c %s "$BATS_TEST_TMPDIR/r.png")" -gt 50000 ]
	COLORS="253,228,228 217,56,58" run "$ESC_SRC/t/screenshot.sh" \
	    "$BATS_TEST_TMPDIR/r.html" "$BATS_TEST_TMPDIR/s.png"
	assert_success
	refute_line '253,228,228=0'
	refute_line '217,56,58=0'
}

@test "review page: the same facts in the HTML itself, and one self-contained page" {
	page
	assert_facts "$BATS_TEST_TMPDIR/r.html"
	run grep -c 'id="target-mtta-critical" class="fail" data-result="fail">8m30s' "$BATS_TEST_TMPDIR/r.html"
	assert_output 1
	run grep -o '<li class="rec rec-target" data-kind="target" data-subject="[^"]*"' "$BATS_TEST_TMPDIR/r.html"
	assert_output '<li class="rec rec-target" data-kind="target" data-subject="MTTA"
<li class="rec rec-target" data-kind="target" data-subject="MTTR"
<li class="rec rec-target" data-kind="target" data-subject="alert accuracy"
<li class="rec rec-target" data-kind="target" data-subject="escalation rate"'
	run grep -c '<text class="tick date"' "$BATS_TEST_TMPDIR/r.html"
	assert_output 22
	run grep -Eci '(src|href)=|url\(|@import|<script|<link' "$BATS_TEST_TMPDIR/r.html"
	assert_output 0
	# The header's firings a day read as the table's.
	run grep -o '0\.0[0-9]* a day' "$BATS_TEST_TMPDIR/r.html"
	assert_output '0.03 a day'
	run grep -c '<td>0.01</td>' "$BATS_TEST_TMPDIR/r.html"
	assert_output 3
}

@test "review page: text and JSON say the same targets and recommendations" {
	run esc-report review "${NOW[@]}" -r "$ROSTER" "$J"
	assert_success
	assert_line '  4 of 5 judged targets failed'
	assert_line --regexp '^  MTTA +critical +8m30s +< 5m +FAIL$'
	assert_line --regexp '^  MTTR +critical +34m +< 30m +FAIL$'
	assert_line --regexp '^  escalation rate +all +100\.0% +< 20% +FAIL$'
	run bash -c "esc-report review -f json ${NOW[*]} -r '$ROSTER' '$J' |
	    jq -r '.recommendations[] | [.problem, .metric // .alert] | join(\" \")'"
	assert_output 'target mtta
target mttr
target accuracy
target escalation_rate
noisy HighAPIErrorRate'
	run bash -c "esc-report review -f json ${NOW[*]} -r '$ROSTER' '$J' |
	    jq -c '.load[] | select(.person == \"bob\")'"
	assert_output '{"person":"bob","name":"Bob Okafor","timezone":"America/New_York","pages":12,"night_pages":0,"shifts":6,"pages_in_shifts":12,"weeks":{"primary":3,"backup":2.85,"manager":0},"days_off":4.42,"after_hours_incidents":3}'
	# Beside the ledger esc-rotate writes for the same window.
	run bash -c "esc-rotate -r '$ROSTER' -p '$POLICY' --ledger --from 2026-09-01T14:35:00Z --to 2026-11-30T14:35:00Z '$J' |
	    jq -c 'select(.person == \"bob\") | [.weeks, .days_off, .after_hours_incidents]'"
	assert_output '[{"primary":3,"backup":2.85,"manager":0},4.42,3]'
}

@test "review page: pages at night in the person's zone, beside the ledger's figures" {
	# 03:00Z is 22:00 in New York (alice) and 04:00 in Berlin (heidi):
	# night for both; 15:00Z is 10:00 in New York.  zed is not in the
	# roster: UTC, and no ledger line.
	cat > "$BATS_TEST_TMPDIR/j.ndjson" <<-'EOF'
	{"type":"incident","incident":"x1","event":"opened","severity":"critical","level":1,"alert":"a1","alertname":"NightOwl","at":"2026-11-02T03:00:00Z","opened_at":"2026-11-02T03:00:00Z"}
	{"type":"page","incident":"x1","channel":"sms","level":1,"at":"2026-11-02T03:00:00Z","recipients":[{"role":"primary","person":"alice"},{"role":"sre_lead","person":"heidi"}]}
	{"type":"page","incident":"x1","channel":"sms","level":2,"at":"2026-11-02T15:00:00Z","recipients":[{"role":"backup","person":"alice"},{"role":"primary","person":"zed"}]}
	EOF
	W=(--since 2026-11-01T00:00:00Z --until 2026-11-08T00:00:00Z)
	run bash -c "esc-report review -f json ${W[*]} -r '$ROSTER' '$BATS_TEST_TMPDIR/j.ndjson' |
	    jq -c '.load[] | select(.pages > 0) | [.person, .timezone, .pages, .night_pages, .shifts, .pages_in_shifts, .days_off, .after_hours_incidents]'"
	assert_output '["alice","America/New_York",2,1,1,1,0.39,1]
["heidi","Europe/Berlin",1,1,0,0,0,1]
["zed","America/New_York",1,0,0,0,null,null]'
	# The ledger's figures are esc-rotate --ledger's own.
	run bash -c "esc-rotate -r '$ROSTER' -p '$POLICY' --ledger --from 2026-11-01T00:00:00Z --to 2026-11-08T00:00:00Z '$BATS_TEST_TMPDIR/j.ndjson' |
	    jq -c 'select(.person == \"alice\" or .person == \"heidi\") | [.person, .days_off, .after_hours_incidents]'"
	assert_output '["alice",0.39,1]
["heidi",0,1]'
}

@test "review page: a roster named but unreadable is a configuration error; none found, the page is still written" {
	run esc-report review -f html "${NOW[@]}" -r "$BATS_TEST_TMPDIR/nope.json" "$J"
	assert_failure 2
	assert_output --partial "$BATS_TEST_TMPDIR/nope.json"
	ESC_ROSTER="$BATS_TEST_TMPDIR/nope.json" run esc-report review "${NOW[@]}" "$J"
	assert_failure 2
	mkdir "$BATS_TEST_TMPDIR/share"
	ESC_SHAREDIR="$BATS_TEST_TMPDIR/share" run esc-report review -f html -p "$POLICY" "${NOW[@]}" "$J"
	assert_success
	assert_output --partial 'No roster was found: times are UTC, and there is no ledger.'
	assert_output --partial '<tr class="person" data-person="bob"><td>bob</td><td>UTC</td><td class="pages">12</td>'
}
