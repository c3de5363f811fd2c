#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boots the test VM.
#
#   scripts/vm.sh check|run|shell|bench KSRC OUT [TESTS]
#
# check: first the crash boot (harness=crash: selftests/crash_prepare.sh
#        fsyncs files on emfs, says CRASH-READY on the second serial port and
#        keeps writing; QEMU is killed with SIGKILL a moment later), then the
#        test boot on the same disks (emfs:crash_verify.sh checks what the
#        crash left). Results (TAP) go to OUT/results.tap through the second
#        serial port, the console to OUT/console.log (OUT/crash-console.log for
#        the crash boot); exits 0 only if the guest finished and reported a
#        pass through isa-debug-exit. TESTS (comma-separated collection:test)
#        restricts the run; the crash boot runs only if TESTS is empty or
#        names emfs:crash_verify.sh. Before it, CRASH_KILLS (default 2) kill
#        boots (harness=crashkill, selftests/crash_kill.sh) on /dev/vdc and
#        /dev/vdd, each killed at a random moment of a write/fsync loop and
#        each checking the previous one; emfs:crash_kills.sh reports them.
#        First of all, if TESTS is empty or names emfs:btrfs_race.sh, a boot
#        of btrfs with the 2020 fix reverted (btrfs_bug_boot below).
# run:   the demo (selftests/demo.sh), narrated on this terminal through the
#        second serial port, the console in OUT/run-console.log; VERBOSE=1
#        (make run V=1) puts the whole console on this terminal instead.
#        Exits 0 only if every step passed, within RUN_TIMEOUT seconds.
# shell: the console on this terminal, an interactive shell.
# bench: selftests/bench.sh, CSV to OUT/bench/raw.csv (make bench).
#
# QEMU uses TCG: on these hosts KVM hangs. EMFS_KVM=1 opts into KVM on
# machines where it works. VM_TIMEOUT (seconds) bounds a check run;
# STRESS_SECONDS sets the length of the stress tests in the guest;
# SHRINK_EXTENTS the size of the shrinker test's file (emfs:shrinker.sh).

source "$(dirname "$0")/common.sh"

MODE=$1
KSRC=$2
mkdir -p "$3"
OUT=$(cd "$3" && pwd)
TESTS=${4:-}
VM_TIMEOUT=${VM_TIMEOUT:-1500}
VM_MEM=${VM_MEM:-1G}

if [ "${EMFS_KVM:-0}" = 1 ]; then
	ACCEL=(-accel kvm -cpu host)
else
	ACCEL=(-accel tcg -cpu max)
fi

for i in 0 1; do
	rm -f "$OUT/scratch$i.img"
	truncate -s 256M "$OUT/scratch$i.img"
done
# The QEMU-kill test's disks: /dev/vdc its journal and verdicts, /dev/vdd its emfs.
rm -f "$OUT/scratch2.img" "$OUT/scratch3.img"
truncate -s 8M "$OUT/scratch2.img"
truncate -s 64M "$OUT/scratch3.img"
# make bench uses /dev/vdd as the raw disk, the size of the others.
[ "$MODE" = bench ] && truncate -s 256M "$OUT/scratch3.img"
# The shrinker test's disk, /dev/vde: one file of SHRINK_EXTENTS one-block data
# extents between one-block holes (emfs-fuzz holes, the static build that goes
# into the initramfs; written here because the host writes it in a second).
SHRINK_EXTENTS=${SHRINK_EXTENTS:-50000}
rm -f "$OUT/scratch4.img"
"${HOST_STATIC_DIR:-$OUT/host-static}/x86_64-unknown-linux-gnu/release/emfs-fuzz" holes \
	--extents "$SHRINK_EXTENTS" --out "$OUT/scratch4.img" ||
	die "cannot write the shrinker test's image"

