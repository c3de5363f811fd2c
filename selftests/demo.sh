#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# What `make run` shows: emfs.ko loading (KUnit runs the extmap suite as the
# module goes live: btrfs's extent-map cases and the 2020 race scenario), then
# an empty emfs made, mounted and written (writeback inserts pinned maps, the
# completion unpins them, fsync merges them), the 2020 race played through
# the file system with a reader parked on a map, the caches dropped, a
# remount and fsck, with the extmap counters at each step.

counters() {
	echo "--- /sys/kernel/debug/extmap and emfs: $1"
	for f in /sys/kernel/debug/extmap/* /sys/kernel/debug/emfs/commits \
		/sys/kernel/debug/emfs/write_bios /sys/kernel/debug/emfs/parked; do
		printf '  %-16s %s\n' "$(basename "$f")" "$(cat "$f")"
	done
}

echo
echo "=== modprobe emfs"
modprobe emfs
grep -E '^(ok|not ok)|^    (ok|not ok)' /sys/kernel/debug/kunit/extmap/results
counters "after the KUnit suite"

echo
echo "=== mkfs.emfs /dev/vdb; mount -t emfs /dev/vdb /mnt/emfs; write three files"
mkdir -p /tmp/demo /mnt/emfs
mkfs.emfs /dev/vdb
mount -t emfs /dev/vdb /mnt/emfs
for i in 1 2 3; do
	head -c $((i * 300000)) /dev/urandom >/tmp/demo/file$i
	cp /tmp/demo/file$i /mnt/emfs/file$i
done
sync
ls -l /mnt/emfs
df /mnt/emfs
counters "after writing and sync (maps inserted pinned, unpinned, merged)"

echo
echo "=== the 2020 race through emfs (race_repro): a reader holds B's map while fsync merges"
/ksft/emfs/race_repro /mnt/emfs/race
counters "after the race sequence (merges_refused went up by one)"

echo
echo "=== drop_caches, remount, read back, fsck"
echo 3 >/proc/sys/vm/drop_caches
umount /mnt/emfs
fsck.emfs /dev/vdb
mount -t emfs /dev/vdb /mnt/emfs
for i in 1 2 3; do
	cmp /tmp/demo/file$i /mnt/emfs/file$i && echo "file$i reads back identical"
done
counters "after the remount and the reads (maps loaded from disk on misses)"
umount /mnt/emfs

echo
echo "=== modprobe btrfs (upstream's sanity tests run at load)"
modprobe btrfs && echo "btrfs sanity tests passed"
modprobe -r emfs
modprobe -r btrfs
echo "=== done"
