#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Summarise the guest's TAP/KTAP results.

Usage: tap_summary.py RESULTS EXPECTED COUNTS [KERNEL]

RESULTS is what kselftest's run_kselftest.sh printed in the guest (nested
output is prefixed with "# ", KUnit nests with four spaces). Only leaves count
(a result line with no subtests of its own); a parent that failed while none
of its leaves did (a crash, a timeout, a short plan) counts as one failure.
A "# TODO" result is a failure: nothing in this project is allowed to be
known-broken.

Every line of EXPECTED names a result line (leaf or parent) that must have
*passed* on KERNEL (default "default"): a missing or skipped one is a failure.
A line "[debug] NAME" or "[default,debug] NAME" is required only on the kernels
it lists; a line without brackets on every kernel. COUNTS receives
"passed failed skipped". Exits 1 if anything failed or is missing.
"""

import re
import sys

RESULT = re.compile(r'^(not ok|ok)\s+(\d+)\s*(?:-\s+)?(.*?)\s*(?:#\s*(SKIP|TODO|TIMEOUT)\b(.*))?$',
                    re.IGNORECASE)
PLAN = re.compile(r'^1\.\.(\d+)')


def split_depth(line):
    """Returns (depth, text): one level per '# ' prefix, one per 4-space indent."""
    depth = 0
    while True:
        if line.startswith('# ') or line == '#':
            line = line[2:]
            depth += 100
        elif line.startswith('    '):
            line = line[4:]
            depth += 1
        else:
            return depth, line.rstrip()


def required(path, kernel):
    """The names EXPECTED requires on this kernel."""
    names = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            m = re.match(r'^\[([a-z,]+)\]\s+(.*)$', line)
            if m:
                if kernel in m.group(1).split(','):
                    names.append(m.group(2))
            else:
                names.append(line)
    return names


def main():
    results_path, expected_path, counts_path = sys.argv[1:4]
    kernel = sys.argv[4] if len(sys.argv) > 4 else 'default'
    try:
        with open(results_path, errors='replace') as f:
            lines = f.read().replace('\r', '').splitlines()
    except OSError as e:
        lines = []
        print(f'no results: {e}')

    parsed = []  # (depth, ok, name, directive)
    top_plan = None  # the sum of every top-level plan (one per collection)
    bail = []
    for raw in lines:
        depth, text = split_depth(raw)
        m = RESULT.match(text)
        if m:
            ok = m.group(1).lower() == 'ok'
            name = m.group(3).strip()
            # kselftest appends "# exit=N" to a failed program's line.
            name = re.sub(r'\s*#\s*exit=\d+$', '', name)
            parsed.append((depth, ok, name, (m.group(4) or '').upper()))
            continue
        p = PLAN.match(text)
        if p and depth == 0:
            top_plan = (top_plan or 0) + int(p.group(1))
        if text.startswith('Bail out!'):
            bail.append(raw)

    passed, failed, skipped = 0, 0, 0
    failures = []
    # Every result line, leaf or parent: what the expected list is checked against.
    # A name reported twice keeps its worst verdict.
    status = {}
    rank = {'ok': 0, 'skip': 1, 'FAILED': 2}
    verdicts = {}
    # A result is a parent when the result just before it is deeper.
    for i, (depth, ok, name, directive) in enumerate(parsed):
        verdict = 'skip' if directive == 'SKIP' else ('ok' if ok and directive != 'TODO' else 'FAILED')
        if rank[verdict] >= rank[status.get(name, 'ok')]:
            status[name] = verdict
        is_parent = i > 0 and parsed[i - 1][0] > depth
        if directive == 'TODO':
            failed += 1
            failures.append(f'{name} (# TODO: a known failure is still a failure)')
            continue
        if not is_parent:
            verdicts[name] = verdict
            if directive == 'SKIP':
                skipped += 1
            elif ok:
                passed += 1
            else:
                failed += 1
                failures.append(name)
        else:
            # Did any leaf between the previous sibling and here fail?
            j = i - 1
            child_failed = False
            while j >= 0 and parsed[j][0] > depth:
                if not parsed[j][1] and parsed[j][3] != 'SKIP':
                    child_failed = True
                j -= 1
            if not ok and directive != 'SKIP' and not child_failed:
                failed += 1
                failures.append(f'{name} (the program failed: {directive or "see its output"})')

    top_count = sum(1 for d, *_ in parsed if d == 0)
    if top_plan is None:
        failed += 1
        failures.append('no TAP plan from the guest (the run did not start or its output was lost)')
    elif top_plan != top_count:
        failed += 1
        failures.append(f'plan 1..{top_plan} but {top_count} programs reported')
    for b in bail:
        failed += 1
        failures.append(b)

    for e in required(expected_path, kernel):
        if e not in status:
            failed += 1
            failures.append(f'{e}: required on the {kernel} kernel, but it did not run')
        elif status[e] == 'skip':
            failed += 1
            failures.append(f'{e}: required on the {kernel} kernel, but it was skipped')
        elif status[e] != 'ok' and e not in failures:
            # Failed leaves are counted above; a failed parent is only named here.
            failures.append(f'{e}: required on the {kernel} kernel, but it failed')

    # Upstream btrfs's extent-map cases next to extmap's ports, from the same boot.
    cases = [f'test_case_{i}' for i in range(1, 9)]
    if any(c in verdicts or f'btrfs: extent_map {c}' in verdicts for c in cases):
        print('extent-map cases    upstream btrfs   extmap')
        for c in cases:
            up = verdicts.get(f'btrfs: extent_map {c}', 'not run')
            ours = verdicts.get(c, 'not run')
            print(f'  {c:<18}{up:<17}{ours}')

    for name in failures:
        print(f'FAILED: {name}')
    print(f'guest: {passed} passed, {failed} failed, {skipped} skipped')
    with open(counts_path, 'w') as f:
        f.write(f'{passed} {failed} {skipped}\n')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
