#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn make bench's raw measurements into the report.

Usage: bench_report.py RAW_CSV OUT_DIR [KERNEL]

KERNEL names the kernel the numbers come from (flavour, optimisation level, checks); every
report names it.

RAW_CSV is what selftests/bench.sh printed in the guest:
    run,SIZE,OP,REP,SIDE,NS,OPS      one timed run (NS for OPS operations); for
                                     drop_all_wait, NS is a reader's longest wait for
                                     the lock during the drop and OPS its reads
    slab,CACHE,OBJECT_SIZE,SLAB_SIZE the slab caches' sizes
    slabcache,CACHE,ALIASES,SHARED   whether the cache is its own ("own") or merged
    io,WORKLOAD,TARGET,REP,VALUE,UNIT  one I/O measurement (target emfs, btrfs or raw)
    bios,BLOCKS,COUNT                emfs's readahead bios of BLOCKS to 2*BLOCKS-1 blocks
    shrink,PHASE,REP,MAPS,WALK_MS,MIB_S,PEAK_MAPS  one walk of the shrinker's file
                                     (PHASE free or pressure)
    walkstat,PHASE,REP,NAME,VALUE    where that walk's time went (its user and system time,
                                     kswapd's, reclaim counters of /proc/vmstat)
    shrinkcall,REP,NS                one shrinker call during a walk under pressure
