#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The QEMU-kill test's results (scripts/vm.sh ran CRASH_KILLS boots of
# selftests/crash_kill.sh before this one, each killed at a random moment of a
# write/fsync loop, each checking the one before): checks the last kill the
# same way (emfs-replay verify), then reports every kill's verdict.

. "$(dirname "$0")/lib.sh"

kills=${CRASH_KILLS:-2}

ktap_print_header
ktap_set_plan $((kills + 1))
modprobe emfs || ktap_exit_fail_msg "modprobe emfs failed"
mkdir -p /mnt/kill
log_mark

emfs-replay verify --journal /dev/vdc --dev /dev/vdd --mnt /mnt/kill >/tmp/verify.out 2>&1
sed 's/^/# /' /tmp/verify.out
printf '%s' "$(tail -n 1 /tmp/verify.out)" |
	dd of=/dev/vdc bs=512 seek=$((8192 + kills)) count=1 conv=sync,fsync 2>/dev/null

# A verdict passes as "verify: N promises kept".
kept() { [ "${v#verify: }" != "$v" ] && [ "${v#verify: FAIL}" = "$v" ]; }
for k in $(seq 1 "$kills"); do
	v=$(dd if=/dev/vdc bs=512 skip=$((8192 + k)) count=1 2>/dev/null | tr -d '\0')
	ktap_print_msg "kill $k: ${v:-no verdict (the boot after it did not check)}"
	ktap_test_result "crash kills: kill $k: fsck clean, recovered, fsynced data intact" kept
done
ktap_test_no_problems "crash kills: no kernel warnings"
modprobe -r emfs
ktap_finished
