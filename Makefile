# dirtyfs: GNU make.
#
#   make           build/dirtyfs
#   make test      unit tests (cmocka, under ASan/UBSan), then the pytest
#                  integration suite against build/dirtyfs and again against
#                  build/asan/dirtyfs
#   make install   PREFIX=/usr/local, DESTDIR honoured
#   make demo      mount, write, show statistics, unmount (scripts/demo.sh)
#   make lint      cppcheck, the -Werror build, clang-format --dry-run
#   make format    clang-format -i on every .c and .h
#   make clean
#
# Missing packages: as root, `make` installs them with scripts/deps.sh; as
# anyone else it prints the apt-get line to run and stops.

VERSION := 0.1.0
PREFIX ?= /usr/local
DESTDIR ?=
BUILD := build
PYTHON := /usr/bin/python3

PKGS := fuse3 liburing libcgroup
# Deferred (=): evaluated when a recipe runs, after the deps check that every
# object waits for, so a first build on a fresh machine sees the packages it
# just installed.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS = $(shell pkg-config --libs $(PKGS))
CMOCKA_CFLAGS = $(shell pkg-config --cflags cmocka)
CMOCKA_LIBS = $(shell pkg-config --libs cmocka)

WARN := -Wall -Wextra -Werror
COMMON_CFLAGS = -std=gnu11 -g $(WARN) -D_GNU_SOURCE \
	-DDIRTYFS_VERSION=\"$(VERSION)\" -pthread -MMD -MP $(PKG_CFLAGS)
OPT_CFLAGS := -O2
# -O1 keeps ASan's reports readable at a tolerable speed.
SAN_CFLAGS := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer
# The sanitised daemon is the test build: it also carries fault injection
# (writeback/fault.h), which the optimised daemon never has.
TEST_CFLAGS := -DDIRTYFS_FAULT_INJECTION
# What each build flavour compiles with (tsan's is below): its objects'
# rule and its flags stamp both take it from here.
CFLAGS_obj = $(COMMON_CFLAGS) $(OPT_CFLAGS)
CFLAGS_asan = $(COMMON_CFLAGS) $(SAN_CFLAGS) $(TEST_CFLAGS)

