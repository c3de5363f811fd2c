#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# I/O errors (fail_make_request on /dev/vdb, debug kernel only; skipped
# elsewhere): a failed writeback makes fsync return EIO, also when SEEK_DATA's
# writeback met the error first (seek_wb_err), a failed commit is
# logged and stops the file system from writing more (EIO) without a warning, the disk keeps
# the last commit (fsck clean, old data there after a remount), and a failed
# read returns EIO while later reads succeed.

. "$(dirname "$0")/lib.sh"

dev=/dev/vdb
mnt=/mnt/emfs
fail=/sys/kernel/debug/fail_make_request

ktap_print_header
if [ ! -d $fail ]; then
	ktap_set_plan 1
	ktap_test_skip "io errors: this kernel has no fail_make_request (KERNEL=debug has)"
	ktap_finished
	exit 0
fi
ktap_set_plan 9

failing() {
	echo 0 >$fail/verbose
	echo 100 >$fail/probability
	echo 1 >$fail/interval
	echo -1 >$fail/times
	echo "$1" >/sys/block/vdb/make-it-fail
}

emfs_prepare $dev
log_mark
mount -t emfs $dev $mnt || ktap_exit_fail_msg "mount failed"
head -c 1000000 /dev/urandom >/tmp/io-old
cp /tmp/io-old $mnt/old && sync

# The error text is libc's (busybox) or coreutils'.
eio() { sed 's/^/# /' "$1"; grep -qiE 'I/O error|Input/output error' "$1"; }

failing 1
head -c 500000 /dev/urandom >$mnt/new
fsync_eio() { ! sync -d $mnt/new 2>/tmp/io-err && eio /tmp/io-err; }
ktap_test_result "io errors: fsync after a failed writeback returns EIO" fsync_eio
# A commit that cannot write stops the file system, as a btrfs transaction abort
# does. (busybox's sync -f ignores syncfs's result, so the log line is checked.)
sync -f $mnt/old
commit_fails() { log_since_mark | grep 'emfs: commit of generation' | sed 's/^/# /' | grep -q failed; }
ktap_test_result "io errors: a commit that cannot write says so in the log" commit_fails
failing 0
refuses() { ! echo more >>$mnt/old 2>/tmp/io-err && eio /tmp/io-err; }
ktap_test_result "io errors: after a failed commit, writes fail with EIO" refuses
umount $mnt
ktap_test_result "io errors: fsck clean: the disk kept the last commit" fsck_clean $dev
mount -t emfs $dev $mnt
ktap_test_result "io errors: the committed file reads back after a remount" cmp /tmp/io-old $mnt/old

# SEEK_DATA writes the dirty range back first (seek_wb_err turns the failures
# off after the seek): the error must stay for fsync.
seek_then_fsync() {
	"$(dirname "$0")/seek_wb_err" $mnt/seeked /sys/block/vdb/make-it-fail >/tmp/io-seek
	local rc=$?
	cat /tmp/io-seek
	[ $rc = 0 ]
}
failing 1
ktap_test_result "io errors: fsync after SEEK_DATA met a failed writeback returns EIO" seek_then_fsync
failing 0

echo 3 >/proc/sys/vm/drop_caches
failing 1
read_eio() { ! cat $mnt/old >/dev/null 2>/tmp/io-err && eio /tmp/io-err; }
ktap_test_result "io errors: a failed read returns EIO" read_eio
failing 0
ktap_test_result "io errors: the next read succeeds" cmp /tmp/io-old $mnt/old
umount $mnt

ktap_test_no_problems "io errors: no kernel warnings"
modprobe -r emfs
ktap_finished
