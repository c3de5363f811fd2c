#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Reads, then writes and fsyncs, on emfs while slab allocations of the task
# fail at random (failslab, debug kernel only): they may fail, nothing may
# crash or warn, and once injection stops every file reads back right, the file
# system still writes, and the image is clean.

. "$(dirname "$0")/lib.sh"

fs=/sys/kernel/debug/failslab
dev=/dev/vdb
mnt=/mnt/emfs
data=/tmp/failslab-data

if [ ! -d $fs ]; then
	ktap_print_header
	ktap_skip_all "failslab is not configured (the debug kernel has it: make check KERNEL=debug)"
	exit $KSFT_SKIP
fi

ktap_print_header
ktap_set_plan 6

mkdir -p $data
for i in 0 1 2 3; do head -c $(( (i + 1) * 400000 )) /dev/urandom >$data/f$i; done
emfs_prepare $dev -d $data -e 2 -g
mount -t emfs $dev $mnt || ktap_exit_fail_msg "mount failed"
log_mark

# Only tasks that ask for it fail (task-filter), sleeping allocations too, quietly.
echo Y >$fs/task-filter
echo N >$fs/ignore-gfp-wait
echo 0 >$fs/verbose
echo 1 >$fs/interval
echo -1 >$fs/times
echo 10 >$fs/probability
failed=0
for round in 1 2 3 4 5 6 7 8; do
	echo 3 >/proc/sys/vm/drop_caches
	for f in $data/*; do
		sh -c "echo 1 >/proc/self/make-it-fail; exec cat $mnt/$(basename $f)" >/dev/null 2>&1 ||
			failed=$((failed + 1))
	done
done
echo 0 >$fs/probability
ktap_print_msg "$failed of 32 reads failed under failslab (probability 10%)"
ktap_test_result "failslab: allocations failed during reads" [ $failed -gt 0 ]

echo 3 >/proc/sys/vm/drop_caches
all_match() { files_match $data $mnt; }
ktap_test_result "failslab: every file reads back right afterwards" all_match

# Writes and fsyncs by a failing task: a file either was written (and then reads
# back) or the write or the fsync said so.
echo 10 >$fs/probability
wfailed=0
for i in 0 1 2 3 4 5 6 7; do
	head -c $(( (i + 1) * 100000 )) /dev/urandom >$data/w$i
	if ! sh -c "echo 1 >/proc/self/make-it-fail; cat $data/w$i >$mnt/w$i && sync -d $mnt/w$i" 2>/dev/null; then
		wfailed=$((wfailed + 1))
		rm -f $mnt/w$i $data/w$i
	fi
done
echo 0 >$fs/probability
ktap_print_msg "$wfailed of 8 writes with fsync failed under failslab"
ktap_test_result "failslab: allocations failed during writes" [ $wfailed -gt 0 ]
still_writes() {
	head -c 300000 /dev/urandom >$data/after && cp $data/after $mnt/after && sync &&
		echo 3 >/proc/sys/vm/drop_caches && all_match
}
ktap_test_result "failslab: the file system still writes, every file reads back" still_writes
umount $mnt
ktap_test_result "failslab: fsck clean" fsck.emfs $dev
ktap_test_no_problems "failslab: no kernel warnings"
modprobe -r emfs
ktap_finished
