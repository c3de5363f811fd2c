#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`: extmap's extent-map operations timed next to btrfs's own
# extent_map.c, inside the kernel, interleaved in one VM boot
# (selftests/bench.sh), emfs's I/O next to btrfs's and the raw disk's, and the
# shrinker under memory pressure; then the report in build/bench/: extmap.csv,
# extmap.md, extmap.svg, io.csv, io.md, shrinker.csv. A benchmark, not a test: under TCG only the ratios of one
# boot mean anything. Results go into Documentation/performance.rst by hand.
#
#   KERNEL=bench                        the kernel flavour (scripts/kernel.sh): bench
#                                       is built as distributions build theirs;
#                                       KERNEL=default races on the test kernel
#   BENCH_SIZES="1000 100000 1000000"   tree sizes
#   BENCH_REPS=5                        repetitions (medians)
#   BENCH_PARTS="extmap io shrink"      what to run: the extent-map race, the I/O,
#                                       the shrinker
#   BENCH_OPS="lookup_hit drop_split"   only these workloads of the race (default all)
#   SHRINK_EXTENTS=500000 SHRINK_REPS=3 the shrinker's file and its walks

source "$(dirname "$0")/common.sh"

KERNEL=${KERNEL:-bench}
OUT=$SRCTREE/build
mkdir -p "$OUT"
export BENCH_SIZES=${BENCH_SIZES:-1000 100000 1000000}
export BENCH_REPS=${BENCH_REPS:-5}
export BENCH_PARTS=${BENCH_PARTS:-extmap io shrink}
export VM_MEM=${VM_MEM:-2G}
# The shrinker's file: 500,000 data extents and as many holes, 10^6 maps.
case " $BENCH_PARTS " in
*" shrink "*) export SHRINK_EXTENTS=${SHRINK_EXTENTS:-500000} ;;
*) export SHRINK_EXTENTS=1000 ;;
esac
export SHRINK_REPS=${SHRINK_REPS:-3}
export VM_TIMEOUT=${VM_TIMEOUT:-5400}

"$SRCTREE/scripts/setup-host.sh"
command -v gnuplot >/dev/null || {
	log "installing gnuplot-nox (the plot)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gnuplot-nox >/dev/null
}
KSRC=$("$SRCTREE/scripts/kernel.sh" "$KERNEL")
# Named in every output of the report: which kernel, optimised how.
opt=-Os
grep -q '^CONFIG_CC_OPTIMIZE_FOR_PERFORMANCE=y' "$KSRC/.config" && opt=-O2
checks=$(for c in PROVE_LOCKING DEBUG_LIST KFENCE KASAN RUST_DEBUG_ASSERTIONS RUST_OVERFLOW_CHECKS BTRFS_DEBUG BTRFS_ASSERT; do
	if grep -q "^CONFIG_$c=y" "$KSRC/.config"; then echo "$c"; fi
done | paste -sd, -)
kernel="$KERNEL kernel, $(make -s -C "$KSRC" kernelversion 2>/dev/null), $opt (Rust opt-level=${opt#-O}), checks: ${checks:-none}"
log "kernel: $kernel"
"$SRCTREE/scripts/module.sh" "$KSRC" >"$OUT/module-build.log" 2>&1 ||
	{ cat "$OUT/module-build.log"; die "module build failed"; }
# -O2 inlines more than the test kernels' -Os: the frames are checked again on this build.
"$SRCTREE/scripts/stack_check.py" "$SRCTREE/emfs.ko" || die "emfs.ko breaks the kernel-stack rules on the $KERNEL kernel"
"$SRCTREE/scripts/initramfs.sh" "$KSRC" "$OUT"
log "benchmark: $BENCH_PARTS; sizes $BENCH_SIZES, $BENCH_REPS repetitions, btrfs and extmap interleaved"
"$SRCTREE/scripts/vm.sh" bench "$KSRC" "$OUT"
"$SRCTREE/scripts/bench_report.py" "$OUT/bench/raw.csv" "$OUT/bench" "$kernel"
[ -f "$OUT/bench/extmap.gp" ] && gnuplot "$OUT/bench/extmap.gp"
for f in extmap.md io.md; do
	if [ -f "$OUT/bench/$f" ]; then cat "$OUT/bench/$f"; fi
done
log "report: $OUT/bench/extmap.{csv,md,svg}, io.{csv,md}, shrinker.csv"
