#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# extmap next to btrfs's own extent_map.c, operation by operation: seeded random
# scripts run on btrfs's script interpreter (the project's patch to btrfs's
# sanity-test code) and on extmap's, in this boot; every answer must be the
# same (Documentation/extmap-script.rst). A difference is shrunk and saved
# under /tmp, and its script printed. Then malformed input on both sides.
#
#   DIFF_SEEDS (default 20) seeds of DIFF_OPS (default 2000) operations, each
#   reported; the extended check adds DIFF_MORE_SEEDS (500) as one result.

. "$(dirname "$0")/lib.sh"

seeds=${DIFF_SEEDS:-20}
ops=${DIFF_OPS:-2000}
# The extended check (longer stress) adds 500 seeds, 1,000,000 operations,
# reported as one result.
more=0
[ "${STRESS_SECONDS:-60}" -gt 60 ] && more=${DIFF_MORE_SEEDS:-500}
btrfs_script=/sys/kernel/debug/btrfs_tests/extent_map_script

mutant=$(sed -n 's/.*harness_mutant=\([^ ]*\).*/\1/p' /proc/cmdline)

ktap_print_header
if [ -n "$mutant" ]; then
	ktap_set_plan 3
else
	ktap_set_plan $((1 + seeds + 1 + (more > 0 ? 2 : 0) + 6 + 1))
fi

log_mark
modprobe btrfs || ktap_exit_fail_msg "modprobe btrfs failed"
modprobe emfs || ktap_exit_fail_msg "modprobe emfs failed"
ktap_test_result "extmap_diff: btrfs's extent-map script interpreter is there" [ -e $btrfs_script ]
# The scripts call unpin where no map is, on purpose (both sides must give -ENOENT), and
# extmap warns: expected from here to the end of the scripts.
expected_kmsg_begin

# extmap-diff prints "ok NAME" / "not ok NAME" lines and comments.
run_diff() {
	extmap-diff run "$@" >/tmp/extmap-diff.out 2>&1
	rc=$?
	while IFS= read -r line; do
		case "$line" in
		"ok "*) ktap_test_pass "${line#ok }" ;;
		"not ok "*) ktap_test_fail "${line#not ok }" ;;
		*) echo "# $line" ;;
		esac
	done </tmp/extmap-diff.out
	[ $rc -le 1 ] || echo "# extmap-diff exited with $rc"
}
# scripts/mutants.sh booted a module with a broken merge rule: it must differ.
if [ -n "$mutant" ]; then
	echo "# mutant: $mutant"
	run_diff --seeds 100 --ops "$ops" --expect-difference
	expected_kmsg_end
	ktap_test_no_problems "extmap_diff: no kernel warnings"
	ktap_finished
fi
run_diff --seeds "$seeds" --ops "$ops"
[ "$more" -gt 0 ] && run_diff --first-seed $((seeds + 1)) --seeds "$more" --ops "$ops" --summary-only

# Bad input, the same on both sides.
alive=$(extmap_counter maps_alive)
cat >/tmp/bad.script <<'EOF'
alloc 0 0 8192 hole 0 0 8192 1 0
add 0 0 4096
lookup 3 0 4096
put 9
clearlog 11
frobnicate 1
put 0
EOF
printf 'alloc 0 0 8192 hole 0 0 8192 1 0\nadd 0 0 4096\nlookup 3 4096 4096\n' >/tmp/held.script
# Real maps at disk address last - 1 count as mergeable as holes do, and their
# merge fails btrfs's validation, which stops a BTRFS_DEBUG kernel; so would a
# wrapping disk range, or a split to such an address: refused alike.
cat >/tmp/merge.script <<'EOF'
alloc 0 0 4 18446744073709551611 4 0 4 0 0
add 0 0 4
alloc 1 4 4 18446744073709551611 4 0 4 0 0
add 1 4 4
alloc 2 8 4 13835058055282163712 9223372036854775808 0 4 0 0
split 0 4096 1024 18446744073709551610
EOF
printf 'lookup 0 0 4096\n# caf\303\251\nput 0\n' >/tmp/ascii.script
for side in btrfs extmap; do
	extmap-diff exec $side /tmp/bad.script >/tmp/bad.$side 2>&1
	extmap-diff exec $side /tmp/held.script >/tmp/held.$side 2>&1
	extmap-diff exec $side /tmp/merge.script >/tmp/merge.$side 2>&1
	extmap-diff exec $side /tmp/ascii.script >/tmp/ascii.$side 2>&1
done
sed 's/^/# extmap: /' /tmp/bad.extmap
# (ktap_test_result runs its command unquoted: the checks are functions.)
malformed_refused() {
	grep -qx "6 error -22 unknown operation" /tmp/bad.btrfs &&
		cmp -s /tmp/bad.btrfs /tmp/bad.extmap && ! grep -q "^7 " /tmp/bad.extmap
}
empty_slot_enoent() {
	grep -q "^4 put -2 " /tmp/bad.btrfs && grep -q "^5 clearlog -2 " /tmp/bad.extmap
}
inconsistent_refused() {
	grep -q "^1 alloc -22 " /tmp/merge.btrfs && grep -q "^5 alloc -22 " /tmp/merge.btrfs &&
		grep -q "^6 split -22 " /tmp/merge.btrfs && cmp -s /tmp/merge.btrfs /tmp/merge.extmap
}
not_ascii_refused() {
	grep -qx "2 error -22 not ASCII text" /tmp/ascii.btrfs && cmp -s /tmp/ascii.btrfs /tmp/ascii.extmap
}
held_released() {
	grep -qx "end maps=1 refs_ok=1" /tmp/held.btrfs && cmp -s /tmp/held.btrfs /tmp/held.extmap
}
ktap_test_result "extmap_diff: bad input: a malformed line gets -EINVAL naming the line, on both sides" \
	malformed_refused
ktap_test_result "extmap_diff: bad input: an empty slot gets -ENOENT, on both sides" empty_slot_enoent
sed 's/^/# extmap: /' /tmp/merge.extmap /tmp/ascii.extmap
ktap_test_result "extmap_diff: bad input: maps whose merge would be inconsistent are refused alike" \
	inconsistent_refused
ktap_test_result "extmap_diff: bad input: a line that is not ASCII text is refused alike" \
	not_ascii_refused
sed 's/^/# extmap: /' /tmp/held.extmap
ktap_test_result "extmap_diff: slots still held at the end are released, every refcount back to 1" \
	held_released
expected_kmsg_end
ktap_test_result "extmap_diff: no extent map left alive after the scripts" \
	[ "$(extmap_counter maps_alive)" = "$alive" ]

ktap_test_no_problems "extmap_diff: no kernel warnings"
modprobe -r emfs
modprobe -r btrfs
ktap_finished
