#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The same files on emfs and on upstream btrfs, in the same boot: both read
# back identical to the source and to each other, cold (after a remount) and
# again after the caches are dropped. Read-only for now: emfs has no write
# path yet, so the files reach emfs through mkfs.emfs -d and btrfs through cp.

. "$(dirname "$0")/lib.sh"

emfs_dev=/dev/vdb
btrfs_dev=/dev/vda
data=/tmp/compare-data

ktap_print_header
ktap_set_plan 5

mkdir -p $data /mnt/emfs /mnt/btrfs
i=0
for size in 1 4096 12345 262144 1000001 2097152; do
	head -c $size /dev/urandom >$data/f$i
	i=$((i + 1))
done

modprobe emfs || ktap_exit_fail_msg "modprobe emfs failed"
modprobe btrfs || ktap_exit_fail_msg "modprobe btrfs failed"
log_mark

btrfs_ready() {
	mkfs.btrfs -q -f $btrfs_dev &&
		mount -t btrfs $btrfs_dev /mnt/btrfs &&
		cp $data/* /mnt/btrfs/ && sync && umount /mnt/btrfs &&
		mount -t btrfs -o ro $btrfs_dev /mnt/btrfs
}
ktap_test_result "compare: btrfs made, filled and remounted" btrfs_ready
emfs_ready() {
	mkfs.emfs -d $data -e 8 $emfs_dev >/dev/null && mount -t emfs $emfs_dev /mnt/emfs
}
ktap_test_result "compare: emfs made and mounted" emfs_ready

same_everywhere() {
	for f in $data/*; do
		n=$(basename "$f")
		cmp "$f" /mnt/emfs/$n && cmp /mnt/emfs/$n /mnt/btrfs/$n || return 1
		ktap_print_msg "$n: $(stat -c %s "$f") bytes, emfs == btrfs == source"
	done
}
ktap_test_result "compare: cold reads identical on emfs and btrfs" same_everywhere
echo 3 >/proc/sys/vm/drop_caches
ktap_test_result "compare: identical again after drop_caches" same_everywhere

umount /mnt/emfs
umount /mnt/btrfs
ktap_test_no_problems "compare: no kernel warnings"
modprobe -r emfs
modprobe -r btrfs
ktap_finished
