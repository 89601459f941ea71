#!/usr/bin/env bats
# esc-report review: the quarterly tuning review over
# t/fixtures/report/review.ndjson, a week (2026-11-01 to 2026-11-08) of:
#   FlappyDisk     warning, 50 firings (7.14 a day), 5 actionable (10%),
#                  and one more the hour before the window
#   BusyButUseful  warning, 42 firings (6 a day), all actionable
#   QuietOne       critical, 2 firings, no timeline in the policy; its
#                  pages went to alice (L1) and bob and carol (L2)
#   StemeDBAPIDown critical, 1 firing, has a timeline; an SMS to alice
# and t/fixtures/report/rules/review-rules.yml, which also defines
# NeverFires (severity "page", critical to the policy) and OldAlert.

load test_helper

J="$FIX/report/review.ndjson"
RR="$FIX/report/rules/review-rules.yml"
WIN=(--since 2026-11-01T00:00:00Z --until 2026-11-08T00:00:00Z)

@test "review: volume, firings per day and action rate per alert" {
	run esc-report review -f json "${WIN[@]}" --rules "$RR" "$J"
	assert_success
	run jq -c '[.since, .until, .window, .firings, .incidents]' <<<"$output"
	assert_output '["2026-11-01T00:00:00Z","2026-11-08T00:00:00Z",604800,95,95]'
	run bash -c "esc-report review -f json ${WIN[*]} --rules '$RR' '$J' |
	    jq -c '.alerts[] | [.alert, .firings, .per_day, .action_rate, .critical]'"
	assert_output '["FlappyDisk",50,7.143,0.1,0]
["BusyButUseful",42,6,1,0]
["QuietOne",2,0.286,1,2]
["StemeDBAPIDown",1,0.143,1,1]
["NeverFires",0,0,0,0]
["OldAlert",0,0,0,0]'
}

@test "review: noisy, unused, and critical without a timeline" {
	run esc-report review -f json "${WIN[@]}" --rules "$RR" "$J"
	assert_success
	run jq -c '[.noisy, .unused, .no_timeline]' <<<"$output"
	# Noisy: over 5 firings a day, or acted on less than 80% of the time.
	assert_output '[["FlappyDisk","BusyButUseful"],["NeverFires","OldAlert"],["QuietOne","NeverFires"]]'
	run esc-report review -f json "${WIN[@]}" --rules "$RR" "$J"
	run jq -r '.recommendations[] | select(.problem != "target") | "\(.alert) \(.problem): \(.action)"' <<<"$output"
	assert_output 'FlappyDisk noisy: noisy (7.14 firings a day, over 5; 10% of 50 incidents actionable, under 80%): raise its threshold or its for: duration, or lower its severity
BusyButUseful noisy: noisy (6.00 firings a day, over 5; 100% of 42 incidents actionable): it needs action that often: fix the cause, or automate the action
QuietOne no_timeline: pages critically without an escalation timeline: add timelines.QuietOne to the policy
NeverFires unused: unused (no firing in the window): remove it, or check that it can still fire
NeverFires no_timeline: pages critically without an escalation timeline: add timelines.NeverFires to the policy
OldAlert unused: unused (no firing in the window): remove it, or check that it can still fire'
}

@test "review: the thresholds come from the policy" {
	# At 8 firings a day and a low action rate under 5% nothing here is
	# noisy; under 20%, FlappyDisk (10%) is again.
	sed 's/"noisy_firings_per_day": 5,/"noisy_firings_per_day": 8,/; s/"low_action_rate": 0.80,/"low_action_rate": 0.05,/' "$POLICY" > "$BATS_TEST_TMPDIR/p.json"
	run bash -c "esc-report review -p '$BATS_TEST_TMPDIR/p.json' -f json ${WIN[*]} '$J' | jq -c .noisy"
	assert_output '[]'
	sed 's/"noisy_firings_per_day": 5,/"noisy_firings_per_day": 8,/; s/"low_action_rate": 0.80,/"low_action_rate": 0.2,/' "$POLICY" > "$BATS_TEST_TMPDIR/p.json"
	run bash -c "esc-report review -p '$BATS_TEST_TMPDIR/p.json' -f json ${WIN[*]} '$J' | jq -c .noisy"
	assert_output '["FlappyDisk"]'
}

