# wallprof: plain Makefile, dependencies through pkg-config.
#
#   make                 build build/wallprof
#   make demo            install what is missing (root), build, profile the demo
#   make check           the same set-up, then every test
#   make SANITIZE=address,undefined check
#   make bench           benchmarks (hyperfine), see bench/README.md
#   make install PREFIX=/usr/local

PREFIX   ?= /usr/local
CC       ?= cc
CFLAGS   ?= -O2 -g
VERSION  := 0.1.0

PKGS     := libunwind-ptrace libunwind-generic libseccomp jansson libdw libelf \
            libprotobuf-c zlib
WARN     := -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
            -Wvla -Wno-unused-parameter
ifeq ($(CI),true)
WARN     += -Werror
endif

# Lazily expanded, so that `make check` can install the packages first.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

ALL_CFLAGS  = $(CFLAGS) $(WARN) -std=gnu11 -Iinclude -I$(B)/gen -D_GNU_SOURCE \
              -DWALLPROF_VERSION='"$(VERSION)"' $(PKG_CFLAGS) -MMD -MP
ALL_LDFLAGS = $(LDFLAGS)
LIBS        = $(PKG_LIBS) -liberty -lpthread -lm

ifneq ($(SANITIZE),)
ALL_CFLAGS  += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
ALL_LDFLAGS += -fsanitize=$(SANITIZE)
endif

B        := build
SRCS     := $(wildcard src/*.c src/views/*.c)
# pprof's schema, compiled by protoc-c into build/gen.
GEN_OBJ  := $(B)/gen/profile.pb-c.o
OBJS     := $(SRCS:%.c=$(B)/%.o) $(GEN_OBJ)
LIB_OBJS := $(filter-out $(B)/src/main.o,$(OBJS))

TARGET_SRCS := $(wildcard tests/targets/*.c tests/torture/*.c)
TARGETS     := $(patsubst %.c,$(B)/targets/%,$(notdir $(TARGET_SRCS))) $(B)/targets/deep-static
UNIT_SRCS   := $(wildcard tests/unit/test_*.c)
UNITS       := $(UNIT_SRCS:tests/unit/%.c=$(B)/unit/%)
BENCH_SRCS  := $(wildcard bench/*.c)
BENCH_BINS  := $(BENCH_SRCS:bench/%.c=$(B)/bench/%)

.PHONY: all deps demo check check-run test-build bench install style clean fuzz

all: $(B)/wallprof

$(B)/wallprof: $(OBJS)
	$(CC) $(ALL_LDFLAGS) -o $@ $(OBJS) $(LIBS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@pkg-config --exists $(PKGS) || { echo "wallprof: missing build dependencies; run 'make deps' (or see README.md)" >&2; exit 1; }
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/gen/profile.pb-c.c $(B)/gen/profile.pb-c.h: proto/profile.proto
	@mkdir -p $(B)/gen
	protoc-c --c_out=$(B)/gen --proto_path=proto proto/profile.proto

# Generated code is not ours to warn about.
$(GEN_OBJ): $(B)/gen/profile.pb-c.c
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -I$(B)/gen -c -o $@ $<

$(B)/src/views/pprof.o: $(B)/gen/profile.pb-c.h

# Test targets are built without sanitizers: they are the programs being
# profiled, and must behave like ordinary optimised binaries with symbols.
$(B)/targets/%: tests/targets/%.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -Wall -Wextra -D_GNU_SOURCE -o $@ $< -lpthread

# The same program linked -static: no .eh_frame_hdr, the unwinder builds
# the table itself.
$(B)/targets/deep-static: tests/targets/deep.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -static -Wall -Wextra -D_GNU_SOURCE -o $@ $< -lpthread

$(B)/targets/%: tests/torture/%.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -Wall -Wextra -D_GNU_SOURCE -o $@ $< -lpthread

$(B)/unit/%: tests/unit/%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIB_OBJS) $(LIBS)

$(B)/bench/%: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -Wall -Wextra -D_GNU_SOURCE -o $@ $< -lpthread

deps:
	@sh scripts/deps.sh

demo: deps
	@$(MAKE) --no-print-directory all $(B)/targets/demo
	$(B)/wallprof record -F 99 -o $(B)/demo.json -- $(B)/targets/demo
	$(B)/wallprof report $(B)/demo.json

test-build: all $(TARGETS) $(UNITS) $(BENCH_BINS)

check: deps
	@$(MAKE) --no-print-directory test-build
	@$(MAKE) --no-print-directory check-run

check-run:
	@sh tests/run.sh

bench: deps
	@$(MAKE) --no-print-directory test-build
	@sh bench/run.sh
	@sh bench/scale.sh

# libFuzzer harnesses (clang), the code under test built with coverage and
# ASan/UBSan into build/fuzz. Each runs FUZZ_SECONDS on the committed seed
# corpus (tests/fuzz/corpus/NAME), growing a working corpus in build/fuzz.
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_FLAGS    = -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
                -std=gnu11 -Iinclude -I$(B)/gen -D_GNU_SOURCE -DWALLPROF_VERSION='"$(VERSION)"' \
                $(PKG_CFLAGS)
FUZZ_SRCS    := $(filter-out src/main.c,$(SRCS))
FUZZ_OBJS    := $(FUZZ_SRCS:%.c=$(B)/fuzz/%.o) $(B)/fuzz/gen/profile.pb-c.o
FUZZERS      := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))

$(B)/fuzz/%.o: %.c $(B)/gen/profile.pb-c.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(B)/fuzz/gen/profile.pb-c.o: $(B)/gen/profile.pb-c.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -c -o $@ $<

$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJS) $(LIBS)

fuzz: deps
	@$(MAKE) --no-print-directory $(FUZZERS)
	@for f in $(FUZZERS); do \
		name=$${f##*/fuzz_}; mkdir -p $(B)/fuzz/corpus-$$name; \
		echo "fuzz: $$name for $(FUZZ_SECONDS) s"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=$(B)/fuzz/ \
			$(B)/fuzz/corpus-$$name tests/fuzz/corpus/$$name \
			>$(B)/fuzz/$$name.log 2>&1; rc=$$?; \
		grep -E 'stat::number_of_executed_units|ERROR|SUMMARY' $(B)/fuzz/$$name.log; \
		[ $$rc -eq 0 ] || { echo "fuzz: $$name failed (exit $$rc), see $(B)/fuzz/$$name.log"; exit 1; }; \
	done

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(B)/wallprof $(DESTDIR)$(PREFIX)/bin/wallprof
	install -m 644 docs/wallprof.1 $(DESTDIR)$(PREFIX)/share/man/man1/wallprof.1
	install -m 755 contrib/cargo/cargo-wallprof $(DESTDIR)$(PREFIX)/bin/cargo-wallprof
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions
	install -m 644 contrib/completions/wallprof.bash \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/wallprof
	install -m 644 contrib/completions/_wallprof $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_wallprof

# Formatting (.clang-format), and no module including another that
# includes it back (scripts/layers.py).
style:
	clang-format --dry-run --Werror $(SRCS) include/*.h
	python3 scripts/layers.py

clean:
	rm -rf $(B)

-include $(OBJS:.o=.d)
.SECONDARY:
