#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# emfs.ko loads, passes its init self-check (which calls every C helper it
# links against), and unloads cleanly; the sample module does the same.

. "$(dirname "$0")/lib.sh"

ktap_print_header
ktap_set_plan 7

log_mark
if modprobe emfs; then
	ktap_test_pass "emfs: module loads"
else
	ktap_test_fail "emfs: module loads"
fi

if log_since_mark | grep -q 'emfs: init self-check passed'; then
	ktap_test_pass "emfs: init self-check passes"
else
	ktap_test_fail "emfs: init self-check passes"
fi

if grep -q '^emfs ' /proc/modules; then
	ktap_test_pass "emfs: module is live"
else
	ktap_test_fail "emfs: module is live"
fi

if modprobe -r emfs && ! grep -q '^emfs ' /proc/modules &&
	log_since_mark | grep -q 'emfs: unloaded'; then
	ktap_test_pass "emfs: module unloads"
else
	ktap_test_fail "emfs: module unloads"
fi

if modprobe rust_extmap_sample &&
	log_since_mark | grep -q 'rust_extmap_sample: value 4096 under the lock, 2 references'; then
	ktap_test_pass "emfs: sample module loads and reports"
else
	ktap_test_fail "emfs: sample module loads and reports"
fi

if modprobe -r rust_extmap_sample; then
	ktap_test_pass "emfs: sample module unloads"
else
	ktap_test_fail "emfs: sample module unloads"
fi

ktap_test_no_problems "emfs: no kernel warnings during load and unload"

ktap_finished
