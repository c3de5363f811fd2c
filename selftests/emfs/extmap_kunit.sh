#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The extmap KUnit suite: loading emfs.ko registers it and KUnit runs it as
# soon as the module is live. Its KTAP (from debugfs) is this test's output,
# so every case is its own result line. Exits non-zero if a case failed or the
# suite did not run.

results=/sys/kernel/debug/kunit/extmap/results

modprobe emfs || { echo "Bail out! modprobe emfs failed"; exit 1; }
if [ ! -r "$results" ]; then
	echo "Bail out! no KUnit results at $results"
	modprobe -r emfs
	exit 1
fi
cat "$results"
rc=0
grep -q '^not ok' "$results" && rc=1
grep -qE '^[[:space:]]*not ok' "$results" && rc=1
modprobe -r emfs || rc=1
exit $rc
