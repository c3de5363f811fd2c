#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Counts the guest's results for check.sh: runs tap_summary.py and prints
# "passed failed skipped" from the counts file it writes.
#
#   scripts/guest_summary.sh RESULTS EXPECTED COUNTS KERNEL
#
# The counts file is removed first, so that one a crashed parser left from an
# earlier run is never read as this run's; with no counts, it exits 1.

results=$1 expected=$2 counts=$3 kernel=$4
rm -f "$counts"
"$(dirname "$0")/tap_summary.py" "$results" "$expected" "$counts" "$kernel" >&2
[ -s "$counts" ] || exit 1
cat "$counts"
