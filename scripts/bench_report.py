#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn make bench's raw measurements into the report.

Usage: bench_report.py RAW_CSV OUT_DIR

RAW_CSV is what selftests/bench.sh printed in the guest:
    run,SIZE,OP,REP,SIDE,NS,OPS      one timed run (NS for OPS operations)
    slab,CACHE,OBJECT_SIZE,SLAB_SIZE the slab caches' sizes
Writes into OUT_DIR:
    extmap.csv   operation,maps,btrfs_ns,extmap_ns,ratio (medians of ns per operation;
                 ratio = extmap_ns / btrfs_ns), then bytes_per_map,0,<btrfs>,<extmap>,<ratio>
    extmap.md    the same as a Markdown table, with the spread (min-max) of each side
    extmap.gp    a gnuplot script: ns/op against tree size, both sides, log scales
                 (scripts/bench.sh renders it to extmap.svg)
Exits 1 if a measurement is missing.
"""

import csv
import statistics
import sys
from collections import defaultdict


def main():
    raw, out = sys.argv[1], sys.argv[2]
    runs = defaultdict(list)  # (op, size, side) -> [ns per op]
    slab = {}
    order = []
    with open(raw, errors='replace') as f:
        for row in csv.reader(line for line in f if not line.startswith('#')):
            if len(row) == 7 and row[0] == 'run':
                _, size, op, _rep, side, ns, ops = row
                key = (op, int(size))
                if key not in order:
                    order.append(key)
                runs[(op, int(size), side)].append(int(ns) / max(int(ops), 1))
            elif len(row) == 4 and row[0] == 'slab':
                slab[row[1]] = int(row[3])
    if not order:
        print('bench_report: no measurements', file=sys.stderr)
        return 1

    missing = 0
    rows = []
    for op, size in order:
        b, e = runs.get((op, size, 'btrfs'), []), runs.get((op, size, 'extmap'), [])
        if not b or not e:
            print(f'bench_report: {op} at {size}: a side is missing', file=sys.stderr)
            missing += 1
            continue
        mb, me = statistics.median(b), statistics.median(e)
        rows.append((op, size, mb, me, me / mb, (min(b), max(b)), (min(e), max(e)), len(b)))

    with open(f'{out}/extmap.csv', 'w') as f:
        f.write('operation,maps,btrfs_ns,extmap_ns,ratio\n')
        for op, size, mb, me, r, *_ in rows:
            f.write(f'{op},{size},{mb:.1f},{me:.1f},{r:.3f}\n')
        b, e = slab.get('btrfs_extent_map'), slab.get('emfs_extent_map')
        if b and e:
            f.write(f'bytes_per_map,0,{b},{e},{e / b:.3f}\n')

    with open(f'{out}/extmap.md', 'w') as f:
        f.write('| operation | maps | btrfs ns/op (min-max) | extmap ns/op (min-max) | extmap/btrfs |\n')
        f.write('|---|---:|---:|---:|---:|\n')
        for op, size, mb, me, r, sb, se, n in rows:
            f.write(f'| {op} | {size} | {mb:.0f} ({sb[0]:.0f}-{sb[1]:.0f}) | '
                    f'{me:.0f} ({se[0]:.0f}-{se[1]:.0f}) | {r:.2f} |\n')
        if slab:
            f.write('\n| slab cache | bytes per map |\n|---|---:|\n')
            for c, v in sorted(slab.items()):
                f.write(f'| {c} | {v} |\n')
        f.write(f'\nMedians of {rows[0][7]} interleaved runs per side, ns per operation.\n')

    ops = list(dict.fromkeys(op for op, *_ in rows))
    with open(f'{out}/extmap.gp', 'w') as f:
        f.write('set terminal svg size 1400,620 font "sans,10"\n')
        f.write(f'set output "{out}/extmap.svg"\n')
        f.write('set logscale xy\nset format x "10^{%L}"\nset key top left\n')
        f.write('set multiplot layout 2,5 title "extmap vs btrfs extent_map.c: ns per operation '
                'against maps in the tree (medians, log scales)"\n')
        for op in ops:
            pts = [(s, mb, me) for o, s, mb, me, *_ in rows if o == op]
            f.write(f'set title "{op}"\n')
            f.write('plot "-" using 1:2 with linespoints title "btrfs", '
                    '"-" using 1:2 with linespoints title "extmap"\n')
            for col in (1, 2):
                for p in pts:
                    f.write(f'{p[0]} {p[col]:.1f}\n')
                f.write('e\n')
        f.write('unset multiplot\n')
    return 1 if missing else 0


if __name__ == '__main__':
    sys.exit(main())
