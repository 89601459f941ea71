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

PKGS	= libcjson libcurl yaml-0.1
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lcjson -lcurl -lyaml)

ALL_CFLAGS = -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L \
	  -DESC_SHAREDIR='"$(SHAREDIR)/esc"' -Ilib $(PKG_CFLAGS) \
	  $(CFLAGS) $(WARN) $(SAN)
ALL_LDFLAGS = $(LDFLAGS) $(SAN)
LIBS	= $(PKG_LIBS) -lm

LIBSRC	= $(sort $(wildcard lib/*.c))
LIBOBJ	= $(LIBSRC:lib/%.c=$(B)/lib/%.o)
CMDSRC	= $(sort $(wildcard cmd/*.c))
PROGS	= $(CMDSRC:cmd/%.c=$(B)/%)
SCRIPTS	= $(sort $(wildcard scripts/esc-*))
MAN1	= $(sort $(wildcard share/man/*.1))
MAN5	= $(sort $(wildcard share/man/*.5))
MAN7	= $(sort $(wildcard share/man/*.7))

all: $(PROGS)

$(B)/lib/%.o: lib/%.c lib/esc.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/libesc.a: $(LIBOBJ)
	rm -f $@
	ar rcs $@ $(LIBOBJ)

$(B)/%: cmd/%.c $(B)/libesc.a lib/esc.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(B)/libesc.a $(LIBS)

# The tests run the programs just built and the scripts of this tree.
# TESTS picks a subset: make check TESTS=t/1*.bats
TESTS	= t
check:
	@scripts/deps
	@$(MAKE) --no-print-directory all
	ESC_BIN=$(CURDIR)/$(B) ESC_SRC=$(CURDIR) SANITIZE=$(SANITIZE) \
	PATH="$(CURDIR)/$(B):$(CURDIR)/scripts:$$PATH" \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	$(BATS) $(TESTS)

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
	if [ -n "$(MAN5)" ]; then cp -f $(MAN5) $(DESTDIR)$(MANDIR)/man5/; fi
	if [ -n "$(MAN7)" ]; then cp -f $(MAN7) $(DESTDIR)$(MANDIR)/man7/; fi

uninstall:
	for f in $(PROGS) $(SCRIPTS); do rm -f $(DESTDIR)$(BINDIR)/$${f##*/}; done
	for f in $(MAN1); do rm -f $(DESTDIR)$(MANDIR)/man1/$${f##*/}; done
	for f in $(MAN5); do rm -f $(DESTDIR)$(MANDIR)/man5/$${f##*/}; done
	for f in $(MAN7); do rm -f $(DESTDIR)$(MANDIR)/man7/$${f##*/}; done
	rm -rf $(DESTDIR)$(SHAREDIR)/esc

lint-man:
	@command -v mandoc >/dev/null && mandoc -Tlint -Wwarning $(MAN1) $(MAN5) $(MAN7)

clean:
	rm -rf build

.PHONY: all check demo bench install uninstall clean lint-man
