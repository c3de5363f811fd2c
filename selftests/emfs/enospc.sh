#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A write that returned success is never lost for lack of space
# (Documentation/filesystems/emfs.rst, "Space"). A 32 MiB emfs and a 32 MiB
# btrfs in the same boot are filled by scattered 4 KiB writes into 64 files
# until ENOSPC (enospc_fill.c), every file fsynced: every fsync returns 0
# (with half the files on half the disk, the old reservation survives too:
# each fsync's commit frees the metadata the last one used),
# the file system stays usable (removing a file makes room for new writes at
# once), unmount and fsck.emfs are clean, and after a remount every byte of
# every accepted write is there. On emfs, what df says is available and what a
# write or a mkdir is refused at agree within the margin the document gives;
# and holes punched on a full emfs never leave its next commit without room.

. "$(dirname "$0")/lib.sh"

emfs_dev=/dev/vdb
btrfs_dev=/dev/vda
here=$(dirname "$0")
FILES=64
SPAN=256

ktap_print_header
ktap_set_plan 15

emfs_prepare $emfs_dev -n 8192
modprobe btrfs || ktap_exit_fail_msg "modprobe btrfs failed"
mkdir -p /mnt/btrfs
mkfs.btrfs -q -f --mixed -b 32M $btrfs_dev >/dev/null 2>&1 || ktap_exit_fail_msg "mkfs.btrfs failed"
mount -t emfs $emfs_dev /mnt/emfs || ktap_exit_fail_msg "mount emfs failed"
mount -t btrfs $btrfs_dev /mnt/btrfs || ktap_exit_fail_msg "mount btrfs failed"
log_mark

# run FS ARGS...: enospc_fill's report as TAP comments; its exit status.
run() {
	local fs=$1
	shift
	out=$("$here/enospc_fill" "$@")
	rc=$?
	echo "$out" | sed "s/^/# $fs: /"
	return $rc
}
# Blocks statfs says an unprivileged write can still get.
avail() { stat -f -c %a "$1"; }

for fs in emfs btrfs; do
	ktap_test_result "enospc: $fs: filled by scattered writes until ENOSPC, every fsync returned 0" \
		run $fs fill /mnt/$fs $FILES $SPAN /tmp/enospc.$fs
done
ktap_print_msg "emfs: df after the fill: $(df -k /mnt/emfs | tail -n 1)"
ktap_print_msg "btrfs: df after the fill: $(df -k /mnt/btrfs | tail -n 1)"

# Removed files' blocks come back: 64 KiB into a new file, fsynced. On emfs
# at once (a write that finds no room commits first when that frees blocks);
# btrfs gives them back when its transaction commits. (On btrfs one removed
# file, some 400 KiB, is not enough: its small mixed file system keeps
# more than that back for metadata.)
GONE=4
room_after_remove() {
	rm /mnt/$1/f00[0-$((GONE - 1))] || return 1
	[ "$2" = sync ] && sync
	got=$("$here/enospc_fill" append /mnt/$1/new 16)
	rc=$?
	echo "# $1: $got blocks written and fsynced"
	[ $rc = 0 ] && [ "$got" = 16 ]
}
ktap_test_result "enospc: emfs: removed files make room for a new one at once" room_after_remove emfs
ktap_test_result "enospc: btrfs: removed files make room for a new one after a sync" \
	room_after_remove btrfs sync

# emfs: df's available blocks against the blocks a stream of writes got. The
# figure is an upper bound: each dirty block also holds back room for the two
# records it may add, one chain block per 31 blocks, until it is written.
a=$(avail /mnt/emfs)
w=$("$here/enospc_fill" append /mnt/emfs/tail 100000)
ktap_print_msg "emfs: df said $a blocks available; writes got $w"
ktap_test_result "enospc: emfs: writes get what df said, less at most 1/31 of it and 2 blocks" \
	[ "${w:-0}" -le "$a" -a "$a" -le $((${w:-0} + ${w:-0} / 31 + 2)) ]
