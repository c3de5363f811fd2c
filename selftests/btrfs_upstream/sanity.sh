#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Upstream btrfs's own sanity tests (CONFIG_BTRFS_FS_RUN_SANITY_TESTS): they
# run in btrfs's module init, which fails if any of them fails. Their
# "BTRFS: selftest:" lines are kept as diagnostics, so the upstream extent-map
# verdict sits in the same results as extmap's ports of the same cases.

. "$(dirname "$0")/../kselftest/ktap_helpers.sh"

ktap_print_header
ktap_set_plan 3

before=$(dmesg | wc -l)
modprobe btrfs
rc=$?
log=$(dmesg | tail -n +$((before + 1)))
echo "$log" | grep 'BTRFS: selftest:' | sed 's/^/# /'

if [ $rc = 0 ] && grep -q '[[:space:]]btrfs$' /proc/filesystems; then
	ktap_test_pass "btrfs: module with sanity tests loads"
else
	ktap_test_fail "btrfs: module with sanity tests loads"
fi

# A failing case prints "BTRFS: selftest: <file>:<line> ...".
if echo "$log" | grep -q 'BTRFS: selftest: running extent_map tests' &&
	! echo "$log" | grep -qE 'BTRFS: selftest: [^ ]+:[0-9]+ '; then
	ktap_test_pass "btrfs: upstream extent_map sanity tests"
else
	ktap_test_fail "btrfs: upstream extent_map sanity tests"
fi

if echo "$log" | grep -qE 'WARNING:|BUG:|Oops|KASAN'; then
	ktap_test_fail "btrfs: no kernel warnings during the sanity tests"
else
	ktap_test_pass "btrfs: no kernel warnings during the sanity tests"
fi

ktap_finished
