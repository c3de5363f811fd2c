#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# What `make run` shows: emfs.ko loading, extmap's KUnit suite running on
# load (btrfs's extent-map cases and the 2020 race scenario), the counters.

echo
echo "=== modprobe emfs (KUnit runs the extmap suite as the module goes live)"
modprobe emfs
cat /sys/kernel/debug/kunit/extmap/results
echo
echo "=== /sys/kernel/debug/extmap"
for f in /sys/kernel/debug/extmap/*; do
	printf '%-16s %s\n' "$(basename "$f")" "$(cat "$f")"
done
echo
echo "=== modprobe btrfs (upstream's sanity tests run at load)"
modprobe btrfs && dmesg | grep 'BTRFS: selftest: running extent_map' | tail -n 1
modprobe -r emfs
modprobe -r btrfs
echo "=== done"
