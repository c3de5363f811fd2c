#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make check-extended`: the extended check in parts, each a `scripts/check.sh`
# run of its own on the debug kernel (KASAN, lockdep, fault injection) that
# ends with its own "N passed, N failed" line and fails alone. Together they
# run everything the extended check runs: the static checks and every guest
# test, the stress tests at 300 s, 10^6 differential operations, the crash
# replay over 5 seeds x 600 operations, 20 QEMU kills, 5,000 fuzzed images
# and the mutants. Each part is meant to finish within 45 minutes on 2 cores
# once the debug kernel is built (Documentation/testing.rst has the measured
# times).
#
#   scripts/check_extended.sh [PART]    PART: a number, or "all" (default)
#   scripts/check_extended.sh list      the parts, one a line
#
# "all" runs the parts in turn and closes with the sum of their lines.

source "$(dirname "$0")/common.sh"

# The parts: a name, then the environment of its check.sh run. PROGRAMS lists
# the guest tests it runs (each must pass whole), STATIC=0 leaves out lint,
# the compile-fail proofs, the harness and host tests, VM=0 the guest.
part() {
	case $1 in
	1) echo "functional: static checks, the guest tests that are neither long nor stress, at extended scale"
	   echo "STATIC=1 PROGRAMS=emfs:module_load.sh,emfs:extmap_kunit.sh,emfs:extmap_counters.sh,emfs:tools.sh,emfs:read.sh,emfs:writeback.sh,emfs:race.sh,emfs:short_copy.sh,emfs:btrfs_race.sh,emfs:failslab.sh,emfs:io_errors.sh,btrfs_upstream:sanity.sh" ;;
	2) echo "write and compare: write (fsx_lite 3 x 30,000 operations), the btrfs comparison, ENOSPC, the namespace"
	   echo "STATIC=0 PROGRAMS=emfs:write.sh,emfs:btrfs_compare.sh,emfs:enospc.sh,emfs:tree.sh" ;;
	3) echo "stress: race and read stress 300 s each, the shrinker at 10^6 extents"
	   echo "STATIC=0 PROGRAMS=emfs:race_stress.sh,emfs:read_stress.sh,emfs:shrinker.sh" ;;
	4) echo "crash: the crash boot, the replay over 5 seeds x 600 operations, 20 QEMU kills"
	   echo "STATIC=0 PROGRAMS=emfs:crash_verify.sh,emfs:crash_replay.sh,emfs:crash_kills.sh" ;;
	5) echo "fuzz: 5 seeds x 1,000 fuzzed images"
	   echo "STATIC=0 PROGRAMS=emfs:fuzz.sh" ;;
	6) echo "differential: 20 + 500 seeds of 2,000 operations against btrfs's extent_map.c"
	   echo "STATIC=0 PROGRAMS=emfs:extmap_diff.sh" ;;
	7) echo "merge-rule mutants: each built into its own emfs.ko and caught by extmap-diff, race.sh or fuzz.sh"
	   echo "STATIC=0 VM=0 MUTANTS=1 MUTANTS_ONLY=refcount,refcount-race,modified-list,extent-count" ;;
	8) echo "data mutants: crash consistency and user data, each caught by the test that must catch it"
	   echo "STATIC=0 VM=0 MUTANTS=1 MUTANTS_ONLY=no-flush,no-fua,fsync-no-commit,short-copy,metadata-bound,punch-no-room" ;;
	*) return 1 ;;
	esac
}
PARTS=8

# The mutants the parts name, against those scripts/mutants.sh defines: a mutant
# no part names would never run.
check_mutant_parts() {
	local named defined
	named=$(for k in $(seq 1 $PARTS); do part "$k" | sed -n 's/.*MUTANTS_ONLY=\([^ ]*\).*/\1/p'; done |
		tr ',' '\n' | sort)
	defined=$(sed -nE 's/^(fuzz_|crash_|test_)?mutant ([a-z-]+) .*/\2/p' "$SRCTREE/scripts/mutants.sh" | sort)
	[ "$named" = "$defined" ] ||
		die "the parts' mutants are not scripts/mutants.sh's: $(diff <(echo "$named") <(echo "$defined") | grep '^[<>]' | tr '\n' ' ')"
}

run_part() {
	local k=$1 env
	check_mutant_parts
	env=$(part "$k" | sed -n 2p)
	log "check-extended part $k/$PARTS: $(part "$k" | sed -n 1p)"
	# The scale of the extended check, for every part (the guest tests read it
	# from the kernel command line).
	env KERNEL=debug STRESS_SECONDS="${STRESS_SECONDS:-300}" VM_TIMEOUT="${VM_TIMEOUT:-3000}" \
		FUZZ_SEEDS="${FUZZ_SEEDS:-1 2 3 4 5}" FUZZ_IMAGES="${FUZZ_IMAGES:-1000}" \
		CRASH_SEEDS="${CRASH_SEEDS:-1 2 3 4 5}" CRASH_OPS="${CRASH_OPS:-600}" \
		CRASH_MIN_POINTS="${CRASH_MIN_POINTS:-5000}" CRASH_KILLS="${CRASH_KILLS:-20}" \
		$env "$SRCTREE/scripts/check.sh"
}

case ${1:-all} in
list)
	for k in $(seq 1 $PARTS); do
		echo "PART=$k  $(part "$k" | sed -n 1p)"
	done
	;;
all)
	passed=0 failed=0 skipped=0 rc=0
	for k in $(seq 1 $PARTS); do
		out=$(mktemp)
		run_part "$k" | tee "$out" || rc=1
		read -r p _ f _ s _ < <(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
		passed=$((passed + ${p:-0})) failed=$((failed + ${f:-1})) skipped=$((skipped + ${s:-0}))
		rm -f "$out"
	done
	echo
	echo "check-extended, all $PARTS parts:"
	echo "$passed passed, $failed failed, $skipped skipped"
	exit $rc
	;;
*)
	part "$1" >/dev/null || die "no part $1: see 'make check-extended-parts'"
	run_part "$1"
	;;
esac
