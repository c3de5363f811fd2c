# SPDX-License-Identifier: GPL-2.0
#
# The two commands: `make run` (boot the VM, load the module, show what it does)
# and `make check` (everything, with a closing "N passed, N failed" line). Both
# install what is missing on a Debian 12 host and build (or reuse) the kernel.
#
# Kbuild reads ./Kbuild, not this file, when the kernel builds the modules.

KERNEL ?= default
TESTS ?=
STRESS_SECONDS ?=
FUZZ_SEEDS ?=
FUZZ_IMAGES ?=
CRASH_SEEDS ?=
CRASH_OPS ?=
CRASH_MIN_POINTS ?=
CRASH_KILLS ?=
export KERNEL TESTS STRESS_SECONDS FUZZ_SEEDS FUZZ_IMAGES CRASH_SEEDS CRASH_OPS CRASH_MIN_POINTS CRASH_KILLS SHRINK_EXTENTS

SCRIPTS := scripts
OUT := $(CURDIR)/build

.PHONY: all check check-extended check-extended-parts bench run shell setup kernel modules lint fmt host-test clean help

all: modules

help:
	@echo "make check        set up, build, lint and run every test (closing line: N passed, N failed)"
	@echo "make check-extended  the same on the debug kernel, stress tests 5 minutes each,"
	@echo "                  10^6 differential operations against btrfs, and the mutants,"
	@echo "                  in parts (PART=k runs one; make check-extended-parts lists them)"
	@echo "make bench        extmap vs btrfs's extent_map.c timed in one boot, on the bench kernel (build/bench/)"
	@echo "make run          the demo: the 2020 race through emfs, narrated (V=1: the whole console)"
	@echo "make shell        boot the same VM with an interactive shell"
	@echo "make kernel       build (or find in the cache) the test kernel"
	@echo "make modules      build emfs.ko and the samples (also plain make, make all)"
	@echo "make lint         rustfmt --check and a CLIPPY=1 build"
	@echo "make fmt          format the Rust sources"
	@echo "make host-test    cargo test of the host crates"
	@echo "make setup        install what the host lacks (Debian packages, bindgen)"
	@echo "make clean        remove the module build and build/ (the kernel cache stays)"
	@echo "make help         this list"
	@echo "KERNEL=debug      use the KASAN/fault-injection kernel (own cache slot)"
	@echo "TESTS=emfs:module_load.sh   run only these guest tests"
	@echo "FUZZ_SEEDS=\"1 2 3\" FUZZ_IMAGES=100   emfs:fuzz.sh's seeds and images per seed (check-extended: 5 x 1000)"
	@echo "CRASH_SEEDS=\"1\" CRASH_OPS=150 CRASH_MIN_POINTS=200   emfs:crash_replay.sh (check-extended: 5 x 600, 5000)"
	@echo "CRASH_KILLS=2     QEMU kills during a write/fsync loop before the tests (check-extended: 20)"
	@echo "SHRINK_EXTENTS=50000   extents of emfs:shrinker.sh's file (KERNEL=debug: 1000000)"
	@echo "EMFS_KVM=1        use KVM instead of TCG (where KVM works)"
	@echo "V=1               make run: the whole console instead of the narration"
	@echo "RUN_TIMEOUT=600   make run: seconds before the demo VM is stopped and the run fails"

check:
	@$(SCRIPTS)/check.sh

# The extended check: the debug kernel (KASAN, lockdep, failslab, fail_page_alloc,
# fail_make_request; its own cache slot, about 25 minutes to build once), the
# stress tests at 5 minutes each, 5,000 fuzzed images (5 seeds x 1,000), the crash
# replay and QEMU kills at scale, 10^6 differential operations and the mutants, in
# parts that each end with their own closing line (make check-extended-parts).
# PART=k runs one; without it, all in turn.
check-extended:
	@$(SCRIPTS)/check_extended.sh $(or $(PART),all)

check-extended-parts:
	@$(SCRIPTS)/check_extended.sh list

# A benchmark, not a test: extmap's operations next to btrfs's, interleaved in one
# boot (BENCH_SIZES, BENCH_REPS); the report lands in build/bench/. It boots the
# bench kernel unless KERNEL was given (on the command line or in the environment).
bench:
	@KERNEL=$(if $(filter file,$(origin KERNEL)),bench,$(KERNEL)) $(SCRIPTS)/bench.sh

setup:
	@$(SCRIPTS)/setup-host.sh

kernel: setup
	@$(SCRIPTS)/kernel.sh $(KERNEL) >/dev/null

modules: kernel
	@mkdir -p $(OUT)
	@$(SCRIPTS)/module.sh "$$($(SCRIPTS)/kernel.sh $(KERNEL))"

lint: kernel
	@mkdir -p $(OUT)
	@$(SCRIPTS)/lint.sh "$$($(SCRIPTS)/kernel.sh $(KERNEL))"

fmt:
	@git ls-files '*.rs' | xargs /usr/bin/rustfmt --edition 2021

host-test:
	@if [ -d host ]; then cd host && cargo test --locked; fi

run shell: modules
	@ksrc=$$($(SCRIPTS)/kernel.sh $(KERNEL)) && \
		$(SCRIPTS)/initramfs.sh "$$ksrc" $(OUT) && \
		VERBOSE=$(if $(filter 1,$(V)),1,0) $(SCRIPTS)/vm.sh $@ "$$ksrc" $(OUT)

clean:
	@ksrc=$$($(SCRIPTS)/kernel.sh $(KERNEL) 2>/dev/null) && \
		$(MAKE) -s -C "$$ksrc" M=$(CURDIR) clean || true
	rm -rf $(OUT)
