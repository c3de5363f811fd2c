#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The same workloads on emfs and on upstream btrfs, in the same boot, with the
# results compared byte for byte and printed as a table:
#  - read:  files put on emfs by mkfs.emfs -d and on btrfs by cp, read cold
#           and after drop_caches;
#  - copy:  the same files written with cp on both, read after a remount;
#  - race:  the deterministic 2020 race sequence (race_repro; on btrfs without
#           the emfs hook), the files after a remount;
#  - fsx:   two seeded fsx_lite runs (writes, truncate, fallocate, punch,
#           mmap, fsync, cache drops), each file equal to the model and to the
#           other file system's, after a remount;
#  - readdir: names made and renamed while a directory is read
#           (readdir_bound), the same on both.

. "$(dirname "$0")/lib.sh"

emfs_dev=/dev/vdb
btrfs_dev=/dev/vda
data=/tmp/compare-data
here=$(dirname "$0")

ktap_print_header
ktap_set_plan 10

mkdir -p $data /mnt/emfs /mnt/btrfs
rm -rf "${data:?}"/*
i=0
for size in 1 4096 12345 262144 1000001 2097152; do
	head -c $size /dev/urandom >$data/f$i
	i=$((i + 1))
done

modprobe emfs || ktap_exit_fail_msg "modprobe emfs failed"
modprobe btrfs || ktap_exit_fail_msg "modprobe btrfs failed"
log_mark

table=()
row() { table+=("$(printf '| %-8s | %-26s | %-26s | %-9s |' "$@")"); }

btrfs_ready() {
	mkfs.btrfs -q -f $btrfs_dev >/dev/null 2>&1 &&
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
	done
}
if same_everywhere; then
	echo 3 >/proc/sys/vm/drop_caches
	same_everywhere && r=identical || r=DIFFERENT
else
	r=DIFFERENT
fi
row read "6 files, $(du -sk $data | cut -f1) KiB" "6 files" "$r"
ktap_test_result "compare: read: identical cold and after drop_caches" [ $r = identical ]
umount /mnt/emfs /mnt/btrfs

# From here on both are written by the same programs.
mkfs.btrfs -q -f $btrfs_dev >/dev/null 2>&1 && mount -t btrfs $btrfs_dev /mnt/btrfs
mkfs.emfs $emfs_dev >/dev/null && mount -t emfs $emfs_dev /mnt/emfs
remount_both() {
	umount /mnt/emfs /mnt/btrfs &&
		mount -t emfs $emfs_dev /mnt/emfs && mount -t btrfs $btrfs_dev /mnt/btrfs
}
# Milliseconds "$@" took (from /proc/uptime, in hundredths); its exit status.
now_ms() { local up _; read -r up _ </proc/uptime; echo $(( 10 * 10#${up/./} )); }
elapsed() { local t0 rc; t0=$(now_ms); "$@" >/dev/null; rc=$?; echo $(( $(now_ms) - t0 )); return $rc; }

te=$(elapsed cp $data/f0 $data/f1 $data/f2 $data/f3 $data/f4 $data/f5 /mnt/emfs/)
tb=$(elapsed cp $data/f0 $data/f1 $data/f2 $data/f3 $data/f4 $data/f5 /mnt/btrfs/)
remount_both
copy_same() {
	for f in $data/*; do
		n=$(basename "$f")
		cmp "$f" /mnt/emfs/$n && cmp "$f" /mnt/btrfs/$n || return 1
	done
}
copy_same && r=identical || r=DIFFERENT
row copy "cp ${te} ms" "cp ${tb} ms" "$r"
ktap_test_result "compare: copy: identical after a remount" [ $r = identical ]

"$here/race_repro" /mnt/emfs/race >/tmp/race-emfs.out
"$here/race_repro" -n /mnt/btrfs/race >/tmp/race-btrfs.out
remount_both
cmp /mnt/emfs/race /mnt/btrfs/race && r=identical || r=DIFFERENT
row race "refused $(sed -n 's/^refused_during_fsync=//p' /tmp/race-emfs.out), reader ok $(sed -n 's/^reader_ok=//p' /tmp/race-emfs.out)" \
	"reader ok $(sed -n 's/^reader_ok=//p' /tmp/race-btrfs.out)" "$r"
ktap_test_result "compare: race: the same file on both" [ $r = identical ]

for seed in 11 12; do
	te=$(elapsed "$here/fsx_lite" -n 1500 -s $seed -l 1048576 -o /tmp/model-$seed /mnt/emfs/fsx$seed)
	ok_e=$?
	tb=$(elapsed "$here/fsx_lite" -n 1500 -s $seed -l 1048576 /mnt/btrfs/fsx$seed)
	ok_b=$?
	remount_both
	if [ $ok_e = 0 ] && [ $ok_b = 0 ] && cmp /tmp/model-$seed /mnt/emfs/fsx$seed &&
		cmp /mnt/emfs/fsx$seed /mnt/btrfs/fsx$seed; then
		r=identical
	else
		r=DIFFERENT
	fi
	row "fsx $seed" "1500 ops ${te} ms, rc $ok_e" "1500 ops ${tb} ms, rc $ok_b" "$r"
	ktap_test_result "compare: fsx seed $seed: emfs == btrfs == model" [ $r = identical ]
done

# Names made and renamed while a directory is read, one entry per getdents64.
re=$("$here/readdir_bound" /mnt/emfs rd)
ok_e=$?
rb=$("$here/readdir_bound" /mnt/btrfs rd)
ok_b=$?
[ $ok_e = 0 ] && [ $ok_b = 0 ] && [ "$re" = "$rb" ] && r=identical || r=DIFFERENT
echo "# readdir: emfs: $re (exit $ok_e)"
echo "# readdir: btrfs: $rb (exit $ok_b)"
row readdir "exit $ok_e" "exit $ok_b" "$r"
ktap_test_result "compare: readdir: names made during a reading wait for a rewind, renames end, on both" \
	[ $r = identical ]

umount /mnt/emfs /mnt/btrfs
ktap_test_result "compare: fsck.emfs clean afterwards" fsck_clean $emfs_dev

echo "# $(printf '| %-8s | %-26s | %-26s | %-9s |' workload emfs btrfs result)"
for line in "${table[@]}"; do
	echo "# $line"
done
ktap_test_no_problems "compare: no kernel warnings"
modprobe -r emfs
modprobe -r btrfs
ktap_finished
