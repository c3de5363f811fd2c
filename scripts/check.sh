#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make check`: set up the host, build (or reuse) the kernel, lint and build the
# modules, run the host tests, boot the VM and run the kselftest collections.
# Ends with "N passed, N failed, N skipped" and a non-zero exit if anything
# failed, any expected test did not run, or the guest printed a WARN/BUG/Oops.
#
#   KERNEL=default|debug   which kernel (debug adds KASAN and fault injection)
#   TESTS=coll:test,...    run only these guest tests (skips the expected list)
#   SHRINK_EXTENTS=N       emfs:shrinker.sh's file (default 50,000; debug: 1,000,000)
#
# The parts of the extended check (scripts/check_extended.sh) set:
#   PROGRAMS=coll:test,... run only these guest tests, each of which must pass whole
#   STATIC=0               no lint, compile-fail proofs, harness or host tests
#   VM=0                   no guest

source "$(dirname "$0")/common.sh"

KERNEL=${KERNEL:-default}
# The debug kernel's run asks the shrinker test for the size of the issue that
# asked for it ("[debug] shrinker: 1,000,000 extents ..." in expected.txt).
# The debug kernel runs the guest part in about 40 minutes, not 900 s.
if [ "$KERNEL" = debug ]; then
	export SHRINK_EXTENTS=${SHRINK_EXTENTS:-1000000}
	export VM_TIMEOUT=${VM_TIMEOUT:-5400}
fi
OUT=$SRCTREE/build
mkdir -p "$OUT"

passed=0 failed=0 skipped=0
result() { # result pass|fail NAME
	if [ "$1" = pass ]; then
		passed=$((passed + 1))
		echo "ok: $2"
	else
		failed=$((failed + 1))
		echo "FAILED: $2"
	fi
}
finish() {
	echo
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" = 0 ]
	exit
}

start=$(date +%s)
"$SRCTREE/scripts/setup-host.sh"
KSRC=$("$SRCTREE/scripts/kernel.sh" "$KERNEL") || { result fail "kernel build"; finish; }
log "kernel: $KSRC ($(( $(date +%s) - start ))s so far)"

STATIC=${STATIC:-1}
VM=${VM:-1}
if [ "$STATIC" = 1 ]; then
	if "$SRCTREE/scripts/lint.sh" "$KSRC"; then
		result pass "lint: rustfmt and clippy, no warnings"
	else
		result fail "lint: rustfmt and clippy, no warnings"
	fi
fi

if "$SRCTREE/scripts/module.sh" "$KSRC" >"$OUT/module-build.log" 2>&1; then
	result pass "build: modules build without warnings"
else
	cat "$OUT/module-build.log"
	result fail "build: modules build without warnings"
	finish
fi
# Kernel-stack discipline, as -Wframe-larger-than=2048 gives C: no frame over 2 KiB, no sort
# that recurses with scratch arrays on the stack (scripts/stack_check.py).
if "$SRCTREE/scripts/stack_check.py" "$SRCTREE/emfs.ko"; then
	result pass "build: no stack frame over 2048 bytes, no core slice sort in emfs.ko"
else
	result fail "build: no stack frame over 2048 bytes, no core slice sort in emfs.ko"
fi

# The static checks: compile-fail proofs, the harness's own rules, the host tests.
static_checks() {
	# Compile-fail proofs of the abstractions (selftests/compile_fail/): what must not build.
	cf_runs=0
	while read -r verdict name; do
		result "$verdict" "$name"
		cf_runs=$((cf_runs + 1))
	done < <("$SRCTREE/scripts/compile_fail.sh" "$KSRC" "$OUT" 2>"$OUT/compile-fail.log"; true)
	[ -s "$OUT/compile-fail.log" ] && cat "$OUT/compile-fail.log"
	cf_snippets=$(find "$SRCTREE/selftests/compile_fail" -name '*.rs' | wc -l)
	if [ "$cf_runs" != "$cf_snippets" ]; then
		result fail "compile-fail: $cf_runs of $cf_snippets snippets checked"
	fi

	# The harness's own rules, on crafted results and logs (scripts/harness_test.sh).
	harness_runs=0
	while read -r verdict name; do
		result "$verdict" "$name"
		harness_runs=$((harness_runs + 1))
	done < <("$SRCTREE/scripts/harness_test.sh"; true)
	harness_cases=$(grep -c '^report ' "$SRCTREE/scripts/harness_test.sh")
	[ "$harness_runs" = "$harness_cases" ] || result fail "harness: $harness_runs of $harness_cases cases reported"

	if [ -d "$SRCTREE/host" ]; then
		# Host tests count one by one: add up cargo's "test result" lines.
		if (cd "$SRCTREE/host" && cargo test --locked 2>&1) >"$OUT/host-test.log"; then
			host_rc=0
		else
			host_rc=1
		fi
		read -r hp hf < <(awk '/^test result:/ { p += $4; f += $6 } END { print p + 0, f + 0 }' "$OUT/host-test.log")
		echo "host: cargo test: $hp passed, $hf failed"
		passed=$((passed + hp)) failed=$((failed + hf))
		if [ $host_rc != 0 ] && [ "$hf" = 0 ]; then
			tail -n 30 "$OUT/host-test.log"
			result fail "host: cargo test (did not build or run)"
		elif [ "$hf" != 0 ]; then
			grep -A15 -- '---- ' "$OUT/host-test.log" | head -n 60
		fi
	fi
}
[ "$STATIC" = 1 ] && static_checks