Writes into OUT_DIR:
    extmap.csv   operation,maps,btrfs_ns,extmap_ns,ratio (medians of ns per operation, of
                 the longest wait for drop_all_wait;
                 ratio = extmap_ns / btrfs_ns), then bytes_per_map,0,<btrfs>,<extmap>,<ratio>
    extmap.md    the same as a Markdown table, with the spread (min-max) of each side
    extmap.gp    a gnuplot script: ns/op against tree size, both sides, log scales
                 (scripts/bench.sh renders it to extmap.svg)
    io.csv       workload,target,value,unit (medians), e.g. seq_read,emfs,412.5,MiB/s
    shrinker.csv maps,max_call_ms,p99_call_ms,throughput_ratio (the longest shrinker call and
                 the 99th percentile under pressure; median read throughput of the walks under
                 pressure over those without)
    io.md        both as Markdown, with emfs/raw and emfs/btrfs ratios, the bio sizes, each
                 walk and where its time went (the shrinker's calls among it)
Exits 1 if a measurement of a part that ran is missing.
"""

import csv
import statistics
import sys
from collections import defaultdict


# Workloads whose NS is a latency (the longest wait), not a total to divide by OPS.
LATENCY = ('drop_all_wait',)


def main():
    raw, out = sys.argv[1], sys.argv[2]
    kernel = sys.argv[3] if len(sys.argv) > 3 else 'kernel not named'
    runs = defaultdict(list)  # (op, size, side) -> [ns per op]
    slab = {}
    slabcache = {}
    order = []
    io = defaultdict(list)  # (workload, target) -> values
    units = {}
    bios = []
    walks = defaultdict(list)  # phase -> [(maps, walk_ms, mib_s, peak)]
    calls = defaultdict(list)  # rep -> [ns]
    walkstat = defaultdict(dict)  # (phase, rep) -> {name: value}
    with open(raw, errors='replace') as f:
        for row in csv.reader(line for line in f if not line.startswith('#')):
            if len(row) == 6 and row[0] == 'io':
                _, w, target, _rep, v, unit = row
                io[(w, target)].append(float(v))
                units[w] = unit
            elif len(row) == 3 and row[0] == 'bios':
                bios.append((int(row[1]), int(row[2])))
            elif len(row) == 7 and row[0] == 'shrink' and row[4]:
                _, phase, _rep, maps, ms, mib_s, peak = row
                walks[phase].append((int(maps), float(ms), float(mib_s), int(peak), _rep))
            elif len(row) == 5 and row[0] == 'walkstat':
                walkstat[(row[1], row[2])][row[3]] = int(row[4])
            elif len(row) == 3 and row[0] == 'shrinkcall':
                calls[row[1]].append(int(row[2]))
            elif len(row) == 7 and row[0] == 'run':
                _, size, op, _rep, side, ns, ops = row
                key = (op, int(size))
                if key not in order:
                    order.append(key)
                per_op = int(ns) if op in LATENCY else int(ns) / max(int(ops), 1)
                runs[(op, int(size), side)].append(per_op)
            elif len(row) == 4 and row[0] == 'slab':
                slab[row[1]] = int(row[3])
            elif len(row) == 4 and row[0] == 'slabcache':
                slabcache[row[1]] = (int(row[2]), row[3])
    if not order and not io:
        print('bench_report: no measurements', file=sys.stderr)
        return 1
    if not order:
        return 1 if write_io(out, io, units, bios, walks, calls, walkstat, kernel) else 0

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
        f.write(f'On the {kernel}.\n\n')
        f.write('| operation | maps | btrfs ns/op (min-max) | extmap ns/op (min-max) | extmap/btrfs |\n')
        f.write('|---|---:|---:|---:|---:|\n')
        for op, size, mb, me, r, sb, se, n in rows:
            f.write(f'| {op} | {size} | {mb:.0f} ({sb[0]:.0f}-{sb[1]:.0f}) | '
                    f'{me:.0f} ({se[0]:.0f}-{se[1]:.0f}) | {r:.2f} |\n')
        if slab:
            f.write('\n| slab cache | bytes per map |\n|---|---:|\n')
            for c, v in sorted(slab.items()):
                f.write(f'| {c} | {v} |\n')
        for c, (aliases, shared) in sorted(slabcache.items()):
            f.write(f'\n{c}: {shared} cache, {aliases} other caches merged into it.')
        if slabcache:
            f.write('\n')
        f.write(f'\nMedians of {rows[0][7]} interleaved runs per side, ns per operation '
                '(drop_all_wait: a reader\'s longest wait for the lock while the tree is '
                'dropped).\n')

    missing += write_io(out, io, units, bios, walks, calls, walkstat, kernel)

    ops = list(dict.fromkeys(op for op, *_ in rows))
    with open(f'{out}/extmap.gp', 'w') as f:
        f.write('set terminal svg size 1400,620 font "sans,10"\n')
        f.write(f'set output "{out}/extmap.svg"\n')
        f.write('set logscale xy\nset format x "10^{%L}"\nset key top left\n')
        f.write('set multiplot layout 3,4 title "extmap vs btrfs extent_map.c: ns per operation '
                f'against maps in the tree (medians, log scales), {kernel}"\n')
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


def write_io(out, io, units, bios, walks, by_rep, walkstat, kernel):
    """io.csv, shrinker.csv and io.md; returns the number of missing measurements."""
    missing = 0
    workloads = list(dict.fromkeys(w for w, _ in io))
    med = {k: statistics.median(v) for k, v in io.items()}
    with open(f'{out}/io.csv', 'w') as f:
        f.write('workload,target,value,unit\n')
        for w in workloads:
            for t in ('emfs', 'btrfs', 'raw'):
                if (w, t) in med:
                    f.write(f'{w},{t},{med[(w, t)]:.1f},{units[w]}\n')
                else:
                    print(f'bench_report: {w} on {t} is missing', file=sys.stderr)
                    missing += 1
    free, pressure = walks.get('free', []), walks.get('pressure', [])
    shrink = None
    calls = sorted(ns for c in by_rep.values() for ns in c)
    if free and pressure:
        # No call at all is a result too: the pressure never reached the shrinker.
        p99 = calls[min(len(calls) - 1, (len(calls) * 99) // 100)] if calls else 0
        ratio = statistics.median(p[2] for p in pressure) / statistics.median(p[2] for p in free)
        shrink = (free[0][0], (calls[-1] if calls else 0) / 1e6, p99 / 1e6, ratio)
        with open(f'{out}/shrinker.csv', 'w') as f:
            f.write('maps,max_call_ms,p99_call_ms,throughput_ratio\n')
            f.write(f'{shrink[0]},{shrink[1]:.3f},{shrink[2]:.3f},{shrink[3]:.3f}\n')
    elif free or pressure:
        print('bench_report: the shrinker walks are missing', file=sys.stderr)
        missing += 1
    if not io:
        return missing
    with open(f'{out}/io.md', 'w') as f:
        f.write(f'On the {kernel}.\n\n')
        f.write('| workload | emfs | btrfs | raw | emfs/raw | emfs/btrfs |\n')
        f.write('|---|---:|---:|---:|---:|---:|\n')
        for w in workloads:
            e, b, r = (med.get((w, t)) for t in ('emfs', 'btrfs', 'raw'))
            cell = lambda x: f'{x:.1f}' if x is not None else '-'
            ratio = lambda x, y: f'{x / y:.2f}' if x and y else '-'
            f.write(f'| {w} ({units[w]}) | {cell(e)} | {cell(b)} | {cell(r)} | '
                    f'{ratio(e, r)} | {ratio(e, b)} |\n')
        if bios:
            f.write('\n| emfs readahead bio, blocks | bios |\n|---|---:|\n')
            for n, c in bios:
                f.write(f'| {n}-{2 * n - 1} | {c} |\n' if n < 256 else f'| {n} | {c} |\n')
        if shrink:
            f.write(f'\nShrinker, {shrink[0]} maps: {len(calls)} calls under pressure, longest '
                    f'{shrink[1]:.3f} ms, p99 {shrink[2]:.3f} ms; walk throughput under pressure '
                    f'/ without: {shrink[3]:.3f}. Peak maps alive under pressure: '
                    f'{max(p[3] for p in pressure)} (without: {max(p[3] for p in free)}).\n')
            write_walks(f, walks, by_rep, walkstat)
    return missing


def write_walks(f, walks, by_rep, walkstat):
    """One row per walk: its time, its own CPU time, the shrinker's calls, reclaim."""
    times = ('user_ms', 'sys_ms', 'kswapd_ms')
    names = sorted({n for st in walkstat.values() for n in st if n not in times})
    cols = ['walk', 's', 'MiB/s', 'user s', 'system s', 'kswapd s', 'shrinker s']
    cols += [n.removeprefix('vm_') for n in names]
    f.write('\n| ' + ' | '.join(cols) + ' |\n|' + '---|' * len(cols) + '\n')
    for phase in ('free', 'pressure'):
        for _maps, ms, mib_s, _peak, rep in walks.get(phase, []):
            st = walkstat.get((phase, rep), {})
            shrink_s = sum(by_rep.get(rep, [])) / 1e9 if phase == 'pressure' else 0
            cells = [f'{phase} {rep}', f'{ms / 1e3:.1f}', f'{mib_s:.1f}']
            cells += [f'{st[t] / 1e3:.1f}' if t in st else '-' for t in times]
            cells += [f'{shrink_s:.2f}'] + [str(st.get(n, '-')) for n in names]
            f.write('| ' + ' | '.join(cells) + ' |\n')

if __name__ == '__main__':
    sys.exit(main())
