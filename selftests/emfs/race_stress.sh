#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The merge rule under load, through emfs (race_stress.c): readers verify a
# known pattern through read_folio while writers rewrite it with the same
# bytes (new extents whose maps merge when fsync clears their LOGGING flag),
# fsync/fdatasync loop, pages are dropped (fadvise, drop_caches) and a memory
# hog forces reclaim (release_folio). Every byte must verify, fsck must be
# clean, no warning, and the counters must show that merges were refused
# because a reader held the map (the race window was reached) and that merges
# happened. The extent-map shrinker runs meanwhile (drop_caches 3 calls it, and
# the hog's pressure): it must have looked at maps, and the file stay intact.
# STRESS_SECONDS (default 60) sets the length.

. "$(dirname "$0")/lib.sh"

dev=/dev/vdb
mnt=/mnt/emfs
here=$(dirname "$0")
seconds=${STRESS_SECONDS:-60}

ktap_print_header
ktap_set_plan 6

emfs_prepare $dev
log_mark
mount -t emfs $dev $mnt || ktap_exit_fail_msg "mount failed"

refused=$(extmap_counter merges_refused)
merges=$(extmap_counter merges)
drops=$(extmap_counter drops)
scanned=$(extmap_counter shrink_scanned)
freed=$(extmap_counter shrink_freed)
"$here/race_stress" -t "$seconds" -r 3 -m $mnt/stress >/tmp/stress.out
rc=$?
sed 's/^/# /' /tmp/stress.out
refused=$(( $(extmap_counter merges_refused) - refused ))
merges=$(( $(extmap_counter merges) - merges ))
drops=$(( $(extmap_counter drops) - drops ))
scanned=$(( $(extmap_counter shrink_scanned) - scanned ))
freed=$(( $(extmap_counter shrink_freed) - freed ))
ktap_print_msg "${seconds}s: merges $merges, refused because a reader held the map $refused, maps dropped $drops, commits $(cat /sys/kernel/debug/emfs/commits)"
ktap_test_result "race stress: every read verified, the file intact" [ $rc = 0 ]
ktap_test_result "race stress: merges refused while readers held maps (window reached)" [ $refused -gt 0 ]
ktap_test_result "race stress: merges happened" [ $merges -gt 0 ]
ktap_print_msg "the shrinker looked at $scanned maps and freed $freed"
ktap_test_result "race stress: the shrinker ran meanwhile" [ $scanned -gt 0 ]
umount $mnt
ktap_test_result "race stress: fsck clean" fsck_clean $dev
ktap_test_no_problems "race stress: no kernel warnings"
modprobe -r emfs
ktap_finished
