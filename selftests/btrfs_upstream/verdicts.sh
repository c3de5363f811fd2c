#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Upstream btrfs's extent-map and rmap case verdicts from the kernel log of a
# btrfs load: "pass NAME", "fail NAME" or "notrun NAME", one line per case.
#
#   verdicts.sh LOG
#
# The project's patch 0002 makes btrfs's test runner print one line per case,
# "BTRFS: selftest: extent_map case N: ok (0)" or "...: fail (ERRNO)". A case
# passes only on its own "ok" line: the runner stops at the first failure, so a
# case after it has no line: "notrun", which the harness counts as a failure. sanity.sh turns these
# lines into KTAP; the harness test feeds this script crafted logs.

log=$1
[ -r "$log" ] || { echo "verdicts.sh: cannot read '$log'" >&2; exit 2; }

verdict() { # verdict GROUP N NAME
	if grep -qE "BTRFS: selftest: $1 case $2: ok \\(0\\)\$" "$log" &&
		! grep -qE "BTRFS: selftest: $1 case $2: fail" "$log"; then
		echo "pass $3"
	elif grep -qE "BTRFS: selftest: $1 case $2: fail" "$log"; then
		echo "fail $3"
	else
		echo "notrun $3"
	fi
}

for n in 1 2 3 4 5 6 7 8; do
	verdict extent_map $n "btrfs: extent_map test_case_$n"
done
for n in 1 2; do
	verdict rmap $n "btrfs: rmap case $n"
done
