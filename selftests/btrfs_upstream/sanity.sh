#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Upstream btrfs's own sanity tests (CONFIG_BTRFS_FS_RUN_SANITY_TESTS): they
# run in btrfs's module init, which fails if any of them fails. A failing check
# prints "BTRFS: selftest: <file>:<line> ..."; a passing case prints nothing.
# The extent-map cases are reported one by one, attributed by the line ranges
# of their functions in 6.12's fs/btrfs/tests/extent-map-tests.c, so that each
# sits next to extmap's port of the same case in the results.

. "$(dirname "$0")/../kselftest/ktap_helpers.sh"

# First line of each case in 6.12.117's extent-map-tests.c, then the rmap tests.
CASE_LINES="1 62 2 163 3 254 4 363 5 620 6 707 7 767 8 909 rmap 1012"

ktap_print_header
ktap_set_plan 10

before=$(dmesg | wc -l)
modprobe btrfs
rc=$?
dmesg | tail -n +$((before + 1)) >/tmp/btrfs-load.log
grep 'BTRFS: selftest:' /tmp/btrfs-load.log | sed 's/^/# /'

if [ $rc = 0 ] && grep -q '[[:space:]]btrfs$' /proc/filesystems; then
	ktap_test_pass "btrfs: module with sanity tests loads"
else
	ktap_test_fail "btrfs: module with sanity tests loads"
fi

# The case a failure line of extent-map-tests.c belongs to.
case_of_line() {
	echo "$CASE_LINES" | awk -v l="$1" '{
		for (i = 1; i < NF; i += 2) if (l >= $(i + 1)) c = $i
		print c
	}'
}
failed_cases=$(grep -oE 'BTRFS: selftest: [^ ]*extent-map-tests\.c:[0-9]+' /tmp/btrfs-load.log |
	sed 's/.*://' | while read -r l; do case_of_line "$l"; done | sort -u)

ran=0
grep -q 'BTRFS: selftest: running extent_map tests' /tmp/btrfs-load.log && ran=1
for n in 1 2 3 4 5 6 7 8; do
	if [ $ran = 1 ] && ! echo "$failed_cases" | grep -qx "$n"; then
		ktap_test_pass "btrfs: extent_map test_case_$n"
	else
		ktap_test_fail "btrfs: extent_map test_case_$n"
	fi
done

if grep -qE 'WARNING:|BUG:|Oops|KASAN' /tmp/btrfs-load.log; then
	ktap_test_fail "btrfs: no kernel warnings during the sanity tests"
else
	ktap_test_pass "btrfs: no kernel warnings during the sanity tests"
fi

modprobe -r btrfs

ktap_finished
