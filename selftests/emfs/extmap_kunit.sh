#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The module's KUnit suites (extmap, extmap_shrink, emfs_checksum, emfs_dir, emfs_namespace,
# emfs_meta, emfs_records, emfs_state, emfs_kernel_ext): loading emfs.ko registers them and
# KUnit runs them as soon as the module is live. Their KTAP (from debugfs) is this test's
# output, so every case is its own result line.
# Exits non-zero if a case failed or a suite did not run.

modprobe emfs || { echo "Bail out! modprobe emfs failed"; exit 1; }
rc=0
for suite in extmap extmap_shrink emfs_checksum emfs_dir emfs_namespace emfs_meta emfs_records emfs_state emfs_kernel_ext; do
	results=/sys/kernel/debug/kunit/$suite/results
	if [ ! -r "$results" ]; then
		echo "Bail out! no KUnit results at $results"
		rc=1
		continue
	fi
	cat "$results"
	grep -qE '^[[:space:]]*not ok' "$results" && rc=1
done
modprobe -r emfs || rc=1
exit $rc
