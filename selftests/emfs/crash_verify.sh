#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The second half of the crash test. The boot before this one
# (selftests/crash_prepare.sh) fsynced files on emfs (/dev/vdb), left an
# orphan, stored copies of the fsynced files on /dev/vda and was killed
# (SIGKILL to QEMU) while it kept writing. Here: the disk must be consistent
# as it is (fsck), every fsynced file must be there byte for byte, and the
# mount must free the orphan.

. "$(dirname "$0")/lib.sh"

dev=/dev/vdb
mnt=/mnt/emfs
ref=/tmp/crash-ref

ktap_print_header
if ! tar -tf /dev/vda >/dev/null 2>&1; then
	ktap_set_plan 1
	ktap_test_skip "crash: no crash boot ran before this one"
	ktap_finished
	exit 0
fi
ktap_set_plan 6
mkdir -p $ref $mnt
tar -xf /dev/vda -C $ref
modprobe emfs || ktap_exit_fail_msg "modprobe emfs failed"
log_mark

fsck.emfs $dev >/tmp/crash-fsck
rc=$?
sed 's/^/# /' /tmp/crash-fsck
ktap_test_result "crash: fsck clean on the disk the crash left" [ $rc = 0 ]
used_blocks() { sed -n 's|.* \([0-9]*\)/[0-9]* blocks used|\1|p' "$1"; }
orphan_on_disk() { grep -q ' 1 orphans' /tmp/crash-fsck; }
ktap_test_result "crash: the orphan (unlinked while open) is on disk" orphan_on_disk
ktap_test_result "crash: mount" mount -t emfs $dev $mnt
synced_intact() {
	for f in $ref/synced/*; do
		cmp "$f" "$mnt/$(basename "$f")" | sed 's/^/# /'
		[ "${PIPESTATUS[0]}" = 0 ] || return 1
	done
}
ktap_test_result "crash: every fsynced file is there, byte for byte" synced_intact
ktap_print_msg "after the crash: $(ls $mnt | tr '\n' ' ')"
umount $mnt
orphan_freed() {
	fsck.emfs $dev >/tmp/crash-fsck2
	rc=$?
	sed 's/^/# /' /tmp/crash-fsck2
	[ $rc = 0 ] && grep -q ' 0 orphans' /tmp/crash-fsck2 &&
		[ "$(used_blocks /tmp/crash-fsck2)" -lt "$(used_blocks /tmp/crash-fsck)" ]
}
ktap_test_result "crash: the mount freed the orphan, fsck clean" orphan_freed

ktap_test_no_problems "crash: no kernel warnings"
modprobe -r emfs
ktap_finished
