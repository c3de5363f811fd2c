#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# What `make run` shows: emfs.ko loading (KUnit runs the extmap suite as the
# module goes live: btrfs's extent-map cases and the 2020 race scenario), then
# emfs mounted read-only on a file system mkfs.emfs filled, files read back,
# the caches dropped, and the extmap counters at each step.

counters() {
	echo "--- /sys/kernel/debug/extmap: $1"
	for f in /sys/kernel/debug/extmap/*; do
		printf '  %-16s %s\n' "$(basename "$f")" "$(cat "$f")"
	done
}

echo
echo "=== modprobe emfs"
modprobe emfs
grep -E '^(ok|not ok)|^    (ok|not ok)' /sys/kernel/debug/kunit/extmap/results
counters "after the KUnit suite"

echo
echo "=== mkfs.emfs -d /tmp/demo /dev/vdb; mount -t emfs /dev/vdb /mnt/emfs"
mkdir -p /tmp/demo /mnt/emfs
for i in 1 2 3; do head -c $((i * 300000)) /dev/urandom >/tmp/demo/file$i; done
mkfs.emfs -d /tmp/demo -e 4 /dev/vdb
mount -t emfs /dev/vdb /mnt/emfs
ls -l /mnt/emfs
df /mnt/emfs
for i in 1 2 3; do
	cmp /tmp/demo/file$i /mnt/emfs/file$i && echo "file$i reads back identical"
done
counters "after reading (maps missed, loaded, merged)"
echo 3 >/proc/sys/vm/drop_caches
counters "after drop_caches (release_folio dropped maps)"
umount /mnt/emfs
fsck.emfs /dev/vdb

echo
echo "=== modprobe btrfs (upstream's sanity tests run at load)"
modprobe btrfs && echo "btrfs sanity tests passed"
modprobe -r emfs
modprobe -r btrfs
echo "=== done"