@test "review: the policy's targets, judged as esc-report metrics judges them" {
	run esc-report review -f json "${WIN[@]}" "$J"
	assert_success
	run jq -c '.targets[] | [.metric, .severity, .value, .target, .pass]' <<<"$output"
	assert_output '["mtta","critical",127,300,true]
["mttr","critical",1300,1800,true]
["accuracy","all",0.5263,0.8,false]
["escalation_rate","all",0,0.2,true]
["false_positive_rate","all",0.4737,0.1,false]'
	# The same means and verdicts as the metrics report over the window.
	run bash -c "esc-report metrics -f json ${WIN[*]} '$J' | jq -c '[.severities.critical.mtta.mean, .severities.critical.mttr.mean, .all.accuracy.pass, .all.false_positive_rate.pass]'"
	assert_output '[127,1300,false,false]'
	run bash -c "esc-report review -f json ${WIN[*]} '$J' | jq -r '.recommendations[] | select(.problem == \"target\") | \"\(.metric) \(.severity): \(.action)\"'"
	assert_output 'accuracy all: alert accuracy is 52.6%, target > 80%: 50 of 95 incidents were called actionable. Tune or remove the alerts nobody acts on (the low action rates below), and resolve with --actionable or --not-actionable so that the figure is known.
false_positive_rate all: false-positive rate is 47.4%, target < 10%: 45 of 95 incidents were called not actionable. Raise the thresholds of the alerts behind them, or remove them.'
	run esc-report review "${WIN[@]}" "$J"
	assert_line '  2 of 5 judged targets failed'
	assert_line --regexp '^  alert accuracy +all +52\.6% +> 80% +FAIL$'
	assert_line --regexp '^  MTTA +critical +2m7s +< 5m +pass$'
}

@test "review: pages per person from the recipients" {
	run bash -c "esc-report review -f json ${WIN[*]} '$J' | jq -c .pages_per_person"
	assert_output '{"alice":3,"bob":2,"carol":2}'
}

@test "review: --window counts back from --now, and the policy's 90d is the default" {
	run bash -c "esc-report review -f json --now 2026-11-08T00:00:00Z --window 2d '$J' |
	    jq -c '[.since, .window, .firings]'"
	# 2026-11-06 and -07: FlappyDisk i = 36..49 (14), BusyButUseful
	# i = 30..41 (12), StemeDBAPIDown at 2026-11-06T00:00:00Z (1): 27.
	assert_output '["2026-11-06T00:00:00Z",172800,27]'
	run bash -c "esc-report review -f json --now 2026-11-08T00:00:00Z '$J' |
	    jq -c '[.since, .window, .firings]'"
	assert_output '["2026-08-10T00:00:00Z",7776000,96]'
}

@test "review: text and markdown" {
	run esc-report review "${WIN[@]}" --rules "$RR" "$J"
	assert_success
	assert_line 'Quarterly alert review, 2026-11-01T00:00:00Z to 2026-11-08T00:00:00Z (1w)'
	assert_line '95 firings of 6 alerts, 13.57 a day; 95 incidents'
	assert_line --regexp '^FlappyDisk +50 +7\.14 +10% +0$'
	assert_line '  OldAlert: unused (no firing in the window): remove it, or check that it can still fire'
	run esc-report review -f markdown "${WIN[@]}" "$J"
	assert_line '| FlappyDisk | 50 | 7.14 | 10% | 0 |'
	assert_line '| alice | 3 |'
}

@test "review: -f html is one self-contained page with six SVG charts" {
	esc-report review -f html "${WIN[@]}" --rules "$RR" "$J" > "$BATS_TEST_TMPDIR/r.html"
	run grep -c '<svg ' "$BATS_TEST_TMPDIR/r.html"
	assert_output 6
	run grep -Eci '(src|href)=|url\(|@import|<script|<link' "$BATS_TEST_TMPDIR/r.html"
	assert_output 0
	run grep -c '<figcaption>' "$BATS_TEST_TMPDIR/r.html"
	assert_output 6
	assert [ "$(head -c 15 "$BATS_TEST_TMPDIR/r.html")" = '<!DOCTYPE html>' ]
	# Well-formed enough for an XML parser once the doctype is gone.
	run "$PY" -c '
import sys, xml.dom.minidom as m
t = open(sys.argv[1]).read().split("\n", 1)[1]
d = m.parseString(t.replace("<meta charset=\"utf-8\">", "<meta charset=\"utf-8\"/>"))
print(len(d.getElementsByTagName("rect")) > 20)' "$BATS_TEST_TMPDIR/r.html"
	assert_output 'True'
}