APPEND="console=ttyS0 panic=-1 oops=panic panic_on_warn=1 harness=$MODE"
# Four-level paging: TCG's "-cpu max" offers LA57, and 6.12's identify_cpu() zeroes
# the capability words (X86_FEATURE_LA57 among them) before reading them again. An
# interrupt in that window makes KASAN compute its shadow range for 4 levels and
# report the 5-level address of an irq descriptor as a wild access (seen on the
# debug kernel's 1st crash-kill boot: "BUG: KASAN: wild-memory-access in
# do_raw_spin_lock" under handle_edge_irq, called from cpu_detect). The emulator's
# race, not the module's; nothing here needs 5 levels.
APPEND+=" no5lvl"
# Under TCG a debug kernel runs tens of times slower than on hardware, and its RCU
# grace-period kthread can wait longer than the default 21 s for a host CPU while
# the devices probe at boot: the stall detector then WARNs (a panic here) about the
# emulator, not the kernel. Stalls are still reported, after 300 s; hangs are
# caught sooner by the tests' time limits.
[ "${EMFS_KVM:-0}" = 1 ] || APPEND+=" rcupdate.rcu_cpu_stall_timeout=300"
[ -n "$TESTS" ] && APPEND+=" harness_tests=$TESTS"
[ -n "${STRESS_SECONDS:-}" ] && APPEND+=" harness_stress=$STRESS_SECONDS"
[ -n "${FUZZ_IMAGES:-}" ] && APPEND+=" harness_fuzz_images=$FUZZ_IMAGES"
[ -n "${FUZZ_SEEDS:-}" ] && APPEND+=" harness_fuzz_seeds=${FUZZ_SEEDS// /,}"
[ -n "${CRASH_SEEDS:-}" ] && APPEND+=" harness_crash_seeds=${CRASH_SEEDS// /,}"
[ -n "${CRASH_OPS:-}" ] && APPEND+=" harness_crash_ops=$CRASH_OPS"
[ -n "${CRASH_MIN_POINTS:-}" ] && APPEND+=" harness_crash_min_points=$CRASH_MIN_POINTS"
CRASH_KILLS=${CRASH_KILLS:-2}
APPEND+=" harness_crash_kills=$CRASH_KILLS"
APPEND+=" harness_shrink_extents=$SHRINK_EXTENTS"
# make bench: which tree sizes, how many repetitions.
# The benchmark does not run the module's KUnit suites at every modprobe.
[ "$MODE" = bench ] && APPEND+=" kunit.enable=0"
[ -n "${BENCH_SIZES:-}" ] && APPEND+=" harness_bench_sizes=${BENCH_SIZES// /,}"
[ -n "${BENCH_REPS:-}" ] && APPEND+=" harness_bench_reps=$BENCH_REPS"
[ -n "${BENCH_PARTS:-}" ] && APPEND+=" harness_bench_parts=${BENCH_PARTS// /,}"
[ -n "${BENCH_OPS:-}" ] && APPEND+=" harness_bench_ops=${BENCH_OPS// /,}"
[ -n "${SHRINK_REPS:-}" ] && APPEND+=" harness_shrink_reps=$SHRINK_REPS"
# A mutant build (scripts/mutants.sh): the differential must find a difference.
[ -n "${HARNESS_MUTANT:-}" ] && APPEND+=" harness_mutant=$HARNESS_MUTANT"
# Anything else for the kernel's command line (e.g. VM_APPEND=preempt=full).
[ -n "${VM_APPEND:-}" ] && APPEND+=" $VM_APPEND"

QEMU=(qemu-system-x86_64 "${ACCEL[@]}" -smp 2 -m "$VM_MEM" -nodefaults -no-user-config
	-bios /usr/share/qemu/qboot.rom -display none -no-reboot
	-kernel "$KSRC/arch/x86/boot/bzImage" -initrd "$OUT/initramfs.cpio.gz"
	-drive "file=$OUT/scratch0.img,if=virtio,format=raw"
	-drive "file=$OUT/scratch1.img,if=virtio,format=raw"
	-drive "file=$OUT/scratch2.img,if=virtio,format=raw"
	-drive "file=$OUT/scratch3.img,if=virtio,format=raw"
	-drive "file=$OUT/scratch4.img,if=virtio,format=raw"
	-device isa-debug-exit,iobase=0xf4,iosize=0x04)