# A new name needs 4 blocks for its metadata: mkdir works exactly when df says so.
a=$(avail /mnt/emfs)
if mkdir /mnt/emfs/d 2>/tmp/enospc.mkdir; then made=yes; else made=no; fi
ktap_print_msg "emfs: df said $a blocks available; mkdir: $made $(cat /tmp/enospc.mkdir)"
ktap_test_result "enospc: emfs: mkdir works exactly when df says 4 blocks are available" \
	[ $made = "$([ "$a" -ge 4 ] && echo yes || echo no)" ]
# Still read-write after all of it.
ktap_test_result "enospc: emfs: still read-write" touch /mnt/emfs/f001

umount /mnt/emfs /mnt/btrfs
ktap_test_result "enospc: emfs: fsck clean" fsck_clean $emfs_dev
mount -t emfs $emfs_dev /mnt/emfs && mount -t btrfs $btrfs_dev /mnt/btrfs ||
	ktap_exit_fail_msg "remount failed"
for fs in emfs btrfs; do
	ktap_test_result "enospc: $fs: after a remount every accepted write is there, byte for byte" \
		run $fs verify /mnt/$fs /tmp/enospc.$fs $GONE
done
rm -f /mnt/emfs/tail
ktap_test_result "enospc: emfs: writes work after the remount" run emfs append /mnt/emfs/again 16
umount /mnt/emfs /mnt/btrfs

# Holes punched on a full disk: each splits the extent around it in two, and
# the record it adds must have room in the next commit. A new 64 MiB emfs, a
# 48 MiB file written in one stream and the rest of the disk filled (again
# after each fsync, which gives back the room its dirty blocks held for
# records, until a file gets no block); its odd blocks are punched until a
# punch is refused (ENOSPC: the room for one more record is not there). The
# fsync after them returns 0, fsck is clean, and after a remount the holes
# read as zeros and every other byte is there. Without the promise all 6,144
# holes go through, their 98 chain blocks are more than the disk has, and the
# commit fails.
PUNCH_BLOCKS=12288
emfs_prepare $emfs_dev -n 16384
mount -t emfs $emfs_dev /mnt/emfs || ktap_exit_fail_msg "mount emfs failed"
"$here/enospc_fill" append /mnt/emfs/p $PUNCH_BLOCKS >/dev/null ||
	ktap_exit_fail_msg "writing the file to punch failed"
rest=0
while got=$("$here/enospc_fill" append /mnt/emfs/rest$rest 100000) && [ "$got" -gt 0 ] &&
	[ $rest -lt 20 ]; do
	rest=$((rest + 1))
done
ktap_print_msg "emfs: filled by $rest files, df: $(df -k /mnt/emfs | tail -n 1)"
holes=$("$here/enospc_fill" punch /mnt/emfs/p $PUNCH_BLOCKS)
rc=$?
ktap_print_msg "emfs: $holes of $((PUNCH_BLOCKS / 2)) holes punched on the full disk"
ktap_print_msg "emfs: df after the holes: $(df -k /mnt/emfs | tail -n 1)"
ktap_test_result "enospc: emfs: holes punched on a full disk until refused, then fsync returned 0" \
	[ $rc = 0 -a "${holes:-0}" -lt $((PUNCH_BLOCKS / 2)) ]
umount /mnt/emfs
ktap_test_result "enospc: emfs: fsck clean after the holes" fsck_clean $emfs_dev
mount -t emfs $emfs_dev /mnt/emfs || ktap_exit_fail_msg "remount failed"
ktap_test_result "enospc: emfs: after a remount the holes are zeros and every other byte is there" \
	run emfs punched /mnt/emfs/p $PUNCH_BLOCKS "${holes:-0}"
umount /mnt/emfs
ktap_test_no_problems "enospc: no kernel warnings"
modprobe -r emfs
# btrfs stays: each load runs its sanity tests (some 35 s under TCG), and the next
# test that compares with btrfs uses it as it is.
ktap_finished