@test "review: the HTML page renders in headless Chromium, not blank" {
	command -v chromium >/dev/null || skip "chromium is not installed (Debian package chromium)"
	esc-report review -f html "${WIN[@]}" --rules "$RR" "$J" > "$BATS_TEST_TMPDIR/r.html"
	# The critical (#d9383a) and warning (#f0a030) bars of the volume
	# chart must be on the picture.
	COLORS="217,56,58 240,160,48" run "$ESC_SRC/t/screenshot.sh" \
	    "$BATS_TEST_TMPDIR/r.html" "$BATS_TEST_TMPDIR/r.png"
	assert_success
	assert_line --regexp '^pixels=[0-9]+ nonwhite=[0-9]+ colors=[0-9]+$'
	refute_line '217,56,58=0'
	refute_line '240,160,48=0'
	# And a blank page is told apart.
	echo '<!DOCTYPE html><html><body></body></html>' > "$BATS_TEST_TMPDIR/b.html"
	run "$ESC_SRC/t/screenshot.sh" "$BATS_TEST_TMPDIR/b.html" "$BATS_TEST_TMPDIR/b.png"
	assert_failure 1
}

@test "review: usage errors" {
	run esc-report review --window soon "$J"
	assert_failure 2
	assert_output 'esc-report: --window: not a duration: soon'
	run esc-report review -f prometheus "$J"
	assert_failure 2
	assert_line --index 0 'esc-report: review: -f prometheus: not a format of this command'
	run esc-report review --rules "$FIX/report/rules/broken.yml" "$J"
	assert_failure 2
	assert_line --index 0 "esc-report: $FIX/report/rules/broken.yml:6:8: YAML error: did not find expected '-' indicator (while parsing a block collection)"
}

@test "review: --rules takes every YAML operand after it" {
	run esc-report review -f json "${WIN[@]}" --rules "$RR" "$FIX/report/rules/review-rules-2.yml" "$J"
	assert_success
	assert_equal "$(jq -c '.unused' <<<"$output")" '["NeverFires","OldAlert","SecondFile"]'
	assert_equal "$(jq -c '.firings' <<<"$output")" 95
}

@test "review: --rules reads anchors, aliases and merge keys" {
	# Every rule of aliases.yml is critical by "labels: *crit", by
	# "<<: *crit" or as "- *bare": none has a timeline.
	run esc-report review -f json "${WIN[@]}" --rules "$FIX/report/rules/aliases.yml" "$J"
	assert_success
	assert_equal "$(jq -c '.no_timeline' <<<"$output")" '["QuietOne","BareCritical","DiskFullA","DiskFullB","DiskFullC","DiskFullD"]'
	assert_equal "$(jq -c '.unused' <<<"$output")" '["BareCritical","DiskFullA","DiskFullB","DiskFullC","DiskFullD"]'
}

@test "review: names from the journal read as text in markdown, text and html" {
	# A critical incident of an alert whose name is markup, paged to a
	# person whose name is markup and a line break.
	cat > "$BATS_TEST_TMPDIR/j.ndjson" <<-'EOF'
	{"type":"incident","incident":"x1","event":"opened","severity":"critical","level":1,"alert":"a1","alertname":"<img src=x onerror=alert(1)>*b*_[l](javascript:x)|`c`","at":"2026-11-02T10:00:00Z","opened_at":"2026-11-02T10:00:00Z"}
	{"type":"page","incident":"x1","channel":"sms","level":1,"at":"2026-11-02T10:00:00Z","recipients":[{"role":"primary","person":"<b>eve</b>\n| x | 9 |"}]}
	EOF
	run esc-report review -f markdown "${WIN[@]}" "$BATS_TEST_TMPDIR/j.ndjson"
	assert_success
	n='&lt;img src=x onerror=alert(1)&gt;\*b\*\_\[l\](javascript:x)\|\`c\`'
	assert_line "| $n | 1 | 0.14 | 0% | 1 |"
	assert_line "- $n: pages critically without an escalation timeline: add timelines.$n to the policy"
	assert_line '| &lt;b&gt;eve&lt;/b&gt; \| x \| 9 \| | 1 |'
	refute_output --partial '<img'
	run esc-report review "${WIN[@]}" "$BATS_TEST_TMPDIR/j.ndjson"
	assert_success
	assert_line --regexp '^  <b>eve</b>\\n\| x \| 9 \| +1$'
	run esc-report review -f html "${WIN[@]}" "$BATS_TEST_TMPDIR/j.ndjson"
	assert_success
	assert_output --partial '<td>&lt;img src=x onerror=alert(1)&gt;*b*_[l](javascript:x)|`c`</td>'
	refute_output --partial '<img'
	refute_output --partial '<b>eve'
}
