#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`: extmap's extent-map operations timed next to btrfs's own
# extent_map.c, inside the kernel, interleaved in one VM boot
# (selftests/bench.sh), emfs's I/O next to btrfs's and the raw disk's, and the
# shrinker under memory pressure; then the report in build/bench/: extmap.csv,
# extmap.md, extmap.svg, io.csv, io.md, shrinker.csv. A benchmark, not a test: under TCG only the ratios of one
# boot mean anything. Results go into Documentation/performance.rst by hand.
#
#   BENCH_SIZES="1000 100000 1000000"   tree sizes
#   BENCH_REPS=5                        repetitions (medians)
#   SHRINK_EXTENTS=500000 SHRINK_REPS=3 the shrinker's file and its walks

source "$(dirname "$0")/common.sh"

KERNEL=${KERNEL:-default}
OUT=$SRCTREE/build
export BENCH_SIZES=${BENCH_SIZES:-1000 100000 1000000}
export BENCH_REPS=${BENCH_REPS:-5}
export VM_MEM=${VM_MEM:-2G}
# The shrinker's file: 500,000 data extents and as many holes, 10^6 maps.
export SHRINK_EXTENTS=${SHRINK_EXTENTS:-500000}
export SHRINK_REPS=${SHRINK_REPS:-3}
export VM_TIMEOUT=${VM_TIMEOUT:-5400}

"$SRCTREE/scripts/setup-host.sh"
command -v gnuplot >/dev/null || {
	log "installing gnuplot-nox (the plot)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gnuplot-nox >/dev/null
}
KSRC=$("$SRCTREE/scripts/kernel.sh" "$KERNEL")
"$SRCTREE/scripts/module.sh" "$KSRC" >"$OUT/module-build.log" 2>&1 ||
	{ cat "$OUT/module-build.log"; die "module build failed"; }
"$SRCTREE/scripts/initramfs.sh" "$KSRC" "$OUT"
log "benchmark: sizes $BENCH_SIZES, $BENCH_REPS repetitions, btrfs and extmap interleaved"
"$SRCTREE/scripts/vm.sh" bench "$KSRC" "$OUT"
"$SRCTREE/scripts/bench_report.py" "$OUT/bench/raw.csv" "$OUT/bench"
gnuplot "$OUT/bench/extmap.gp"
cat "$OUT/bench/extmap.md" "$OUT/bench/io.md"
log "report: $OUT/bench/extmap.{csv,md,svg}, io.{csv,md}, shrinker.csv"
