#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Crash consistency at every flush point: emfs on a dm-log-writes target
# (data on /dev/vdb, the log on /dev/vda) runs crash_workload, which marks the
# log after every promise (an fsync's content, a directory fsync's names).
# emfs-replay then rebuilds /dev/vdb entry by entry and, at every flush, every
# FUA write and every mark, checks: fsck clean (orphans allowed), the device
# (read-only) mounts, every promised file has its promised content.
#
#   CRASH_SEEDS (default "1") x CRASH_OPS (default 150) operations;
#   CRASH_MIN_POINTS (default 200): fewer points checked in all is a failure.

. "$(dirname "$0")/lib.sh"

data=/dev/vdb
logdev=/dev/vda
mnt=/mnt/emfs
dm=emfslog
seeds=${CRASH_SEEDS:-1}
ops=${CRASH_OPS:-150}
min_points=${CRASH_MIN_POINTS:-200}
nseeds=$(echo $seeds | wc -w)
# The file system's 32 MiB at the start of the data device.
sectors=65536

# dmsetup without udev (the initramfs has none): it creates the node itself
# (mknodes), and its notice that the kernel has no System V semaphores is noise.
dmsetup_quiet() {
	dmsetup --noudevsync "$@" 2>/tmp/dmsetup.err
	local rc=$?
	grep -v 'semaphores' /tmp/dmsetup.err | sed 's/^/# dmsetup: /'
	return $rc
}

ktap_print_header
ktap_set_plan $((nseeds * 2 + 2))
mkdir -p $mnt
modprobe emfs || ktap_exit_fail_msg "modprobe emfs failed"
log_mark

total=0
for seed in $seeds; do
	# A log whose super is zero until the target writes its own.
	dd if=/dev/zero of=$logdev bs=4096 count=1 conv=fsync 2>/dev/null
	ran=0
	if dmsetup_quiet create $dm --table "0 $sectors log-writes $data $logdev" &&
		dmsetup_quiet mknodes $dm &&
		mkfs.emfs /dev/mapper/$dm >/dev/null &&
		dmsetup_quiet message $dm 0 mark mkfs &&
		mount -t emfs /dev/mapper/$dm $mnt; then
		"$(dirname "$0")/crash_workload" "$seed" "$ops" $mnt $dm >/tmp/crash-workload.out 2>&1 && ran=1
		sed 's/^/# /' /tmp/crash-workload.out
		umount $mnt || ran=0
	fi
	dmsetup_quiet remove $dm || ran=0
	ktap_test_result "crash replay: seed $seed: the workload ran on the log-writes target" [ $ran = 1 ]

	emfs-replay check --log $logdev --dev $data --mnt $mnt >/tmp/crash-replay.out 2>&1
	rc=$?
	head -n 30 /tmp/crash-replay.out | sed 's/^/# /'
	points=$(sed -n 's/^replay: [0-9]* entries, \([0-9]*\) points checked.*/\1/p' /tmp/crash-replay.out)
	total=$((total + ${points:-0}))
	ktap_test_result "crash replay: seed $seed: every flush point and mark checks out" [ $rc = 0 ]
done
ktap_print_msg "$total points checked over $nseeds seeds"
ktap_print_msg "required: at least $min_points (CRASH_MIN_POINTS)"
ktap_test_result "crash replay: enough points checked" [ $total -ge $min_points ]
ktap_test_no_problems "crash replay: no kernel warnings"
modprobe -r emfs
ktap_finished
