#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Concurrent readers on emfs while the caches are dropped again and again:
# readers hold maps while neighbouring maps are loaded and merge with them, or
# while drop_caches releases them. Every byte must read back right. Runs
# STRESS_SECONDS (default 20) seconds.

. "$(dirname "$0")/lib.sh"

dev=/dev/vdb
mnt=/mnt/emfs
data=/tmp/emfs-stress
seconds=${STRESS_SECONDS:-20}

ktap_print_header
ktap_set_plan 5

mkdir -p $data
for i in 0 1 2 3 4 5; do
	head -c $(( (i + 1) * 700000 + i * 1111 )) /dev/urandom >$data/f$i
done
# Contiguous extents of 2 blocks: neighbouring maps merge as they are loaded.
emfs_prepare $dev -d $data -e 2
mount -t emfs $dev $mnt || ktap_exit_fail_msg "mount failed"
log_mark
merges=$(extmap_counter merges)
drops=$(extmap_counter drops)

end=$(( $(date +%s) + seconds ))
rm -f /tmp/stress-fail /tmp/stress-reads
reader() {
	n=0
	while [ "$(date +%s)" -lt $end ]; do
		f=f$(( (RANDOM + $1) % 6 ))
		cmp $data/$f $mnt/$f >/dev/null || echo "$f" >>/tmp/stress-fail
		n=$((n + 1))
	done
	echo $n >>/tmp/stress-reads
}
dropper() {
	while [ "$(date +%s)" -lt $end ]; do
		echo 3 >/proc/sys/vm/drop_caches
		sleep 0.2
	done
}
reader 0 & reader 1 & reader 2 & dropper &
wait

reads=$(awk '{ s += $1 } END { print s + 0 }' /tmp/stress-reads)
ktap_print_msg "$reads file reads in ${seconds}s; merges $merges -> $(extmap_counter merges); drops $drops -> $(extmap_counter drops)"
[ -f /tmp/stress-fail ] && sed 's/^/# mismatch: /' /tmp/stress-fail
ktap_test_result "emfs stress: every concurrent read matched" [ ! -f /tmp/stress-fail -a "$reads" -gt 0 ]
ktap_test_result "emfs stress: maps merged while read" [ "$(extmap_counter merges)" -gt "$merges" ]
ktap_test_result "emfs stress: maps released by drop_caches" [ "$(extmap_counter drops)" -gt "$drops" ]
umount $mnt
ktap_test_result "emfs stress: fsck clean" fsck.emfs $dev
ktap_test_no_problems "emfs stress: no kernel warnings"
modprobe -r emfs
ktap_finished