# killed_boot WHAT APPEND CONSOLE READY DELAY PROBLEMS: boots with APPEND (the
# console to CONSOLE, ttyS1 to OUT/killed.out), waits for READY on ttyS1, lets
# the guest run DELAY seconds more and kills QEMU with SIGKILL; fails if READY
# never came or the console matches PROBLEMS (an extended regex).
killed_boot() {
	local what=$1 append=$2 console=$3 ready=$4 delay=$5 problems=$6 pid waited=0
	rm -f "$OUT/killed.out" "$console"
	"${QEMU[@]}" -append "$append" \
		-serial "file:$console" -serial "file:$OUT/killed.out" </dev/null &
	pid=$!
	until grep -q "$ready" "$OUT/killed.out" 2>/dev/null; do
		if ! kill -0 $pid 2>/dev/null || [ $waited -ge 3000 ]; then
			kill -9 $pid 2>/dev/null
			wait $pid 2>/dev/null || true
			log "harness error: $what never got ready (see $console and $OUT/killed.out)"
			return 1
		fi
		sleep 0.1
		waited=$((waited + 1))
	done
	sleep "$delay"
	kill -9 $pid
	wait $pid 2>/dev/null || true
	if grep -E "$problems" "$console"; then
		log "harness error: $what: the kernel reported a problem"
		return 1
	fi
}

# The crash boot (selftests/crash_prepare.sh): killed 0.1 to 0.9 s after its
# fsyncs, while it writes without fsync.
crash_boot() {
	killed_boot "the crash boot" "${APPEND/harness=check/harness=crash}" \
		"$OUT/crash-console.log" CRASH-READY "0.$((RANDOM % 9 + 1))" \
		'WARNING:|BUG:|Oops|KASAN|Call Trace' &&
		log "crash boot: QEMU killed after the guest's fsyncs"
}

# One boot of the QEMU-kill test (selftests/crash_kill.sh): it checks what the
# previous kill left, starts a write/fsync loop and says KILL-READY; QEMU is
# killed 0 to 3 s later, in the middle of whatever the loop was doing.
kill_boot() {
	killed_boot "kill boot $1" "${APPEND/harness=check/harness=crashkill} harness_kill=$1" \
		"$OUT/kill-console-$1.log" KILL-READY "$((RANDOM % 3)).$((RANDOM % 10))" \
		'WARNING:|BUG:|Oops|KASAN'
}

# btrfs with the 2020 fix reverted, in a boot of its own (harness=btrfsbug,
# race_repro -B): the kernel must stop at the BUG_ON in btrfs_do_readpage(), and
# nothing before it. The verdict reaches the test boot as harness_btrfs_bug=
# (emfs:btrfs_race.sh): "bug", "none" (the sequence ended without a report) or
# "other" (the boot ended any other way). Uses /dev/vda: before the crash boot.
btrfs_bug_boot() {
	local console=$OUT/btrfs-bug-console.log verdict first
	rm -f "$console"
	timeout -k 10 900 "${QEMU[@]}" -append "${APPEND/harness=$MODE/harness=btrfsbug}" \
		-serial "file:$console" -serial null </dev/null || true
	first=$(grep -m 1 -E 'WARNING:|BUG:|kernel BUG|Oops|KASAN' "$console" || true)
	if [[ $first == *"kernel BUG at fs/btrfs/extent_io.c"* ]] &&
		grep -q 'RIP: .*btrfs_do_readpage' "$console" &&
		grep -q '^merge_paused=1' "$console"; then
		verdict=bug
	elif grep -q 'the sequence ended without a kernel BUG' "$console"; then
		verdict=none
	else
		verdict=other
	fi
	log "btrfs with the 2020 fix reverted: $verdict (console: $console)"
	APPEND+=" harness_btrfs_bug=$verdict"
}

