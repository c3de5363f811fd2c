#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# /init of the test VM. Mode from the kernel command line: harness=check runs
# the kselftest collections and writes their TAP to ttyS1; harness=crash
# prepares the crash test and waits to be killed; harness=run narrates the
# demo on ttyS1 (on the console with harness_verbose=1); harness=shell gives a shell on the console. The
# verdict leaves through isa-debug-exit: 0x10 (QEMU exits 33) for a run whose
# tests all passed, 0x11 (35) for one with failures.

export PATH=/usr/sbin:/usr/bin:/sbin:/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp
mkdir -p /mnt /run
# runner.sh writes nested output to /dev/stdout; devtmpfs has none of these.
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
hostname emfs-vm

verdict() {
	printf "\\$(printf '%03o' "$1")" | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
	# Not reached when isa-debug-exit is present.
	poweroff -f
}

# The kernel hands the parameters it does not know to init as arguments, and
# no5lvl is one of them (the decompressor reads it, nothing registers it): they
# are not this script's, and would reach run_kselftest.sh as options below.
set --
mode=$(sed -n 's/.*harness=\([a-z]*\).*/\1/p' /proc/cmdline)
stress=$(sed -n 's/.*harness_stress=\([0-9]*\).*/\1/p' /proc/cmdline)
[ -n "$stress" ] && export STRESS_SECONDS=$stress
fuzz_images=$(sed -n 's/.*harness_fuzz_images=\([0-9]*\).*/\1/p' /proc/cmdline)
[ -n "$fuzz_images" ] && export FUZZ_IMAGES=$fuzz_images
fuzz_seeds=$(sed -n 's/.*harness_fuzz_seeds=\([0-9,]*\).*/\1/p' /proc/cmdline)
[ -n "$fuzz_seeds" ] && export FUZZ_SEEDS="$(echo "$fuzz_seeds" | tr ',' ' ')"
crash_seeds=$(sed -n 's/.*harness_crash_seeds=\([0-9,]*\).*/\1/p' /proc/cmdline)
[ -n "$crash_seeds" ] && export CRASH_SEEDS="$(echo "$crash_seeds" | tr ',' ' ')"
crash_ops=$(sed -n 's/.*harness_crash_ops=\([0-9]*\).*/\1/p' /proc/cmdline)
[ -n "$crash_ops" ] && export CRASH_OPS=$crash_ops
crash_min=$(sed -n 's/.*harness_crash_min_points=\([0-9]*\).*/\1/p' /proc/cmdline)
[ -n "$crash_min" ] && export CRASH_MIN_POINTS=$crash_min
crash_kills=$(sed -n 's/.*harness_crash_kills=\([0-9]*\).*/\1/p' /proc/cmdline)
[ -n "$crash_kills" ] && export CRASH_KILLS=$crash_kills
shrink_extents=$(sed -n 's/.*harness_shrink_extents=\([0-9]*\).*/\1/p' /proc/cmdline)
[ -n "$shrink_extents" ] && export SHRINK_EXTENTS=$shrink_extents

case "$mode" in
check)
	stty -F /dev/ttyS1 raw -echo
	exec 3>/dev/ttyS1
	only=$(sed -n 's/.*harness_tests=\([^ ]*\).*/\1/p' /proc/cmdline)
	cd /ksft || verdict 17
	if [ -n "$only" ]; then
		set -- $(echo "$only" | tr ',' ' ' | sed 's/\([^ ]*\)/-t \1/g')
	fi
	# Longer stress runs need more than the collections' 300 s per test; the
	# debug kernel is several times slower too. So does the shrinker's walk of
	# a million extents (about 6 minutes on the debug kernel).
	limit=0
	if [ -n "$stress" ] && [ "$stress" -gt 60 ]; then
		limit=$((stress * 4 + 600))
	fi
	if [ "${SHRINK_EXTENTS:-0}" -ge 1000000 ] && [ $limit -lt 1800 ]; then
		limit=1800
	fi
	[ $limit -gt 0 ] && set -- "$@" -o $limit
	# Through a pipe: the runner reopens /dev/stdout for nested output, and a
	# reopened regular file would be written from offset 0 again.
	./run_kselftest.sh "$@" 2>&1 | tee /tmp/results.tap >&3
	exec 3>&-
	if grep -q '^not ok' /tmp/results.tap; then
		verdict 17
	fi
	verdict 16
	;;
run)
	# The narration on ttyS1 (the host's terminal), the kernel's console on
	# ttyS0 (a file), unless make run V=1 asked for everything on the console.
	if grep -q 'harness_verbose=1' /proc/cmdline; then
		/ksft/demo.sh
	else
		/ksft/demo.sh >/dev/ttyS1 2>&1
	fi && verdict 16
	verdict 17
	;;
bench)
	stty -F /dev/ttyS1 raw -echo
	/ksft/bench.sh >/dev/ttyS1 2>&1
	verdict 16
	;;
btrfsbug)
	# btrfs with the 2020 fix reverted (race_repro -B): the host expects the
	# kernel's BUG in btrfs_do_readpage() to end this boot (oops=panic).
	{
		modprobe btrfs &&
			mkfs.btrfs -q -f /dev/vda >/dev/null 2>&1 &&
			mkdir -p /mnt/btrfs &&
			mount -t btrfs /dev/vda /mnt/btrfs &&
			/ksft/emfs/race_repro -t -B /mnt/btrfs/race
	} >/dev/console 2>&1
	echo "btrfsbug: the sequence ended without a kernel BUG" >/dev/console
	verdict 17
	;;
crashkill)
	# The host kills QEMU at a random moment after KILL-READY on ttyS1.
	stty -F /dev/ttyS1 raw -echo
	/ksft/crash_kill.sh
	;;
crash)
	# The host kills QEMU once this said CRASH-READY on ttyS1.
	stty -F /dev/ttyS1 raw -echo
	/ksft/crash_prepare.sh >/dev/ttyS1
	echo "crash_prepare.sh ended early" >/dev/ttyS1
	sleep 3600
	;;
*)
	echo "emfs test VM: /ksft holds the tests (./run_kselftest.sh), /lib/modules the modules."
	echo "Leave with 'poweroff -f'."
	setsid cttyhack sh -l
	poweroff -f
	;;
esac
