#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Upstream btrfs's own sanity tests (CONFIG_BTRFS_FS_RUN_SANITY_TESTS): they
# run in btrfs's module init, which fails if any of them fails. A failing check
# prints "BTRFS: selftest: <file>:<line> ..."; a passing case prints nothing.
# Each extent-map and rmap case is reported on its own from the line btrfs's
# runner prints for it (patches/0002), so that it sits next to extmap's port of
# the same case in the results; verdicts.sh reads those lines.

. "$(dirname "$0")/../kselftest/ktap_helpers.sh"

ktap_print_header
ktap_set_plan 12

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

# Ten lines, one per case; a short list leaves the plan unmet, which fails.
"$(dirname "$0")/verdicts.sh" /tmp/btrfs-load.log >/tmp/btrfs-verdicts
while read -r verdict name; do
	case "$verdict" in
	pass) ktap_test_pass "$name" ;;
	notrun)
		echo "# $name: no verdict line (an earlier case failed, or the runner did not start)"
		ktap_test_fail "$name"
		;;
	*) ktap_test_fail "$name" ;;
	esac
done </tmp/btrfs-verdicts

if grep -qE 'WARNING:|BUG:|Oops|KASAN' /tmp/btrfs-load.log; then
	ktap_test_fail "btrfs: no kernel warnings during the sanity tests"
else
	ktap_test_pass "btrfs: no kernel warnings during the sanity tests"
fi

modprobe -r btrfs

ktap_finished
