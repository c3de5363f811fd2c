#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The guest side of `make bench` (scripts/bench.sh): the extent-map workloads of
# the script language's `bench` operation (Documentation/extmap-script.rst),
# timed inside the kernel by btrfs's interpreter and by extmap's, interleaved
# (btrfs, extmap, btrfs, ...) in this one boot. Prints CSV lines
#   run,SIZE,OP,REP,SIDE,NS,OPS
# then the slab caches' sizes, and "# ..." progress lines.
#
#   harness_bench_sizes=1000,100000 harness_bench_reps=5 on the kernel command line.

sizes=$(sed -n 's/.*harness_bench_sizes=\([0-9,]*\).*/\1/p' /proc/cmdline | tr ',' ' ')
reps=$(sed -n 's/.*harness_bench_reps=\([0-9]*\).*/\1/p' /proc/cmdline)
sizes=${sizes:-1000 100000 1000000}
reps=${reps:-5}
ops="add_asc add_rand add_merge lookup_hit lookup_miss lookup_hold_put drop_all drop_split unpin clearlog_merge"

modprobe btrfs || { echo "# error: modprobe btrfs"; exit 1; }
modprobe emfs || { echo "# error: modprobe emfs"; exit 1; }

echo "# bench: sizes $sizes, $reps repetitions, $(nproc) CPUs, $(uname -r)"
for size in $sizes; do
	for op in $ops; do
		for rep in $(seq 1 "$reps"); do
			echo "# bench: $op, $size maps, repetition $rep of $reps"
			printf 'bench %s %s\n' "$op" "$size" >/tmp/bench.script
			for side in btrfs extmap; do
				out=$(extmap-diff exec $side /tmp/bench.script 2>&1)
				ns=$(echo "$out" | sed -n 's/.* ns=\([0-9]*\) ops=\([0-9]*\).*/\1,\2/p')
				if [ -z "$ns" ]; then
					echo "# error: $side: $out"
					continue
				fi
				echo "run,$size,$op,$rep,$side,$ns"
			done
		done
	done
done

# Bytes per map as the slab caches report them (SLUB: object_size and the
# size of each slot, alignment included).
for c in btrfs_extent_map emfs_extent_map; do
	d=/sys/kernel/slab/$c
	[ -e "$d" ] && echo "slab,$c,$(cat $d/object_size),$(cat $d/slab_size)"
done
echo "# bench: done"
