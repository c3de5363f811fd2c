#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The 2020 btrfs extent-map race, deterministically, through emfs (see
# race_repro.c): a reader parked in the read path holds extent B's map while
# fsync clears B's LOGGING flag and tries to merge B into A. The merge must be
# refused (the counter proves the window was hit), the reader must read B's
# data, and a later fsync must merge B. Then the file must survive a remount
# and fsck must be clean.

. "$(dirname "$0")/lib.sh"

dev=/dev/vdb
mnt=/mnt/emfs
here=$(dirname "$0")

ktap_print_header
ktap_set_plan 10

emfs_prepare $dev
log_mark
mount -t emfs $dev $mnt || ktap_exit_fail_msg "mount failed"

"$here/race_repro" $mnt/race >/tmp/race.out
rc=$?
sed 's/^/# /' /tmp/race.out
value() { sed -n "s/^$1=//p" /tmp/race.out; }
ktap_test_result "race: the sequence ran" [ $rc = 0 ]
ktap_test_result "race: releasing B's pages kept its map (modified, not yet logged)" \
	[ "$(value drops_on_release_before_fsync)" = 0 ]
ktap_test_result "race: a reader parked in the read path holding B's map" [ "$(value parked)" = 1 ]
ktap_test_result "race: fsync's merge of B was refused while the reader held it" \
	[ "$(value refused_during_fsync)" -ge 1 ]
ktap_test_result "race: the reader read B's data" [ "$(value reader_ok)" = 1 ]
ktap_test_result "race: a later fsync merged B" [ "$(value merges_after_release)" -ge 1 ]
ktap_test_result "race: once logged and committed, releasing the pages drops the maps" \
	[ "$(value drops_on_release_after_fsync)" -ge 1 ]

# The file is A, B, C: the same pattern after a remount.
cp $mnt/race /tmp/race.before
umount $mnt
ktap_test_result "race: fsck clean" fsck_clean $dev
mount -t emfs $dev $mnt
ktap_test_result "race: the file reads back the same after a remount" cmp /tmp/race.before $mnt/race
umount $mnt

ktap_test_no_problems "race: no kernel warnings"
modprobe -r emfs
ktap_finished
