#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# emfs's writeback bookkeeping, at the points where it once went wrong:
#  - space reserved for dirty folios is handed over to the allocation folio by
#    folio: when an allocation grants only a prefix of a batch (fragmented free
#    space), the rest of the batch keeps its reservation (statfs does not grow
#    between the two allocations of one batch);
#  - a write completion whose unpin finds no map (injected) is counted and
#    reported, not ignored.

. "$(dirname "$0")/lib.sh"

dev=/dev/vdb
mnt=/mnt/emfs
dbg=/sys/kernel/debug/emfs
bs=4096

ktap_print_header
ktap_set_plan 9

emfs_prepare $dev
log_mark
mount -t emfs $dev $mnt || ktap_exit_fail_msg "mount failed"

# Free space in one-block holes at the start of the data area: blocks of two
# files interleaved (one sync per block), then one file deleted and the
# allocation cursor reset by a remount.
interleave() {
	for i in 0 1 2 3 4 5 6 7; do
		dd if=/dev/urandom of=$mnt/a bs=$bs count=1 seek=$i conv=notrunc 2>/dev/null &&
			sync && dd if=/dev/urandom of=$mnt/b bs=$bs count=1 seek=$i conv=notrunc 2>/dev/null &&
			sync || return 1
	done
	rm $mnt/b && sync && sync && umount $mnt && mount -t emfs $dev $mnt
}
ktap_test_result "emfs writeback: free space fragmented into one-block holes" interleave

free_blocks() { stat -f -c %f $mnt; }
# A batch of 4 dirty folios: the allocation grants 1 block (a hole), then the
# writeback parks before allocating for the rest.
touch $mnt/c
ino=$(stat -c %i $mnt/c)
head -c $((4 * bs)) /dev/urandom >/tmp/emfs-c
cp /tmp/emfs-c $mnt/c
before=$(free_blocks)
parked=$(cat $dbg/parked)
echo $bs >$dbg/wb_park_offset
echo "$ino" >$dbg/wb_park_ino
sync &
sync_pid=$!
wait_parked() {
	for _ in $(seq 200); do
		[ "$(cat $dbg/parked)" != "$parked" ] && return 0
		sleep 0.05
	done
	return 1
}
ktap_test_result "emfs writeback: a batch's first allocation grants a prefix, the rest waits" wait_parked
during=$(free_blocks)
ktap_print_msg "statfs free blocks: $before before writeback, $during between the two allocations"
echo 0 >$dbg/wb_park_ino
echo $(($(cat $dbg/release) + 1)) >$dbg/release
wait $sync_pid
ktap_test_result "emfs writeback: the rest of the batch keeps its reservation" [ "$during" = "$before" ]
drop_and_cmp() { sync && echo 3 >/proc/sys/vm/drop_caches && cmp "$1" "$2"; }
ktap_test_result "emfs writeback: the batch reads back from disk" drop_and_cmp /tmp/emfs-c $mnt/c

# A completion whose map is gone: counted and reported.
touch $mnt/d
ino=$(stat -c %i $mnt/d)
failed=$(cat $dbg/unpin_failed)
expected_kmsg_begin
echo "$ino" >$dbg/drop_before_unpin
head -c $bs /dev/urandom >/tmp/emfs-d
cp /tmp/emfs-d $mnt/d && sync
expected_kmsg_end
ktap_test_result "emfs writeback: an unpin that finds no map is counted" \
	[ "$(cat $dbg/unpin_failed)" = $((failed + 1)) ]
reported() { log_since_mark | grep -q "inode $ino: written range \[0, $bs) not unpinned"; }
ktap_test_result "emfs writeback: and reported" reported
ktap_test_result "emfs writeback: the data is recorded all the same" drop_and_cmp /tmp/emfs-d $mnt/d

umount $mnt
ktap_test_result "emfs writeback: fsck clean" fsck_clean $dev
ktap_test_no_problems "emfs writeback: no kernel warnings"
modprobe -r emfs
ktap_finished
