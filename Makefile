# seqtools: plain make, no configure step.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
SHAREDIR ?= $(PREFIX)/share/seqtools

CC ?= cc
CFLAGS ?= -O2 -g
override CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Ilib \
	-DSHAREDIR=\"$(SHAREDIR)\" $(CFLAGS)
LDLIBS = -lsqlite3 -ljansson -lcurl -lcrypto -lsodium -lm
# Each command loads only the libraries it calls: seq-hook, run once per
# webhook, would otherwise spend most of its life loading libcurl's.
override LDFLAGS += -Wl,--as-needed

# make SANITIZE=1: an ASan+UBSan build in its own directory, so that it never
# mixes objects with the plain build.
ifeq ($(SANITIZE),1)
O = build/san
override CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -O1
override LDFLAGS += -fsanitize=address,undefined
else
O = build/plain
endif

CMDS = seq-init seq-lead seq-def seq-enroll seq-consent seq-timeline seq-due seq-send seq-log \
	seq-hook seq-event seq-stats seq-task
LIBSRC = $(wildcard lib/*.c lib/adapters/*.c)
LIBOBJ = $(patsubst %.c,$(O)/%.o,$(LIBSRC)) $(O)/lib/migrations.o
BINS = $(addprefix $(O)/bin/,$(CMDS))
MIGRATIONS = $(sort $(wildcard share/schema/[0-9][0-9][0-9]-*.sql))
MANS = $(wildcard man/*.[157])

all: $(BINS) bin

# bin/ always points at the last build, so tests and the demo run one path.
bin: $(BINS)
	@mkdir -p bin
	@for c in $(CMDS); do ln -sf ../$(O)/bin/$$c bin/$$c; done

$(O)/bin/%: $(O)/cmd/%.o $(O)/lib/libseq.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(O)/lib/libseq.a $(LDLIBS)

$(O)/lib/libseq.a: $(LIBOBJ)
	rm -f $@
	ar rcs $@ $(LIBOBJ)

HDRS = $(wildcard lib/*.h lib/adapters/*.h)
$(O)/%.o: %.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

# The share directory is compiled in: a change of PREFIX or SHAREDIR must
# rebuild what uses it, so it lives in a stamp that changes only then.
$(O)/sharedir.stamp: FORCE
	@mkdir -p $(@D)
	@echo '$(SHAREDIR)' | cmp -s - $@ || echo '$(SHAREDIR)' > $@
$(O)/lib/util.o: $(O)/sharedir.stamp

$(O)/lib/migrations.c: $(MIGRATIONS) tools/embed-sql
	@mkdir -p $(@D)
	sh tools/embed-sql $(MIGRATIONS) > $@.tmp && mv $@.tmp $@

$(O)/lib/migrations.o: $(O)/lib/migrations.c
	$(CC) $(CFLAGS) -c -o $@ $<

deps:
	@sh tools/deps

check: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory SANITIZE=1 all
	mandoc -Tlint -W warning $(MANS)
	@# The suite runs once against the sanitizer build: every command, every
	@# test, with ASan+UBSan aborting on the first error.
	SEQ_BIN=$(CURDIR)/build/san/bin prove --ext .bats --exec 'bats --formatter tap' test/

check-plain: all
	SEQ_BIN=$(CURDIR)/build/plain/bin prove --ext .bats --exec 'bats --formatter tap' test/

demo: deps
	@$(MAKE) --no-print-directory all
	@sh tools/demo

bench: all
	@sh bench/run

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(SHAREDIR)/schema $(DESTDIR)$(SHAREDIR)/examples \
		$(DESTDIR)$(SHAREDIR)/grafana $(DESTDIR)$(SHAREDIR)/holidays
	install -m 755 $(BINS) $(DESTDIR)$(BINDIR)
	for m in man/*.1; do install -m 644 $$m $(DESTDIR)$(MANDIR)/man1; done
	for m in man/*.5; do install -m 644 $$m $(DESTDIR)$(MANDIR)/man5; done
	for m in man/*.7; do install -m 644 $$m $(DESTDIR)$(MANDIR)/man7; done
	install -m 644 share/schema/* $(DESTDIR)$(SHAREDIR)/schema
	install -m 644 share/examples/* $(DESTDIR)$(SHAREDIR)/examples
	install -m 644 share/grafana/* $(DESTDIR)$(SHAREDIR)/grafana
	install -m 644 share/holidays/*.ics $(DESTDIR)$(SHAREDIR)/holidays
	install -m 644 share/disposable-domains.txt share/freemail-domains.txt \
		crontab.example $(DESTDIR)$(SHAREDIR)

clean:
	rm -rf build bin

FORCE:

.PHONY: all bin deps check check-plain demo bench install clean FORCE
.SECONDARY:
