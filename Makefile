# esc - alert escalation toolkit

PREFIX	= /usr/local
BINDIR	= $(PREFIX)/bin
SHAREDIR = $(PREFIX)/share
MANDIR	= $(SHAREDIR)/man
DESTDIR	=

CC	= cc
CFLAGS	= -O2 -g
LDFLAGS	=
BATS	= bats

# Warnings come after the user's CFLAGS so that CFLAGS cannot drop them;
# CI (CI=true) and WERROR=1 make them errors.
WARN	= -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	  -Wno-unused-parameter -Wformat=2 -Wvla
ifneq ($(CI)$(WERROR),)
WARN	+= -Werror
endif

ifeq ($(SANITIZE),1)
B	= build/san
SAN	= -fsanitize=address,undefined -fno-omit-frame-pointer \
	  -fno-sanitize-recover=undefined
else
B	= build/std
SAN	=
endif

PKGS	= libcjson libcurl yaml-0.1 libmicrohttpd libcrypto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lcjson -lcurl -lyaml -lmicrohttpd -lcrypto)

ALL_CFLAGS = -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L \
	  -DESC_SHAREDIR='"$(SHAREDIR)/esc"' -Ilib $(PKG_CFLAGS) \
	  $(CFLAGS) $(WARN) $(SAN)
ALL_LDFLAGS = $(LDFLAGS) $(SAN)

# One short line a file; V=1 shows the whole commands.
ifeq ($(V),1)
Q	=
SAY	= @:
else
Q	= @
SAY	= @echo
endif
LIBS	= $(PKG_LIBS) -lm -lpthread

