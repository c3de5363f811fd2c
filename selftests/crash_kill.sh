#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# One boot of the QEMU-kill test (harness=crashkill harness_kill=K): first it
# checks what kill K-1 left on /dev/vdd against the promises crash_workload
# journaled on /dev/vdc (emfs-replay verify: fsck, recovery mount, every
# fsynced file's content, fsck again) and writes the verdict durably to
# sector 8192+K-1 of /dev/vdc; then it makes a new emfs on /dev/vdd, says
# KILL-READY on ttyS1 and runs crash_workload without end (writes, fsyncs,
# renames, ...) until the host kills QEMU at a random moment. The test boot's
# emfs:crash_kills.sh checks the last kill and reports every verdict.

exec 2>&1
k=$(sed -n 's/.*harness_kill=\([0-9]*\).*/\1/p' /proc/cmdline)
modprobe emfs
mkdir -p /mnt/kill

verdict() { # verdict K TEXT: durably at sector 8192+K of /dev/vdc
	printf '%s' "$2" | dd of=/dev/vdc bs=512 seek=$((8192 + $1)) count=1 conv=sync,fsync 2>/dev/null
}

if [ "$k" -gt 1 ]; then
	emfs-replay verify --journal /dev/vdc --dev /dev/vdd --mnt /mnt/kill >/tmp/verify.out 2>&1
	verdict $((k - 1)) "$(tail -n 1 /tmp/verify.out)"
	cat /tmp/verify.out
else
	# The first boot: no verdicts yet.
	dd if=/dev/zero of=/dev/vdc bs=1M count=8 conv=fsync 2>/dev/null
fi
dd if=/dev/zero of=/dev/vdc bs=1M count=4 conv=fsync 2>/dev/null
mkfs.emfs /dev/vdd >/dev/null
mount -t emfs /dev/vdd /mnt/kill
echo KILL-READY >/dev/ttyS1
/ksft/emfs/crash_workload "$k" 0 /mnt/kill /dev/vdc
echo "crash_workload ended early" >/dev/ttyS1
sleep 3600
