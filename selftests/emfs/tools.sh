#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# mkfs.emfs and fsck.emfs on a real block device in the VM: an empty file
# system and one holding files are clean; corruption is found (exit 4).

. "$(dirname "$0")/lib.sh"

dev=/dev/vdb

ktap_print_header
ktap_set_plan 8

[ -b $dev ] || ktap_exit_fail_msg "no scratch disk $dev"

out=$(mkfs.emfs $dev 2>&1)
ktap_print_msg "$out"
fsck.emfs $dev | sed 's/^/# /'
ktap_test_result "emfs tools: fresh file system is clean" fsck.emfs $dev

mkdir -p /tmp/emfs-data
i=0
for size in 1 4095 4096 4097 65536 300000 1048576; do
	head -c $size /dev/urandom >/tmp/emfs-data/file$i
	i=$((i + 1))
done
mkfs.emfs -d /tmp/emfs-data -e 4 -g $dev | sed 's/^/# /'
fsck.emfs $dev | sed 's/^/# /'
ktap_test_result "emfs tools: populated file system is clean" fsck.emfs $dev
counts_files() { fsck.emfs $dev | grep -q ' 7 files, '; }
ktap_test_result "emfs tools: fsck counts the files" counts_files

# Flip a byte of the first inode-table block (block 2): an inode checksum breaks.
printf '\377' | dd of=$dev bs=1 seek=$((2 * 4096 + 2 * 256 + 8)) conv=notrunc 2>/dev/null
fsck.emfs $dev | sed 's/^/# /'
fsck.emfs $dev >/dev/null
ktap_test_result "emfs tools: corruption is found (exit 4)" [ $? -eq 4 ]

usage_exit() { fsck.emfs >/dev/null 2>&1; [ $? -eq 16 ]; }
ktap_test_result "emfs tools: usage error is exit 16" usage_exit

# A file system of format version 1 is refused at mount, with one message that says why.
mkfs.emfs --format-version 1 $dev | sed 's/^/# /'
mkdir -p /mnt/emfs
modprobe emfs
log_mark
v1_refused() {
	if out=$(mount -t emfs $dev /mnt/emfs 2>&1); then
		umount /mnt/emfs
		return 1
	fi
	echo "# mount: $out"
	log_since_mark | grep 'emfs:' | sed 's/^/# /'
	log_since_mark | grep -q 'emfs: format version 1 is not supported (flat namespace)' || return 1
	fsck.emfs $dev 2>&1 | sed 's/^/# /'
	fsck.emfs $dev >/dev/null 2>&1
	[ $? = 8 ]
}
ktap_test_result "emfs tools: a version-1 file system is refused with its message (mount, fsck: 8)" \
	v1_refused

# mkfs.emfs refuses a device that holds a mounted file system, and leaves it alone.
emfs_prepare $dev
echo kept >/tmp/emfs-kept
mount -t emfs $dev /mnt/emfs && cp /tmp/emfs-kept /mnt/emfs/kept && sync
refused() {
	out=$(mkfs.emfs $dev 2>&1) && return 1
	echo "# $out"
	echo "$out" | grep -q "is mounted on /mnt/emfs"
}
ktap_test_result "emfs tools: mkfs refuses a mounted device" refused
kept() { umount /mnt/emfs && mount -t emfs $dev /mnt/emfs && cmp /tmp/emfs-kept /mnt/emfs/kept; }
ktap_test_result "emfs tools: the mounted file system is intact" kept
umount /mnt/emfs
modprobe -r emfs

ktap_finished