# The guest: the tests, their results against the expected list, the kernel log.
guest_results() {
	log "booting the VM ($(( $(date +%s) - start ))s so far)"
	"$SRCTREE/scripts/initramfs.sh" "$KSRC" "$OUT" || { result fail "vm: initramfs"; finish; }
	if "$SRCTREE/scripts/vm.sh" check "$KSRC" "$OUT" "${TESTS:-${PROGRAMS:-}}"; then
		result pass "vm: guest finished and reported a pass"
	else
		echo "--- last 40 lines of the guest console ($OUT/console.log) ---"
		tail -n 40 "$OUT/console.log" 2>/dev/null || true
		echo "---"
		result fail "vm: guest finished and reported a pass (QEMU exit $(cat "$OUT/qemu.rc"))"
	fi
	log "VM done ($(( $(date +%s) - start ))s so far)"

	echo "--- guest results ($OUT/results.tap) ---"
	cat "$OUT/results.tap" 2>/dev/null || true
	echo "---"

	expected=$SRCTREE/selftests/expected.txt
	[ -n "${TESTS:-}" ] && expected=/dev/null
	if [ -n "${PROGRAMS:-}" ]; then
		# A part of the extended check: each of its programs must pass whole.
		expected=$OUT/expected-programs.txt
		tr , '\n' <<<"$PROGRAMS" | sed 's/^/selftests: /; s/:/: /2' >"$expected"
	fi
	if read -r p f s < <("$SRCTREE/scripts/guest_summary.sh" "$OUT/results.tap" "$expected" "$OUT/counts" "$KERNEL") &&
		[ -n "$s" ]; then
		passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	else
		result fail "guest results could not be parsed"
	fi

	# The guest panics on WARN (panic_on_warn), but say so explicitly, and catch
	# what does not warn (lockdep splats print before they warn, KASAN reports).
	# The patterns and the expected-message markers are lib.sh's: the kernel's own reports
	# count anywhere, extmap's and emfs's errors outside what a test provokes on purpose.
	lib=$SRCTREE/selftests/emfs/lib.sh
	kernel_reports=$(sed -n "s/^KERNEL_REPORTS='\(.*\)'$/\1/p" "$lib")
	fs_errors=$(sed -n "s/^FS_ERRORS='\(.*\)'$/\1/p" "$lib")
	problems=$(
		{
			grep -E "Kernel panic|$kernel_reports" "$OUT/console.log"
			awk -v b=selftest-expected-kmsg-begin -v e=selftest-expected-kmsg-end \
				'index($0, b) { skip = 1 } !skip { print } index($0, e) { skip = 0 }' \
				"$OUT/console.log" | grep -E "$fs_errors"
		} 2>/dev/null || true
	)
	if [ -z "$problems" ]; then
		result pass "vm: guest kernel log has no WARN/BUG/Oops"
	else
		echo "$problems" | head -n 20
		result fail "vm: guest kernel log has no WARN/BUG/Oops"
	fi
}
[ "$VM" = 1 ] && guest_results

# The extended check: mutants of the merge rules that the differential test
# must catch (scripts/mutants.sh, one VM boot each).
if [ "${MUTANTS:-0}" = 1 ]; then
	log "mutants ($(( $(date +%s) - start ))s so far)"
	mutant_runs=0
	while read -r verdict name; do
		result "$verdict" "$name"
		mutant_runs=$((mutant_runs + 1))
	done < <("$SRCTREE/scripts/mutants.sh" "$KSRC" "$OUT"; true)
	# Every mutant must report (a script that died silently must not pass); with
	# MUTANTS_ONLY, every one it names.
	if [ -n "${MUTANTS_ONLY:-}" ]; then
		mutants=$(wc -w <<<"${MUTANTS_ONLY//,/ }")
	else
		mutants=$(grep -cE '^(fuzz_|crash_|test_)?mutant [a-z-]+ ' "$SRCTREE/scripts/mutants.sh")
	fi
	if [ "$mutant_runs" != "$mutants" ]; then
		result fail "mutants: $mutant_runs of $mutants reported"
	fi
fi

log "total $(( $(date +%s) - start ))s"
finish
