#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# emfs's write side: files created, written at many sizes and offsets,
# overwritten, renamed, removed, truncated, preallocated and punched, written
# through mmap; read back from the page cache, after the caches are dropped
# and after a remount; a random exerciser (fsx_lite) with data verification;
# ENOSPC and recovery; fsck.emfs clean after every step; extmap counters show
# the writeback maps inserted, unpinned and merged.

. "$(dirname "$0")/lib.sh"

dev=/dev/vdb
mnt=/mnt/emfs
ref=/tmp/emfs-write
here=$(dirname "$0")

ktap_print_header
ktap_set_plan 21

mkdir -p $ref
rm -rf "${ref:?}"/*

remount() { umount $mnt && mount -t emfs $dev $mnt; }
drop_caches() { sync && echo 3 >/proc/sys/vm/drop_caches; }
fsck_remount() { umount $mnt && fsck_clean $dev && mount -t emfs $dev $mnt; }
same_files() {
	[ "$(ls $ref | sort)" = "$(ls $mnt | sort)" ] || { echo "# names differ: $(ls $mnt)"; return 1; }
	for f in $ref/*; do
		cmp "$f" "$mnt/$(basename "$f")" | sed 's/^/# /'
		[ "${PIPESTATUS[0]}" = 0 ] || return 1
	done
}
# Writes LEN random bytes at OFF of file NAME, on emfs and in the reference.
put() {
	head -c "$3" /dev/urandom >/tmp/emfs-chunk
	dd if=/tmp/emfs-chunk of="$ref/$1" bs=1 seek="$2" conv=notrunc 2>/dev/null &&
		dd if=/tmp/emfs-chunk of="$mnt/$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

emfs_prepare $dev
log_mark
ktap_test_result "emfs write: mount an empty file system" mount -t emfs $dev $mnt

inserts=$(extmap_counter inserts)
merges=$(extmap_counter merges)
# Sizes around block and folio boundaries, and a few large ones.
create_files() {
	for size in 0 1 511 4095 4096 4097 8191 12288 65537 300000 1048576 2500000; do
		head -c $size /dev/urandom >$ref/s$size || return 1
		cp $ref/s$size $mnt/s$size || return 1
	done
}
ktap_test_result "emfs write: create files of 12 sizes" create_files
ktap_test_result "emfs write: they read back from the page cache" same_files
drop_caches
ktap_test_result "emfs write: they read back from disk after drop_caches" same_files
ktap_print_msg "extmap inserts $inserts -> $(extmap_counter inserts), merges $merges -> $(extmap_counter merges)"
# Writeback inserted maps; after the sync they are old, release drops them, and the reads
# load them again from the records and merge the contiguous ones.
ktap_test_result "emfs write: writeback inserted maps, reloaded maps merged" \
	[ "$(extmap_counter inserts)" -gt "$inserts" -a "$(extmap_counter merges)" -gt "$merges" ]

overwrite() {
	put s1048576 0 1 && put s1048576 4095 2 && put s1048576 12288 4096 &&
		put s1048576 500000 70000 && put s2500000 2499999 100 &&
		put s4097 4097 8000 && put s0 10000 5 && put s65537 100 65000
}
ktap_test_result "emfs write: overwrite and extend at unaligned offsets" overwrite
ktap_test_result "emfs write: overwrites read back" same_files
ktap_test_result "emfs write: fsck clean after sync" fsck_remount
ktap_test_result "emfs write: everything reads back after a remount" same_files

names() {
	mv $mnt/s1 $mnt/renamed && mv $ref/s1 $ref/renamed &&
		mv $mnt/s511 $mnt/s4095 && mv $ref/s511 $ref/s4095 &&
		rm $mnt/s8191 $ref/s8191 && ! [ -e $mnt/s8191 ] && ! [ -e $mnt/s1 ]
}
ktap_test_result "emfs write: rename, rename over a file, unlink" names
remount
ktap_test_result "emfs write: names survive a remount" same_files

cut() {
	truncate -s 5000 $mnt/s300000 && truncate -s 5000 $ref/s300000 &&
		truncate -s 100000 $mnt/s300000 && truncate -s 100000 $ref/s300000 &&
		truncate -s 0 $mnt/s12288 && truncate -s 0 $ref/s12288 &&
		truncate -s 3000000 $mnt/s4096 && truncate -s 3000000 $ref/s4096
}
ktap_test_result "emfs write: truncate down, up, to zero" cut
drop_caches
ktap_test_result "emfs write: truncated files read back (tails zero)" same_files
ktap_test_result "emfs write: fsck clean after truncate" fsck_remount

# The exerciser: writes, reads, truncate, fallocate (0, KEEP_SIZE, PUNCH_HOLE),
# mmap reads and writes, fsync, fadvise(DONTNEED), reopen; all verified.
# Longer with STRESS_SECONDS (the extended check): 100 operations a second.
ops=1500
[ "${STRESS_SECONDS:-0}" -gt 60 ] && ops=$((STRESS_SECONDS * 100))
fsx_ok=0
for seed in 1 2 3; do
	"$here/fsx_lite" -n $ops -s $seed -l 1048576 -o $ref/fsx$seed $mnt/fsx$seed || fsx_ok=1
done
ktap_test_result "emfs write: fsx_lite, 3 seeds" [ $fsx_ok = 0 ]
ktap_test_result "emfs write: fsx files read back after a remount" eval 'remount && same_files'
ktap_test_result "emfs write: fsck clean after fsx_lite" fsck_remount

# ENOSPC: fill the file system, then free space and write again.
fill() {
	dd if=/dev/zero of=$mnt/fill bs=1M count=400 2>/tmp/emfs-dd
	grep -q 'No space left' /tmp/emfs-dd
}
ktap_test_result "emfs write: ENOSPC when full" fill
ktap_print_msg "$(df -k $mnt | tail -1)"
after_enospc() {
	rm $mnt/fill && sync && head -c 3000000 /dev/urandom >$ref/after &&
		cp $ref/after $mnt/after && same_files
}
ktap_test_result "emfs write: usable again after deleting" after_enospc
ktap_test_result "emfs write: fsck clean after ENOSPC" fsck_remount
umount $mnt

ktap_test_no_problems "emfs write: no kernel warnings"
modprobe -r emfs
ktap_finished
