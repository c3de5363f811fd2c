#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The extent-map shrinker. /dev/vde holds one file of SHRINK_EXTENTS (default
# 50,000; make check-extended: 1,000,000) one-block data extents between
# one-block holes (emfs-fuzz holes, written by scripts/vm.sh). holes_walk reads
# it with SEEK_DATA, SEEK_HOLE and pread while the file stays open: every seek
# caches a map, and no folio stands behind the holes' maps, so only the shrinker
# can reclaim them.
# Checked: a walk of the first 50,000 extents reads right (every 8th block);
# their maps stay cached after it; the shrinkers (drop_caches 2) reclaim them
# while the file is open; under memory pressure (a process holding all but
# 64 MiB) a walk of the whole file (50,000 blocks read, spread over it)
# finishes right with the shrinker freeing maps as it goes, the maps alive
# bounded (with 1,000,000 extents or more, a test of its own says so:
# 2,000,000 maps of 104 bytes would not fit in the 64 MiB left); the counters
# add up; eviction and unmount while the shrinkers run leave no map; fsck is
# clean; no warning.

. "$(dirname "$0")/lib.sh"

here=$(dirname "$0")

dev=/dev/vde
mnt=/mnt/holes
extents=${SHRINK_EXTENTS:-50000}
# The part walked without pressure: its maps must all fit in memory.
first=$((extents < 50000 ? extents : 50000))
million=1000000
dbg=/sys/kernel/debug

ktap_print_header
ktap_set_plan $((extents >= million ? 9 : 8))
modprobe emfs || ktap_exit_fail_msg "modprobe emfs failed"
mkdir -p $mnt
mount -t emfs $dev $mnt || ktap_exit_fail_msg "mount of the holes image failed"
log_mark

# One value of holes_walk's output ($1) by key ($2).
value() { sed -n "s/^$2=//p" "$1"; }
shrink_counter() { cat $dbg/extmap/shrink_$1; }

# Holds the file open for the whole test: its inode, and so its maps, stay.
exec 4<$mnt/holes
alive0=$(extmap_counter maps_alive)
# Every extent sought, every 8th block read: the walk under pressure below
# reads every block of the default file.
"$here/holes_walk" -n $first -s 8 $mnt/holes $extents >/tmp/walk1
rc=$?
sed 's/^/# /' /tmp/walk1
ktap_test_result "shrinker: a SEEK_DATA/SEEK_HOLE walk finds every extent and reads right" [ $rc = 0 ]

cached=$(( $(extmap_counter maps_alive) - alive0 ))
ktap_print_msg "maps cached by the walk: $cached (of $((2 * first)) data and hole maps)"
# The holes' maps at least: nothing but the shrinker frees them now.
ktap_test_result "shrinker: the walk's maps stay cached while the file is open" [ $cached -ge $first ]

freed=$(shrink_counter freed)
echo 2 >/proc/sys/vm/drop_caches
left=$(( $(extmap_counter maps_alive) - alive0 ))
freed=$(( $(shrink_counter freed) - freed ))
ktap_print_msg "drop_caches 2: $cached -> $left maps, the shrinker freed $freed"
ktap_test_result "shrinker: the shrinkers reclaim the maps of the open file" \
	[ $left -le $((cached / 100)) -a $freed -ge $((cached - left)) ]

# Under pressure: all memory but 64 MiB held by a process (no swap); every
# extent of the whole file sought, and 50,000 of them, evenly spread, read.
freed=$(shrink_counter freed)
calls=$(shrink_counter calls_total)
"$here/holes_walk" -l 64 -s $(((extents + 49999) / 50000)) $mnt/holes $extents >/tmp/walk2
rc=$?
sed 's/^/# /' /tmp/walk2
freed=$(( $(shrink_counter freed) - freed ))
calls=$(( $(shrink_counter calls_total) - calls ))
peak=$(( $(value /tmp/walk2 peak_maps) - alive0 ))
ktap_print_msg "under pressure ($(value /tmp/walk2 hog_mb) MiB held): $extents extents, peak $peak maps (of $((2 * extents))), $calls shrinker calls freed $freed, longest call $(shrink_counter max_call_ns) ns"
# Without the shrinker the holes' maps alone, $extents, stay to the end.
ktap_test_result "shrinker: under memory pressure the walk reads right and maps are reclaimed as it goes" \
	[ $rc = 0 -a $freed -gt 0 -a $peak -lt $extents ]
# The size the issue asks for: a million extents, two million maps, at most
# a fifth of which were ever alive at once.
if [ $extents -ge $million ]; then
	ktap_test_result "shrinker: 1,000,000 extents read under pressure with the maps alive bounded" \
		[ $rc = 0 -a $peak -lt $((2 * extents / 5)) ]
fi

# Every map looked at was either freed or kept for a reason.
kept=0
for why in pinned logging held modified new; do
	n=$(shrink_counter kept_$why)
	ktap_print_msg "kept ($why): $n"
	kept=$((kept + n))
done
scanned=$(shrink_counter scanned)
ktap_print_msg "scanned $scanned, freed $(shrink_counter freed), trees skipped while locked $(shrink_counter trees_busy), calls skipped while another ran $(shrink_counter busy)"
ktap_test_result "shrinker: scanned = freed + kept" [ "$scanned" = $(( $(shrink_counter freed) + kept )) ]

# Eviction and unmount while the shrinkers run, the last walk's maps still
# cached: the file is closed, so drop_caches may evict its inode (all its maps)
# while the shrinker walks them; the VFS frees a super block's shrinker before
# it is torn down. Nothing may be left or reported.
ktap_print_msg "maps cached before the unmount: $(( $(extmap_counter maps_alive) - alive0 ))"
exec 4<&-
( for i in $(seq 1 50); do echo 2 >/proc/sys/vm/drop_caches; done ) &
dropper=$!
sleep 1
umount $mnt
rc=$?
wait $dropper
ktap_test_result "shrinker: eviction and unmount while the shrinkers run leave no map" \
	[ $rc = 0 -a "$(extmap_counter maps_alive)" = "$alive0" ]
ktap_test_result "shrinker: fsck clean afterwards" fsck_clean $dev
ktap_test_no_problems "shrinker: no kernel warnings"
ktap_finished
