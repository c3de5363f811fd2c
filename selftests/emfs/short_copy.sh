#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Short copies from user space (short_copy.c): a write whose buffer runs into
# an unmapped page, over data that is only on the disk, stopping at the start,
# middle and end of a folio, from inside a folio and past the end of the file.
# On emfs and on btrfs in the same boot: write(2) returns the bytes it took
# (emfs: all the user could give; btrfs: EFAULT, none), those bytes are the
# new ones and every other byte is the old one, in the page cache, after fsync,
# after drop_caches and after a remount.

. "$(dirname "$0")/lib.sh"

emfs_dev=/dev/vdb
btrfs_dev=/dev/vda
here=$(dirname "$0")

ktap_print_header
ktap_set_plan 7

emfs_prepare $emfs_dev
modprobe btrfs || ktap_exit_fail_msg "modprobe btrfs failed"
mkdir -p /mnt/btrfs
mkfs.btrfs -q -f $btrfs_dev >/dev/null 2>&1 || ktap_exit_fail_msg "mkfs.btrfs failed"
mount -t emfs $emfs_dev /mnt/emfs || ktap_exit_fail_msg "mount emfs failed"
mount -t btrfs $btrfs_dev /mnt/btrfs || ktap_exit_fail_msg "mount btrfs failed"
log_mark

# short_copy MODE FS: its report as TAP comments; true if it found nothing wrong.
short_copy() {
	out=$("$here/short_copy" "$1" "/mnt/$2")
	rc=$?
	echo "$out" >/tmp/short_copy.out.$2
	echo "$out" | sed "s/^/# $2: /"
	[ $rc = 0 ]
}
for fs in emfs btrfs; do
	ktap_test_result "short copy: $fs: write(2) says what it took, every other byte is old" \
		short_copy write $fs
done
# emfs copies all the user can give: the VFS retries a refused short copy.
took_all() {
	awk '/ readable: took / { n++; if ($(NF - 3) != $NF) bad++ } END { exit !(n == 5 && !bad) }' \
		/tmp/short_copy.out.emfs
}
ktap_test_result "short copy: emfs: write(2) took every readable byte" took_all
umount /mnt/emfs /mnt/btrfs
mount -t emfs $emfs_dev /mnt/emfs && mount -t btrfs $btrfs_dev /mnt/btrfs ||
	ktap_exit_fail_msg "remount failed"
for fs in emfs btrfs; do
	ktap_test_result "short copy: $fs: the same after a remount" short_copy verify $fs
done
umount /mnt/emfs /mnt/btrfs
ktap_test_result "short copy: fsck.emfs clean afterwards" fsck_clean $emfs_dev
ktap_test_no_problems "short copy: no kernel warnings"
modprobe -r emfs
# btrfs stays: each load runs its sanity tests (some 35 s under TCG), and the next
# test that compares with btrfs uses it as it is.
ktap_finished
