#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The guest side of `make bench` (scripts/bench.sh): the extent-map workloads of
# the script language's `bench` operation (Documentation/extmap-script.rst),
# timed inside the kernel by btrfs's interpreter and by extmap's, interleaved
# in this one boot, the side that goes first alternating from one repetition to
# the next (btrfs first in odd ones). Prints CSV lines
#   run,SIZE,OP,REP,SIDE,NS,OPS
# then emfs's I/O next to btrfs's and the raw disk's, the shrinker's walks
# (each section below says its lines), the slab caches' sizes, and "# ..."
# progress lines.
#
#   harness_bench_sizes=1000,100000 harness_bench_reps=5
#   harness_bench_parts=extmap,io,shrink harness_bench_ops=lookup_hit,...
#                                               on the kernel command line.

sizes=$(sed -n 's/.*harness_bench_sizes=\([0-9,]*\).*/\1/p' /proc/cmdline | tr ',' ' ')
reps=$(sed -n 's/.*harness_bench_reps=\([0-9]*\).*/\1/p' /proc/cmdline)
parts=$(sed -n 's/.*harness_bench_parts=\([a-z,]*\).*/\1/p' /proc/cmdline | tr ',' ' ')
sizes=${sizes:-1000 100000 1000000}
reps=${reps:-5}
parts=${parts:-extmap io shrink}
part() { case " $parts " in *" $1 "*) return 0 ;; esac; return 1; }
# drop_all_wait answers a reader's longest wait for the lock while the tree is
# dropped (ns) and how often it got the lock (ops), not a time per operation.
ops="add_asc add_rand add_merge lookup_hit lookup_miss lookup_hold_put drop_all drop_split unpin clearlog_merge drop_all_wait"
only=$(sed -n 's/.*harness_bench_ops=\([a-z_,]*\).*/\1/p' /proc/cmdline | tr ',' ' ')
ops=${only:-$ops}

modprobe btrfs || { echo "# error: modprobe btrfs"; exit 1; }
modprobe emfs || { echo "# error: modprobe emfs"; exit 1; }

echo "# bench: sizes $sizes, $reps repetitions, parts $parts, $(nproc) CPUs, $(uname -r)"
part extmap && for size in $sizes; do
	for op in $ops; do
		for rep in $(seq 1 "$reps"); do
			echo "# bench: $op, $size maps, repetition $rep of $reps"
			printf 'bench %s %s\n' "$op" "$size" >/tmp/bench.script
			sides="btrfs extmap"
			[ $((rep % 2)) = 0 ] && sides="extmap btrfs"
			for side in $sides; do
				out=$(extmap-diff exec $side /tmp/bench.script 2>&1)
				ns=$(echo "$out" | sed -n 's/.* ns=\([0-9]*\) ops=\([0-9]*\).*/\1,\2/p')
				if [ -z "$ns" ]; then
					echo "# error: $side: $out"
					continue
				fi
				echo "run,$size,$op,$rep,$side,$ns"
				# Whether extmap's drop let the reader in at all.
				[ "$op/$side" = drop_all_wait/extmap ] &&
					echo "# bench: extmap drop_yields so far: $(cat /sys/kernel/debug/extmap/drop_yields)"
			done
		done
	done
done

