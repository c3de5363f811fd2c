#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The 2020 race on btrfs itself, step for step next to emfs
# (Documentation/race.rst): race_repro's sequence on btrfs 6.12 with the
# project's test-only hooks (patches/0003-btrfs-tests-race-hooks.patch) and on
# emfs, in one table. With the fix, btrfs refuses fsync's merge of B while the
# reader holds B's map, the reader reads B's bytes, and a later fsync merges.
# With the fix reverted, in a boot of its own before this one (scripts/vm.sh,
# harness=btrfsbug), the merge stores B's new start, the reader computes B's end
# from it and the kernel stops at the BUG_ON in btrfs_do_readpage(): the host
# passes what that boot's console showed as harness_btrfs_bug=.

. "$(dirname "$0")/lib.sh"

emfs_dev=/dev/vdb
btrfs_dev=/dev/vda
here=$(dirname "$0")

ktap_print_header
ktap_set_plan 9

emfs_prepare $emfs_dev
modprobe btrfs || ktap_exit_fail_msg "modprobe btrfs failed"
[ -e /sys/kernel/debug/btrfs_race/control ] ||
	ktap_exit_fail_msg "btrfs has no race hooks (patches/0003 not applied?)"
mkdir -p /mnt/btrfs
mkfs.btrfs -q -f $btrfs_dev >/dev/null 2>&1 || ktap_exit_fail_msg "mkfs.btrfs failed"
mount -t emfs $emfs_dev /mnt/emfs && mount -t btrfs $btrfs_dev /mnt/btrfs ||
	ktap_exit_fail_msg "mount failed"
log_mark

"$here/race_repro" -t /mnt/emfs/race >/tmp/race-emfs.out
rc_e=$?
"$here/race_repro" -t -b /mnt/btrfs/race >/tmp/race-btrfs.out
rc_b=$?
for fs in emfs btrfs; do
	echo "# $fs:"
	sed 's/^/#   /' /tmp/race-$fs.out
done
e() { sed -n "s/^$1=//p" /tmp/race-emfs.out; }
b() { sed -n "s/^$1=//p" /tmp/race-btrfs.out; }
verdict=$(sed -n 's/.*harness_btrfs_bug=\([a-z]*\).*/\1/p' /proc/cmdline)
printf '# %-44s %-10s %-10s %s\n' "step" emfs btrfs "btrfs, fix reverted"
printf '# %-44s %-10s %-10s %s\n' "reader parked holding B's map" "$(e parked)" "$(b parked)" "1"
printf '# %-44s %-10s %-10s %s\n' "fsync's merge of B refused" "$(e refused_during_fsync)" \
	"$(b refused_during_fsync)" "0: merged"
printf '# %-44s %-10s %-10s %s\n' "the reader read B's bytes" "$(e reader_ok)" "$(b reader_ok)" \
	"${verdict:-?}"
printf '# %-44s %-10s %-10s %s\n' "merges by a later fsync" "$(e merges_after_release)" \
	"$(b merges_after_release)" "-"

ktap_test_result "btrfs race: btrfs: the sequence ran, B right after A on disk" \
	[ $rc_b = 0 -a "$(b contiguous)" = 1 ]
ktap_test_result "btrfs race: btrfs: a reader parked in btrfs_do_readpage holding B's map" \
	[ "$(b parked)" = 1 ]
ktap_test_result "btrfs race: btrfs: fsync's merge of B was refused while the reader held it" \
	[ "$(b refused_during_fsync)" -ge 1 ]
ktap_test_result "btrfs race: btrfs: the reader read B's data" [ "$(b reader_ok)" = 1 ]
ktap_test_result "btrfs race: btrfs: a later fsync merged" [ "$(b merges_after_release)" -ge 1 ]
ktap_test_result "btrfs race: emfs: the same sequence, refused while held, B's data read" \
	[ $rc_e = 0 -a "$(e refused_during_fsync)" -ge 1 -a "$(e reader_ok)" = 1 ]
umount /mnt/emfs /mnt/btrfs
mount -t emfs $emfs_dev /mnt/emfs && mount -t btrfs $btrfs_dev /mnt/btrfs ||
	ktap_exit_fail_msg "remount failed"
ktap_test_result "btrfs race: emfs and btrfs hold the same file after a remount" \
	cmp /mnt/emfs/race /mnt/btrfs/race
umount /mnt/emfs /mnt/btrfs
ktap_print_msg "btrfs with the fix reverted, in a boot of its own: ${verdict:-no verdict}"
ktap_test_result "btrfs race: btrfs with the fix reverted: kernel BUG in btrfs_do_readpage, in a boot of its own" \
	[ "$verdict" = bug ]
ktap_test_no_problems "btrfs race: no kernel warnings"
modprobe -r emfs
ktap_finished