SRCS := $(sort $(wildcard fusefs/*.c cache/*.c writeback/*.c cgroup/*.c))
HDRS := $(sort $(wildcard fusefs/*.h cache/*.h writeback/*.h cgroup/*.h))
UNIT_SRCS := $(sort $(wildcard tests/unit/*.c))

BIN := $(BUILD)/dirtyfs
ASAN_BIN := $(BUILD)/asan/dirtyfs
OBJS := $(SRCS:%.c=$(BUILD)/obj/%.o)
ASAN_OBJS := $(SRCS:%.c=$(BUILD)/asan/%.o)
UNIT_TESTS := $(BUILD)/tests/test_options $(BUILD)/tests/test_pagetree \
	$(BUILD)/tests/test_cgroup_procfs $(BUILD)/tests/test_pacing \
	$(BUILD)/tests/test_memlimit $(BUILD)/tests/test_ctlname \
	$(BUILD)/tests/test_setxattr_in
# Exit status of a unit test that skips (no such feature on this machine).
SKIP_STATUS := 77

# The integration suite runs against both daemons; the sanitised run leaves
# out the tests marked optimised (too slow under ASan) and goes last, so
# that pytest's summary is the last line of `make test`.
PYTEST := $(PYTHON) -m pytest -p no:cacheprovider -ra tests/integration
TEST_TIMEOUT_S := 1200

.PHONY: all test unit-test integration-test install demo lint format clean \
	deps test-deps FORCE

all: $(BIN)

# --- dependencies ----------------------------------------------------------

HAVE_BUILD_DEPS = pkg-config --exists $(PKGS) && \
	echo '\#include <uthash.h>' | $(CC) -E -x c - >/dev/null 2>&1
HAVE_TEST_DEPS = pkg-config --exists cmocka && \
	$(PYTHON) -c 'import pytest' 2>/dev/null && \
	command -v getfattr >/dev/null && command -v fusermount3 >/dev/null && \
	command -v strace >/dev/null

# deps.sh installs what is missing as root, else prints the apt-get line and
# fails; the second check catches a package that installed but is unusable.
deps:
	@$(HAVE_BUILD_DEPS) || scripts/deps.sh
	@$(HAVE_BUILD_DEPS) || { echo "build dependencies still missing" >&2; exit 1; }

test-deps: deps
	@$(HAVE_TEST_DEPS) || scripts/deps.sh
	@$(HAVE_TEST_DEPS) || { echo "test dependencies still missing" >&2; exit 1; }

# --- build -----------------------------------------------------------------

$(BIN): $(OBJS)
	$(CC) $(OPT_CFLAGS) -pthread -o $@ $^ $(PKG_LIBS)

$(ASAN_BIN): $(ASAN_OBJS)
	$(CC) $(SAN_CFLAGS) -pthread -o $@ $^ $(PKG_LIBS)

# A flavour's objects depend on its stamp, which holds the compiler and
# flags and is rewritten only when they change: then the objects rebuild.
$(BUILD)/obj/.cflags $(BUILD)/asan/.cflags $(BUILD)/tsan/.cflags: \
	$(BUILD)/%/.cflags: FORCE | deps
	@mkdir -p $(@D)
	@flags='$(CC) $(CFLAGS_$*)'; \
		[ "$$flags" = "$$(cat $@ 2>/dev/null)" ] || \
		printf '%s\n' "$$flags" > $@

FORCE:

$(BUILD)/obj/%.o: %.c $(BUILD)/obj/.cflags | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_obj) -c -o $@ $<

$(BUILD)/asan/%.o: %.c $(BUILD)/asan/.cflags | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_asan) $(EXTRA_CFLAGS) -c -o $@ $<

# Unit tests are built with the sanitisers too: a leak or an out-of-bounds
# access in the code under test fails them.
$(BUILD)/asan/tests/%.o: EXTRA_CFLAGS = $(CMOCKA_CFLAGS)

$(BUILD)/tests/test_options: $(BUILD)/asan/tests/unit/test_options.o \
	$(BUILD)/asan/fusefs/options.o
$(BUILD)/tests/test_pagetree: $(BUILD)/asan/tests/unit/test_pagetree.o \
	$(BUILD)/asan/cache/pagetree.o
$(BUILD)/tests/test_cgroup_procfs: \
	$(BUILD)/asan/tests/unit/test_cgroup_procfs.o \
	$(BUILD)/asan/cgroup/procfs.o
$(BUILD)/tests/test_pacing: $(BUILD)/asan/tests/unit/test_pacing.o \
	$(BUILD)/asan/cgroup/pacing.o
$(BUILD)/tests/test_memlimit: $(BUILD)/asan/tests/unit/test_memlimit.o \
	$(BUILD)/asan/cgroup/memlimit.o $(BUILD)/asan/cgroup/procfs.o
$(BUILD)/tests/test_ctlname: $(BUILD)/asan/tests/unit/test_ctlname.o \
	$(BUILD)/asan/fusefs/ctlname.o $(BUILD)/asan/cgroup/procfs.o
$(BUILD)/tests/test_setxattr_in: $(BUILD)/asan/tests/unit/test_setxattr_in.o \
	$(BUILD)/asan/fusefs/setxattr_in.o

$(UNIT_TESTS): | test-deps
	@mkdir -p $(@D)
	$(CC) $(SAN_CFLAGS) -pthread -o $@ $^ $(CMOCKA_LIBS) $(PKG_LIBS)

-include $(OBJS:.o=.d) $(ASAN_OBJS:.o=.d) \
	$(UNIT_SRCS:%.c=$(BUILD)/asan/%.d)

# --- tests -----------------------------------------------------------------

test: fuzz-smoke integration-test

# A test that exits SKIP_STATUS printed why; under CI=true it fails itself.
unit-test: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do echo "== $$t"; $$t; rc=$$?; \
		[ $$rc -eq 0 ] || [ $$rc -eq $(SKIP_STATUS) ] || exit 1; done

# timeout(1) bounds a hung mount; the harness itself bounds every wait.
integration-test: unit-test $(BIN) $(ASAN_BIN) | test-deps
	DIRTYFS_BIN=$(abspath $(BIN)) timeout $(TEST_TIMEOUT_S) \
		$(PYTEST) -q -m 'not fault_injection'
	DIRTYFS_BIN=$(abspath $(ASAN_BIN)) timeout $(TEST_TIMEOUT_S) \
		$(PYTEST) -m 'not optimised'

# --- install, demo ---------------------------------------------------------

# mount -t fuse.dirtyfs runs mount.fuse3 (package fuse3), which starts
# "dirtyfs" through /bin/sh. mount(8) clears PATH first, so the shell looks
# in its default path, which has /usr/local/sbin and /usr/sbin: the default
# PREFIX and PREFIX=/usr work as they are (see README.md).
install: $(BIN)
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/sbin/dirtyfs
	install -D -m 0644 man/dirtyfs.8 \
		$(DESTDIR)$(PREFIX)/share/man/man8/dirtyfs.8

demo: $(BIN)
	scripts/demo.sh $(BIN)

# --- style -----------------------------------------------------------------

FORMAT_FILES = $(SRCS) $(HDRS) $(UNIT_SRCS) $(wildcard tests/*.h)

format:
	clang-format -i $(FORMAT_FILES)

# System headers stay out (slow, noisy) except uthash.h, whose macros
# cppcheck must expand. readdir(3) is thread-safe per DIR in glibc, and
# readdir_r(3), which cppcheck suggests, is deprecated.
CPPCHECK_FLAGS := --error-exitcode=1 --quiet --std=c11 \
	--enable=warning,performance,portability --inline-suppr \
	--library=posix --include=/usr/include/uthash.h \
	--suppress=missingIncludeSystem --suppress=readdirCalled \
	-D_GNU_SOURCE -DFUSE_USE_VERSION=314 -I/usr/include/fuse3

lint: $(BIN)
	cppcheck $(CPPCHECK_FLAGS) $(SRCS) $(UNIT_SRCS)
	clang-format --dry-run --Werror $(FORMAT_FILES)

clean:
	rm -rf $(BUILD)

# --- soak and ThreadSanitizer ----------------------------------------------

# make soak DURATION=SECONDS: the soak test (tests/integration/test_soak.py)
# for that long against the optimised daemon; make test runs it shortly.
DURATION ?= 600
TSAN_BIN := $(BUILD)/tsan/dirtyfs
TSAN_OBJS := $(SRCS:%.c=$(BUILD)/tsan/%.o)
# A test build, as the sanitised one: with fault injection, so that the
# tests that inject faults race-check those paths too.
TSAN_CFLAGS := -O1 -fsanitize=thread -fno-omit-frame-pointer
CFLAGS_tsan = $(COMMON_CFLAGS) $(TSAN_CFLAGS) $(TEST_CFLAGS)

.PHONY: soak tsan
soak: $(BIN) | test-deps
	SOAK_SECONDS=$(DURATION) DIRTYFS_BIN=$(abspath $(BIN)) \
		$(PYTEST) -q tests/integration/test_soak.py

$(BUILD)/tsan/%.o: %.c $(BUILD)/tsan/.cflags | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_tsan) -c -o $@ $<

$(TSAN_BIN): $(TSAN_OBJS)
	$(CC) $(TSAN_CFLAGS) -pthread -o $@ $^ $(PKG_LIBS)

# The soak and the data, cgroup and fsx tests under ThreadSanitizer: a race
# report in the daemon's output fails the test that provoked it.
tsan: $(TSAN_BIN) | test-deps
	SOAK_SECONDS=30 DIRTYFS_BIN=$(abspath $(TSAN_BIN)) DIRTYFS_SANITIZED=1 \
		TSAN_OPTIONS="halt_on_error=0 suppressions=$(abspath tests/tsan.supp)" \
		$(PYTHON) -m pytest -p no:cacheprovider -ra -q \
		tests/integration/test_soak.py tests/integration/test_data.py \
		tests/integration/test_cgroups.py tests/integration/test_fsx.py

# --- benchmark -------------------------------------------------------------

# The benchmark suite (bench/README.md): as root, under 15 minutes; writes
# bench/results/.
.PHONY: bench
bench: $(BIN)
	bench/run.sh

# --- fuzzing ---------------------------------------------------------------

# libFuzzer harnesses (tests/fuzz/), one per parser, each linked with only
# the pure sources it drives, under ASan and UBSan. `make fuzz` runs each
# for FUZZ_SECONDS over its seed corpus (tests/fuzz/corpus/HARNESS, copied
# to build/fuzz/corpus/ where finds accumulate) and fails on a crash, whose
# input it leaves in build/fuzz/. `make test` runs each for
# FUZZ_SMOKE_SECONDS first (fuzz-smoke). Without clang's libFuzzer
# (Debian: clang libclang-rt-14-dev) fuzz-smoke fails under CI=true and
# otherwise skips with a message.
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 10
FUZZ_CC := clang
FUZZ_CFLAGS := -std=gnu11 -g -O1 $(WARN) -D_GNU_SOURCE -pthread \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/*.c tests/fuzz/*.h))
FUZZ_BINS := $(addprefix $(BUILD)/fuzz/fuzz_,size_limit options \
	proc_cgroup cgpath ctlname setxattr_in)
FORMAT_FILES += $(FUZZ_SRCS)
FUZZ_MISSING := clang with libFuzzer is missing \
	(Debian: clang libclang-rt-14-dev)
HAVE_FUZZER = mkdir -p $(BUILD)/fuzz && \
	echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' | \
	$(FUZZ_CC) -fsanitize=fuzzer -x c -o $(BUILD)/fuzz/probe - >/dev/null 2>&1

.PHONY: fuzz fuzz-smoke fuzz-check

$(BUILD)/fuzz/fuzz_size_limit: tests/fuzz/fuzz_size_limit.c fusefs/options.c
$(BUILD)/fuzz/fuzz_options: tests/fuzz/fuzz_options.c fusefs/options.c
$(BUILD)/fuzz/fuzz_proc_cgroup: tests/fuzz/fuzz_proc_cgroup.c \
	cgroup/procfs.c
$(BUILD)/fuzz/fuzz_cgpath: tests/fuzz/fuzz_cgpath.c cgroup/procfs.c
$(BUILD)/fuzz/fuzz_ctlname: tests/fuzz/fuzz_ctlname.c fusefs/ctlname.c \
	cgroup/procfs.c
$(BUILD)/fuzz/fuzz_setxattr_in: tests/fuzz/fuzz_setxattr_in.c \
	fusefs/setxattr_in.c tests/setxattr_req.h

$(FUZZ_BINS): tests/fuzz/fuzz.h $(HDRS) | deps fuzz-check
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^)

# deps.sh installs clang as root, or prints the apt-get line.
fuzz-check:
	@$(HAVE_FUZZER) || scripts/deps.sh
	@$(HAVE_FUZZER) || { echo "$(FUZZ_MISSING)" >&2; exit 1; }

fuzz: $(FUZZ_BINS)
	tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

fuzz-smoke: | deps
	@if $(HAVE_FUZZER) || { scripts/deps.sh && $(HAVE_FUZZER); }; then \
		$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS); \
	elif [ "$$CI" = true ]; then \
		echo "fuzz-smoke: FAILED: $(FUZZ_MISSING)" >&2; exit 1; \
	else \
		echo "fuzz-smoke: SKIPPED: $(FUZZ_MISSING)"; \
	fi