LIBSRC	= $(sort $(wildcard lib/*.c))
HDRS	= $(wildcard lib/*.h)
LIBOBJ	= $(LIBSRC:lib/%.c=$(B)/lib/%.o)
CMDSRC	= $(sort $(wildcard cmd/*.c))
PROGS	= $(CMDSRC:cmd/%.c=$(B)/%)
SCRIPTS	= $(sort $(wildcard scripts/esc-*))
MAN1	= $(sort $(wildcard share/man/*.1))
MAN5	= $(sort $(wildcard share/man/*.5))
MAN7	= $(sort $(wildcard share/man/*.7))

all: $(PROGS)

$(B)/lib/%.o: lib/%.c $(HDRS)
	@mkdir -p $(@D)
	$(SAY) "CC $<"
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/libesc.a: $(LIBOBJ)
	$(SAY) "AR $@"
	$(Q)rm -f $@
	$(Q)ar rcs $@ $(LIBOBJ)

$(B)/%: cmd/%.c $(B)/libesc.a $(HDRS)
	@mkdir -p $(@D)
	$(SAY) "LD $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(B)/libesc.a $(LIBS)

# The tests run the programs just built and the scripts of this tree.
# TESTS picks a subset: make check TESTS=t/1*.bats
#
# The files run side by side, JOBS at a time (bats --jobs, through GNU
# parallel); the tests of one file run one after the other, in their
# order, as they share the file's fixtures.  A test spends most of its
# time waiting on a peer (an etcd election, a provider's timeout, a
# minute of esc-tick --watch), so JOBS is twice the cores; JOBS=1 runs
# the files one after the other.  The longest files start first, so that
# none is left running alone at the end.  The TAP output keeps the
# order the files started in.
JOBS	= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) * 2 )))
TESTS_FIRST = t/6210-tick-deadlines.bats t/6060-tick-watch.bats \
	  t/6200-faults.bats t/4120-notify-deadline.bats t/7160-inbox-door.bats \
	  t/8110-etcd-faults.bats t/8100-two-hosts.bats t/8125-half-dead.bats \
	  t/8150-etcd-inbox.bats t/8130-paused-host.bats t/2011-route-etcd.bats \
	  t/4900-notify-etcd.bats t/8010-esc-lock.bats t/7130-inbox-faults.bats \
	  t/6000-pipeline.bats t/6900-readme.bats t/8000-etcd-cluster.bats \
	  t/8120-etcd-windows.bats t/8140-manual-etcd.bats \
	  t/5008-report-review-page.bats t/7170-inbox-links.bats \
	  t/7150-inbox-etcd.bats t/7100-inbox-serve.bats t/7001-inbox-tick.bats
TESTS	= $(filter $(wildcard t/*.bats),$(TESTS_FIRST)) \
	  $(filter-out $(TESTS_FIRST),$(sort $(wildcard t/*.bats)))
BATS_JOBS = $(if $(filter-out 0 1,$(JOBS)),--jobs $(JOBS) \
	  --no-parallelize-within-files)
check:
	@scripts/deps
	@$(MAKE) --no-print-directory all
	ESC_BIN=$(CURDIR)/$(B) ESC_SRC=$(CURDIR) SANITIZE=$(SANITIZE) \
	PATH="$(CURDIR)/$(B):$(CURDIR)/scripts:$$PATH" \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	$(BATS) $(BATS_JOBS) $(TESTS)

demo:
	@scripts/deps
	@$(MAKE) --no-print-directory all
	@ESC_BIN=$(CURDIR)/$(B) scripts/demo

bench: all
	@scripts/bench

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(SHAREDIR)/esc \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	cp -f $(PROGS) $(SCRIPTS) $(DESTDIR)$(BINDIR)/
	cp -Rf share/esc/. $(DESTDIR)$(SHAREDIR)/esc/
	for d in prometheus cron systemd; do \
	    if [ -d share/$$d ]; then mkdir -p $(DESTDIR)$(SHAREDIR)/esc/$$d && \
	    cp -Rf share/$$d/. $(DESTDIR)$(SHAREDIR)/esc/$$d/; fi; done
	if [ -n "$(MAN1)" ]; then cp -f $(MAN1) $(DESTDIR)$(MANDIR)/man1/; fi
	# esc-resolve and esc-upgrade are esc-ack, and so are their pages.
	for m in esc-resolve esc-upgrade; do \
	    ln -sf esc-ack.1 $(DESTDIR)$(MANDIR)/man1/$$m.1; done
	if [ -n "$(MAN5)" ]; then cp -f $(MAN5) $(DESTDIR)$(MANDIR)/man5/; fi
	if [ -n "$(MAN7)" ]; then cp -f $(MAN7) $(DESTDIR)$(MANDIR)/man7/; fi

uninstall:
	for f in $(PROGS) $(SCRIPTS); do rm -f $(DESTDIR)$(BINDIR)/$${f##*/}; done
	for f in $(MAN1); do rm -f $(DESTDIR)$(MANDIR)/man1/$${f##*/}; done
	rm -f $(DESTDIR)$(MANDIR)/man1/esc-resolve.1 $(DESTDIR)$(MANDIR)/man1/esc-upgrade.1
	for f in $(MAN5); do rm -f $(DESTDIR)$(MANDIR)/man5/$${f##*/}; done
	for f in $(MAN7); do rm -f $(DESTDIR)$(MANDIR)/man7/$${f##*/}; done
	rm -rf $(DESTDIR)$(SHAREDIR)/esc

lint-man:
	@command -v mandoc >/dev/null && mandoc -Tlint -Wwarning $(MAN1) $(MAN5) $(MAN7)

# Fuzzing (t/fuzz/README): a libFuzzer harness per parser and loader,
# clang only.  libesc is built again into build/fuzz with the fuzzer's
# coverage and the sanitizers.  The seeds of t/fuzz/corpus/NAME are copied
# into build/fuzz/corpus/NAME, which grows there; the regression inputs
# of t/fixtures/fuzz/NAME are replayed (fuzz-regress), not fuzzed from, as
# one not fixed yet would stop the fuzzing at its start.
# make fuzz FUZZ_TIME=30 runs each harness 30 seconds.
FUZZ_CC	= clang
FUZZ_TIME = 60
FUZZ_B	= build/fuzz
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	  -fno-omit-frame-pointer
FUZZ_CFLAGS = -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L \
	  -DESC_SHAREDIR='"$(CURDIR)/share/esc"' -Ilib $(PKG_CFLAGS) \
	  -O1 -g $(WARN) $(FUZZ_SAN)
FUZZ_SRC = $(sort $(wildcard t/fuzz/fuzz-*.c))
FUZZ_NAMES = $(FUZZ_SRC:t/fuzz/fuzz-%.c=%)
FUZZ_PROGS = $(FUZZ_NAMES:%=$(FUZZ_B)/fuzz-%)
FUZZ_LIBOBJ = $(LIBSRC:lib/%.c=$(FUZZ_B)/lib/%.o)
# The longest input of each; a harness not named gets 4096 bytes.
FUZZ_MAXLEN_time = 64
FUZZ_MAXLEN_roster = 8192
FUZZ_MAXLEN_channels = 8192
FUZZ_MAXLEN_state = 8192
FUZZ_MAXLEN_ndjson = 16384
FUZZ_MAXLEN_jsonc = 16384
FUZZ_MAXLEN_policy = 16384
FUZZ_MAXLEN_yaml = 16384
FUZZ_MAXLEN_classify = 16384
FUZZ_MAXLEN_journal = 16384
FUZZ_MAXLEN_digest = 16384
# -timeout: an input that takes this long is a hang (the rule YAML walk
# has had one).
FUZZ_OPTS = -timeout=10 -rss_limit_mb=2048 -print_final_stats=1

$(FUZZ_B)/lib/%.o: lib/%.c $(HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_B)/libesc.a: $(FUZZ_LIBOBJ)
	rm -f $@
	ar rcs $@ $(FUZZ_LIBOBJ)

$(FUZZ_B)/fuzz-%: t/fuzz/fuzz-%.c t/fuzz/fuzz.h $(FUZZ_B)/libesc.a $(HDRS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< \
	    $(FUZZ_B)/libesc.a $(LIBS)

# The provider hooks' harnesses share a request and its checks.
$(FUZZ_B)/fuzz-hook-pagerduty $(FUZZ_B)/fuzz-hook-twilio: t/fuzz/hookreq.h

fuzz-build: $(FUZZ_PROGS)

# Each harness over its seeds and regression inputs, once: no fuzzing.
fuzz-regress: fuzz-build
	@t/fuzz/regress $(FUZZ_B) $(FUZZ_NAMES)

fuzz-run-%: $(FUZZ_B)/fuzz-%
	@mkdir -p $(FUZZ_B)/corpus/$* $(FUZZ_B)/crashes/$*
	@cp -n t/fuzz/corpus/$*/* $(FUZZ_B)/corpus/$*/
	$(FUZZ_B)/fuzz-$* -max_total_time=$(FUZZ_TIME) \
	    -max_len=$(or $(FUZZ_MAXLEN_$*),4096) $(FUZZ_OPTS) \
	    -artifact_prefix=$(FUZZ_B)/crashes/$*/ $(FUZZ_B)/corpus/$*

# The regression inputs, then every harness for FUZZ_TIME seconds, one
# after the other (t/fuzz/run); a crash is left in build/fuzz/crashes/NAME/,
# the output in build/fuzz/log/NAME.log, and what failed is said last.
fuzz: fuzz-build
	@st=0; t/fuzz/regress $(FUZZ_B) $(FUZZ_NAMES) || st=1; \
	MAKE="$(MAKE)" t/fuzz/run $(FUZZ_B) $(FUZZ_NAMES) || st=1; exit $$st

clean:
	rm -rf build

.PHONY: all check demo bench install uninstall clean lint-man fuzz fuzz-build \
	fuzz-regress