case "$MODE" in
check)
	rm -f "$OUT/results.tap" "$OUT/console.log"
	if [ -z "$TESTS" ] || [[ ",$TESTS," == *",emfs:btrfs_race.sh,"* ]]; then
		btrfs_bug_boot
	fi
	if [ -z "$TESTS" ] || [[ ",$TESTS," == *",emfs:crash_kills.sh,"* ]]; then
		for k in $(seq 1 "$CRASH_KILLS"); do
			kill_boot "$k" || exit 1
		done
		log "kill boots: $CRASH_KILLS, each killed during its write/fsync loop"
	fi
	if [ -z "$TESTS" ] || [[ ",$TESTS," == *",emfs:crash_verify.sh,"* ]]; then
		crash_boot || exit 1
	fi
	set +e
	timeout -k 10 "$VM_TIMEOUT" "${QEMU[@]}" -append "$APPEND" \
		-serial "file:$OUT/console.log" -serial "file:$OUT/results.tap" </dev/null
	rc=$?
	set -e
	echo "$rc" >"$OUT/qemu.rc"
	case $rc in
	33) exit 0 ;;
	35) log "the guest reported failures" ;;
	124 | 137) log "harness error: the VM did not finish within ${VM_TIMEOUT}s" ;;
	0) log "harness error: the guest rebooted (kernel panic, WARN or Oops)" ;;
	*) log "harness error: QEMU exited with $rc" ;;
	esac
	exit 1
	;;
bench)
	# Results (CSV) through the second serial port into OUT/bench/raw.csv; its
	# "# " progress lines are shown as they come.
	mkdir -p "$OUT/bench"
	rm -f "$OUT/bench/raw.csv"
	touch "$OUT/bench/raw.csv"
	set +e
	timeout -k 10 "$VM_TIMEOUT" "${QEMU[@]}" -append "$APPEND" \
		-serial "file:$OUT/bench/console.log" -serial "file:$OUT/bench/raw.csv" </dev/null &
	qemu=$!
	tail -n +1 -f --pid=$qemu "$OUT/bench/raw.csv" | grep --line-buffered '^# ' >&2
	wait $qemu
	rc=$?
	set -e
	[ $rc = 33 ] || { log "QEMU exited with $rc (console: $OUT/bench/console.log)"; exit 1; }
	;;
run)
	# btrfs without the 2020 fix first, in a boot of its own; its timeline and the
	# kernel's report are shown here, its verdict goes to the demo.
	log "btrfs with the 2020 fix reverted, in a boot of its own (TCG: about a minute)"
	btrfs_bug_boot
	grep -E '^ +\+[0-9]+ ms|kernel BUG at|RIP: 0010' "$OUT/btrfs-bug-console.log" |
		sed 's/^\[ *[0-9.]*\] /  /' | awk '!/RIP/ || !rip++' | head -n 9
	set +e
	if [ "${VERBOSE:-0}" = 1 ]; then
		timeout -k 10 "${RUN_TIMEOUT:-600}" "${QEMU[@]}" -append "$APPEND harness_verbose=1" \
			-serial mon:stdio
	else
		log "booting the demo VM (TCG: about a minute); the console goes to $OUT/run-console.log"
		timeout -k 10 "${RUN_TIMEOUT:-600}" "${QEMU[@]}" -append "$APPEND quiet" \
			-serial "file:$OUT/run-console.log" -serial stdio </dev/null
	fi
	rc=$?
	case $rc in
	33) exit 0 ;;
	35) log "a step of the demo failed (the console: $OUT/run-console.log)" ;;
	124 | 137) log "the demo did not finish within ${RUN_TIMEOUT:-600}s (the console: $OUT/run-console.log)" ;;
	*) log "QEMU exited with $rc: kernel panic, WARN or Oops? (the console: $OUT/run-console.log)" ;;
	esac
	exit 1
	;;
shell)
	# Leaving the shell powers the guest off (QEMU exits 0).
	set +e
	"${QEMU[@]}" -append "$APPEND" -serial mon:stdio
	rc=$?
	case $rc in 0 | 33 | 35) exit 0 ;; *) log "QEMU exited with $rc"; exit 1 ;; esac
	;;
*) die "unknown mode '$MODE'" ;;
esac