# emfs's I/O next to btrfs's and the raw disk's (the upper limit), interleaved:
#   io,WORKLOAD,TARGET,REP,VALUE,UNIT
# on a 256 MiB disk each: emfs /dev/vda, btrfs /dev/vdb, raw /dev/vdd.
mib=${IO_MIB:-128}
bench=/ksft/emfs
io_part() {
	mkdir -p /mnt/emfs /mnt/btrfs
	mkfs.emfs /dev/vda >/dev/null && mount -t emfs /dev/vda /mnt/emfs ||
		echo "# error: emfs"
	mkfs.btrfs -q -f /dev/vdb >/dev/null && mount /dev/vdb /mnt/btrfs ||
		echo "# error: btrfs"
	emit() { # TARGET REP: io_bench's "WORKLOAD VALUE UNIT" lines on stdin
		while read -r w v u; do echo "io,$w,$1,$2,$v,$u"; done
	}
	for rep in $(seq 1 "$reps"); do
		for target in emfs btrfs raw; do
			echo "# bench: I/O, $target, repetition $rep of $reps"
			case $target in
			raw) big=/dev/vdd small=/dev/vdd ;;
			*) big=/mnt/$target/big small=/mnt/$target/small
			   rm -f "$big" "$small" ;;
			esac
			sync
			echo 3 >/proc/sys/vm/drop_caches
			$bench/io_bench seq_write "$big" "$mib" | emit $target $rep
			echo 3 >/proc/sys/vm/drop_caches
			$bench/io_bench seq_read "$big" "$mib" | emit $target $rep
			echo 3 >/proc/sys/vm/drop_caches
			$bench/io_bench rand_read "$big" "$mib" 2000 | emit $target $rep
			$bench/io_bench fsync "$small" 200 | emit $target $rep
		done
	done
	for n in 1 2 4 8 16 32 64 128 256; do
		echo "bios,$n,$(cat /sys/kernel/debug/emfs/read_bios_$n)"
	done
	umount /mnt/emfs
	umount /mnt/btrfs
}
part io && io_part

# The extent-map shrinker on /dev/vde (scripts/vm.sh: SHRINK_EXTENTS one-block
# data extents between one-block holes, two maps each): holes_walk without and
# with memory pressure, interleaved, each from cold caches, the file kept open:
#   shrink,PHASE,REP,MAPS,WALK_MS,MIB_S,PEAK_MAPS
# where the walk's time went (its own CPU time, kswapd's, reclaim counters;
# holes_walk.c):
#   walkstat,PHASE,REP,NAME,VALUE
# and the duration of every shrinker call during the walks under pressure:
#   shrinkcall,REP,NS
extents=$(sed -n 's/.*harness_shrink_extents=\([0-9]*\).*/\1/p' /proc/cmdline)
shrink_reps=$(sed -n 's/.*harness_shrink_reps=\([0-9]*\).*/\1/p' /proc/cmdline)
shrink_reps=${shrink_reps:-3}
mkdir -p /mnt/holes
if ! part shrink; then
	:
elif [ -n "$extents" ] && mount -t emfs /dev/vde /mnt/holes; then
	exec 4</mnt/holes/holes
	for rep in $(seq 1 "$shrink_reps"); do
		for phase in free pressure; do
			echo "# bench: shrinker, $((2 * extents)) maps, $phase, repetition $rep of $shrink_reps"
			echo 3 >/proc/sys/vm/drop_caches
			leave=
			[ $phase = pressure ] && leave="-l 64"
			exec 5<>/sys/kernel/debug/extmap/shrink_calls
			echo reset >&5
			cat <&5 >/dev/null
			exec 5<&-
			$bench/holes_walk $leave /mnt/holes/holes "$extents" >/tmp/walk ||
				echo "# error: holes_walk: $(tr '\n' ' ' </tmp/walk)"
			v() { sed -n "s/^$1=//p" /tmp/walk; }
			echo "shrink,$phase,$rep,$((2 * extents)),$(v walk_ms),$(v mib_s),$(v peak_maps)"
			sed -n "s/^\([a-z_]*_ms\|vm_[a-z0-9_]*\)=/walkstat,$phase,$rep,\1,/p" /tmp/walk
			# Kept for after the walks: 4,096 lines on the serial port would
			# slow the next walk.
			[ $phase = pressure ] &&
				sed "s/^/shrinkcall,$rep,/" /sys/kernel/debug/extmap/shrink_calls >/tmp/calls.$rep
		done
	done
	cat /tmp/calls.*
	exec 4<&-
	umount /mnt/holes
else
	echo "# error: no shrinker image"
fi

# Bytes per map as the slab caches report them (SLUB: object_size and the
# size of each slot, alignment included), and whether each cache is its own:
# SLUB shows a merged cache as a link to the cache it shares, and counts the
# caches sharing one in "aliases".
for c in btrfs_extent_map emfs_extent_map; do
	d=/sys/kernel/slab/$c
	[ -e "$d" ] || continue
	echo "slab,$c,$(cat $d/object_size),$(cat $d/slab_size)"
	shared=own
	[ -L "$d" ] && shared="merged into $(basename "$(readlink "$d")")"
	echo "slabcache,$c,$(cat $d/aliases),$shared"
done
echo "# bench: done"
