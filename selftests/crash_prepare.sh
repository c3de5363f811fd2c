#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The first boot of the crash test (harness=crash): writes files on emfs and
# fsyncs some of them, leaves an orphan (a file unlinked while open, committed
# that way), keeps copies of what was fsynced on /dev/vda (a tar), prints
# CRASH-READY to ttyS1, and goes on writing without fsync until the host kills
# QEMU. selftests/emfs/crash_verify.sh checks the disk in the next boot.

exec 2>&1
set -e
modprobe emfs
mkfs.emfs /dev/vdb >/dev/null
mkdir -p /mnt/emfs /tmp/synced
mount -t emfs /dev/vdb /mnt/emfs

# fsynced files: sizes around blocks, and one rewritten in place before its fsync.
for size in 1 4096 10000 131072 1000000; do
	head -c $size /dev/urandom >/tmp/synced/f$size
	cp /tmp/synced/f$size /mnt/emfs/f$size
done
head -c 50000 /dev/urandom | dd of=/tmp/synced/f1000000 bs=4096 seek=10 conv=notrunc 2>/dev/null
dd if=/tmp/synced/f1000000 of=/mnt/emfs/f1000000 bs=4096 skip=10 seek=10 count=13 conv=notrunc 2>/dev/null
# An orphan: open, unlinked, still in use when the state is committed.
head -c 300000 /dev/urandom >/mnt/emfs/orphan
sync -d /mnt/emfs/orphan
exec 4</mnt/emfs/orphan
rm /mnt/emfs/orphan
# fsync each file (busybox has no fsync(1): sync -d on the file does fdatasync).
for f in /mnt/emfs/*; do
	sync -d "$f"
done
tar -cf /dev/vda -C /tmp synced
echo CRASH-READY

# Never fsynced: may or may not be there after the crash.
i=0
while :; do
	head -c 200000 /dev/urandom >/mnt/emfs/unsynced$((i % 8))
	i=$((i + 1))
done
