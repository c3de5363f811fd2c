#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Checks the kernel-stack discipline of a module, as the kernel's own build does for C.

    scripts/stack_check.py MODULE.ko [LIMIT]

A kernel stack is 16 KiB. C code is built with -Wframe-larger-than=2048
(CONFIG_FRAME_WARN on 64-bit); rustc has no such warning, so this reads the
frame each function sets up (its first `sub $N,%rsp`) from objdump and fails
if any is larger than LIMIT bytes (default 2048). It also fails if the module
holds core's slice sort: its quicksort keeps a scratch array of elements in
each of its nested frames (rust/sort.rs says why, and sorts with lib/sort.c).
Prints one line per finding and exits 1 if there is any.
"""

import re
import subprocess
import sys


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__.strip().splitlines()[2].strip())
    ko = sys.argv[1]
    limit = int(sys.argv[2]) if len(sys.argv) == 3 else 2048
    asm = subprocess.run(["objdump", "-d", "--no-show-raw-insn", ko],
                         capture_output=True, text=True, check=True).stdout
    found = []
    name, seen = None, False
    for line in asm.splitlines():
        m = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
        if m:
            name, seen = m.group(1), False
            if "4core5slice4sort" in name:
                found.append(f"{ko}: core's slice sort: {name}")
            continue
        m = re.search(r"\bsub +\$0x([0-9a-f]+),%rsp", line)
        if m and name and not seen:
            seen = True
            size = int(m.group(1), 16)
            if size > limit:
                found.append(f"{ko}: {size}-byte stack frame (over {limit}): {name}")
    for f in found:
        print(f)
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
