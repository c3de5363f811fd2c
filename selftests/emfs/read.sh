#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# emfs's read path on extmap: files put into an image by mkfs.emfs read back
# byte for byte through the page cache (read_folio), again after the caches
# are dropped, with extent maps looked up, missed, loaded and merged; a
# corrupted superblock is refused at mount.

. "$(dirname "$0")/lib.sh"

dev=/dev/vdb
mnt=/mnt/emfs
data=/tmp/emfs-read

ktap_print_header
ktap_set_plan 20

mkdir -p $data $mnt
i=0
for size in 0 1 4095 4096 4097 65659 1048576 3000000; do
	head -c $size /dev/urandom >$data/f$i
	i=$((i + 1))
done

compare_all() { files_match $data $mnt; }
list_matches() {
	[ "$(ls $data | sort)" = "$(ls $mnt | sort)" ]
}
sizes_match() {
	for f in $data/*; do
		[ "$(stat -c %s "$f")" = "$(stat -c %s "$mnt/$(basename "$f")")" ] || return 1
	done
}

modprobe emfs || ktap_exit_fail_msg "modprobe emfs failed"
# Extents of 4 blocks with a block between them: nothing can merge.
mkfs.emfs -d $data -e 4 -g $dev | sed 's/^/# /'
log_mark
ktap_test_result "emfs read: mount" mount -t emfs $dev $mnt
ktap_test_result "emfs read: readdir lists every file" list_matches
ktap_test_result "emfs read: sizes" sizes_match
# statfs agrees with fsck: total blocks, and free = total - used.
statfs_matches() {
	used=$(fsck.emfs $dev | sed -n 's|.* \([0-9]*\)/\([0-9]*\) blocks used|\1 \2|p')
	set -- $used
	st=$(stat -f -c '%b %f %c' $mnt)
	# mkfs.emfs's inode table: a block of 16 inodes per 256 blocks, 1 to 384; inode 0
	# is not one.
	itb=$(($2 / 256))
	[ $itb -ge 1 ] || itb=1
	[ $itb -le 384 ] || itb=384
	ktap_print_msg "fsck: $1 of $2 blocks used; statfs: $st"
	[ "$st" = "$2 $(($2 - $1)) $((itb * 16 - 1))" ]
}
ktap_test_result "emfs read: statfs counts blocks and inodes" statfs_matches
lookups=$(extmap_counter lookups)
inserts=$(extmap_counter inserts)
ktap_test_result "emfs read: contents read back byte for byte" compare_all
ktap_print_msg "lookups $lookups -> $(extmap_counter lookups), inserts $inserts -> $(extmap_counter inserts)"
ktap_test_result "emfs read: maps were missed, loaded and inserted" \
	[ "$(extmap_counter inserts)" -gt "$inserts" ]
drops=$(extmap_counter drops)
mmap_matches() {
	"$(dirname "$0")/mmap_read" $mnt/* >/tmp/mmap.tap
	rc=$?
	sed 's/^/# /' /tmp/mmap.tap
	[ $rc = 0 ] && [ "$(grep -c '^ok' /tmp/mmap.tap)" = 8 ]
}
ktap_test_result "emfs read: mmap reads match read(2), no writable mapping" mmap_matches
echo 3 >/proc/sys/vm/drop_caches
ktap_print_msg "drop_caches: drops $drops -> $(extmap_counter drops)"
ktap_test_result "emfs read: releasing folios drops their maps" [ "$(extmap_counter drops)" -gt "$drops" ]
inserts=$(extmap_counter inserts)
ktap_test_result "emfs read: contents again after drop_caches" compare_all
ktap_test_result "emfs read: maps loaded again after the release" [ "$(extmap_counter inserts)" -gt "$inserts" ]
umount $mnt
ktap_test_result "emfs read: fsck clean after unmount" fsck.emfs $dev

# Contiguous extents: maps inserted next to each other merge.
mkfs.emfs -d $data -e 4 $dev | sed 's/^/# /'
merges=$(extmap_counter merges)
mount -t emfs $dev $mnt && compare_all
ok=$?
ktap_print_msg "merges $merges -> $(extmap_counter merges)"
ktap_test_result "emfs read: contiguous extents read back and their maps merge" \
	[ $ok = 0 -a "$(extmap_counter merges)" -gt "$merges" ]
umount $mnt

# A corrupted inode: looking a name up says "structure needs cleaning"
# (EUCLEAN) with a message, not "no such file", and nothing warns.
mkfs.emfs -d $data -e 4 $dev >/dev/null
# Inode 3 (f1) is slot 3 of the first inode-table block (block 2).
printf '\377' | dd of=$dev bs=1 seek=$((2 * 4096 + 3 * 256 + 8)) conv=notrunc 2>/dev/null
mount -t emfs $dev $mnt
lookup_says_euclean() {
	cat $mnt/f1 >/dev/null 2>/tmp/emfs-err
	grep -q 'Structure needs cleaning' /tmp/emfs-err &&
		log_since_mark | grep -q 'emfs: inode 3: bad checksum'
}
ktap_test_result "emfs read: a corrupted inode gives EUCLEAN with a message" lookup_says_euclean
other_files_read() { cmp $data/f2 $mnt/f2; }
ktap_test_result "emfs read: the other files still read" other_files_read
umount $mnt

# A crafted inode: a huge extent count with the checksum re-sealed
# (emfs-mutate), so that the damage reaches the parser. The mount must not size
# anything from it (it once sized an allocation from the count, which warned in
# the page allocator): the file says EUCLEAN with a message, the others read.
mkfs.emfs -d $data -e 4 $dev >/dev/null
emfs-mutate $dev 3 extent_count 4294967295 | sed 's/^/# /'
mount -t emfs $dev $mnt
crafted_count_refused() {
	cat $mnt/f1 >/dev/null 2>/tmp/emfs-err
	grep -q 'Structure needs cleaning' /tmp/emfs-err &&
		log_since_mark | grep -q 'emfs: inode 3: extent count beyond the file system'
}
ktap_test_result "emfs read: a crafted extent count is refused (EUCLEAN) with a message" \
	crafted_count_refused
ktap_test_result "emfs read: the other files still read after the crafted count" other_files_read
umount $mnt

# A crafted size: f7 (inode 9, 3000000 bytes) shrunk to 1 byte with its extents
# kept, which fsck calls an error (an extent beyond the size). The mount applies
# fsck's rule: the file says EUCLEAN with a message, the mount is read-only, the
# others read. (The 5,000-image fuzz run found the mount accepting this read-write.)
mkfs.emfs -d $data -e 4 $dev >/dev/null
emfs-mutate $dev 9 size 1 | sed 's/^/# /'
fsck.emfs $dev >/dev/null 2>&1
fsck_rc=$?
mount -t emfs $dev $mnt
crafted_size_refused() {
	[ $fsck_rc = 4 ] || return 1
	cat $mnt/f7 >/dev/null 2>/tmp/emfs-err
	grep -q 'Structure needs cleaning' /tmp/emfs-err &&
		log_since_mark | grep -q 'emfs: inode 9: extent lies beyond the size' &&
		grep -q " $mnt emfs ro[ ,]" /proc/mounts
}
ktap_print_msg "fsck.emfs exit $fsck_rc"
ktap_test_result "emfs read: an extent past a crafted size: EUCLEAN, read-only, as fsck (exit 4)" \
	crafted_size_refused
ktap_test_result "emfs read: the other files still read after the crafted size" other_files_read
umount $mnt

# A corrupted superblock (both slots) is refused, with a message and no WARN.
dd if=/dev/zero of=$dev bs=4096 count=2 conv=notrunc 2>/dev/null
if mount -t emfs $dev $mnt 2>/dev/null; then
	umount $mnt
	ktap_test_fail "emfs read: a corrupted superblock is refused"
else
	log_since_mark | grep 'emfs: no valid superblock' | sed 's/^/# /'
	refused_with_message() { log_since_mark | grep -q 'emfs: no valid superblock'; }
	ktap_test_result "emfs read: a corrupted superblock is refused" refused_with_message
fi

ktap_test_no_problems "emfs read: no kernel warnings"
modprobe -r emfs
ktap_finished
