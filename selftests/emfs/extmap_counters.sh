#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The extmap counters in debugfs agree with what the KUnit suite did when the
# module loaded: the race scenario refused a merge, merges and splits happened,
# every map was freed again.

. "$(dirname "$0")/lib.sh"

dir=/sys/kernel/debug/extmap

ktap_print_header
ktap_set_plan 6

modprobe emfs || ktap_exit_fail_msg "modprobe emfs failed"
for c in lookups lookup_hits inserts eexist_resolved merges merges_refused splits drops maps_alive; do
	eval "$c=\$(cat $dir/$c 2>/dev/null || echo -1)"
	ktap_print_msg "$c: $(eval echo \$$c)"
done

ktap_test_result "extmap counters: merges refused while shared (race scenario)" [ "$merges_refused" -ge 1 ]
ktap_test_result "extmap counters: merges happened" [ "$merges" -ge 4 ]
ktap_test_result "extmap counters: drop_range split maps" [ "$splits" -ge 5 ]
ktap_test_result "extmap counters: lookups counted, hits within lookups" \
	[ "$lookups" -ge 1 -a "$lookup_hits" -le "$lookups" ]
ktap_test_result "extmap counters: EEXIST resolutions counted" [ "$eexist_resolved" -ge 8 ]
ktap_test_result "extmap counters: no map alive after the suite" [ "$maps_alive" -eq 0 ]

modprobe -r emfs
ktap_finished
